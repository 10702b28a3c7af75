rule segment_reference:
    input:
        unpack(reference_inputs),
    output:
        labels="results/{run}/segmentation/reference.png",
        classes="results/{run}/segmentation/classes.json",
    log:
        f"{LOGS}/segment_reference.log",
    benchmark:
        f"{BENCH}/segment_reference.tsv"
    conda:
        "../../envs/photostyle.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        segmentation=SEGMENTATION,
        style_size=STYLE_SIZE,
    script:
        "../scripts/segment_reference.py"


rule segment_frame:
    input:
        unpack(frame_segmentation_inputs),
    output:
        "results/{run}/segmentation/frame_{i}.png",
    log:
        f"{LOGS}/segment_frame/frame_{{i}}.log",
    benchmark:
        f"{BENCH}/segment_frame/frame_{{i}}.tsv"
    conda:
        "../../envs/photostyle.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        segmentation=SEGMENTATION,
    script:
        "../scripts/segment_frame.py"
