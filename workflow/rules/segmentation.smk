rule segment_reference:
    input:
        unpack(reference_inputs),
    output:
        labels="results/{run}/segmentation/reference.png",
        classes="results/{run}/segmentation/classes.json",
        colour="results/{run}/segmentation/reference_colour.png",
    log:
        f"{LOGS}/segment_reference.log",
    benchmark:
        f"{BENCH}/segment_reference.tsv"
    conda:
        "../envs/photostyle.yaml"
    resources:
        mem_mb=grows(SEGMENTATION_MEM_MB),
        runtime=grows(10),
    params:
        segmentation=SEGMENTATION,
        style_size=STYLE_SIZE,
        device=config["device"],
    script:
        "../scripts/segment_reference.py"


rule segment_frame:
    input:
        unpack(block_segmentation_inputs),
    output:
        "results/{run}/segmentation/scores_block{b}.npz",
    log:
        f"{LOGS}/segment_frame/block{{b}}.log",
    benchmark:
        f"{BENCH}/segment_frame/block{{b}}.tsv"
    conda:
        "../envs/photostyle.yaml"
    resources:
        mem_mb=grows(SEGMENTATION_MEM_MB),
        runtime=grows(5 + FRAMES_PER_JOB),
    params:
        frames=block_frames,
        segmentation=SEGMENTATION,
        device=config["device"],
    script:
        "../scripts/segment_frame.py"


rule frame_labels:
    input:
        unpack(frame_labels_inputs),
    output:
        labels="results/{run}/segmentation/frame_{i}.png",
        fused=temp("results/{run}/segmentation/fused_{i}.npz"),
        overlay="results/{run}/segmentation/overlay_{i}.png",
    log:
        f"{LOGS}/frame_labels/frame_{{i}}.log",
    benchmark:
        f"{BENCH}/frame_labels/frame_{{i}}.tsv"
    conda:
        "../envs/photostyle.yaml"
    resources:
        mem_mb=grows(1000),
        runtime=grows(5),
    params:
        segmentation=SEGMENTATION,
        temporal_weight=config["segmentation"]["temporal_weight"] if FUSE_LABELS else 0,
    script:
        "../scripts/frame_labels.py"
