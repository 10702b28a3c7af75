# Propagation mode (stylize.mode: propagate; photostyle.propagation): the keyframes are chosen once the
# shot cuts are known (checkpoint keyframes), stylised by rule stylize_frame into keyframes/, each tied
# to the keyframe before it in its shot along the flow between them (keyframe_pair); the frames of each
# block between two keyframes take their local colour maps along the flow, one job per block
# (propagate_block; it also writes the keyframe as its maps recolour it, tied to the last frame of the
# block before it in its shot, so a shot's blocks run one after another, each as soon as its next
# keyframe and the block before it are done); stylized_frame then copies every frame's output to
# stylized/.


localrules:
    stylized_frame,


checkpoint keyframes:
    input:
        frames=all_frame_files,
        cuts="results/{run}/cuts.json",
    output:
        "results/{run}/keyframes.json",
    log:
        f"{LOGS}/keyframes.log",
    benchmark:
        f"{BENCH}/keyframes.tsv"
    conda:
        "../envs/photostyle.yaml"
    resources:
        mem_mb=grows(1500),
        runtime=grows(lambda w: 5 + PLANS[w.run].n_frames // 20),
    params:
        keyframes=KEYFRAME_PARAMS,
        device=config["device"],
    script:
        "../scripts/keyframes.py"


rule keyframe_pair:
    input:
        unpack(keyframe_pair_inputs),
    output:
        "results/{run}/keyframe_pairs/frame_{i}.npz",
    log:
        f"{LOGS}/keyframe_pair/frame_{{i}}.log",
    benchmark:
        f"{BENCH}/keyframe_pair/frame_{{i}}.tsv"
    conda:
        "../envs/photostyle.yaml"
    resources:
        mem_mb=grows(FLOW_MEM_MB),
        runtime=grows(10),
    params:
        previous=lambda w: keyframe_plan(w.run).previous(int(w.i)),
        flow=FLOW_PARAMS,
        criteria=CONSISTENCY,
        device=config["device"],
    script:
        "../scripts/keyframe_pair.py"


rule propagate_block:
    input:
        unpack(propagate_block_inputs),
    output:
        directory("results/{run}/propagated/block_{k}"),
    log:
        f"{LOGS}/propagate_block/block_{{k}}.log",
    benchmark:
        f"{BENCH}/propagate_block/block_{{k}}.tsv"
    conda:
        "../envs/photostyle.yaml"
    resources:
        mem_mb=grows(lambda w: max(FLOW_MEM_MB, 1000 + working_pixels(w.run) * 3 // 1000)),
        runtime=grows(lambda w: 5 + STYLIZE["keyframe_every"]),
    params:
        end=lambda w: keyframe_plan(w.run).block(int(w.k))[0],
        tied=lambda w: keyframe_plan(w.run).block(int(w.k))[1],
        flow=FLOW_PARAMS,
        criteria=CONSISTENCY,
        local_affine=canonical(STYLIZE["local_affine"]),
        refinement=REFINEMENT,
        device=config["device"],
    script:
        "../scripts/propagate_block.py"


rule stylized_frame:
    input:
        # the plan as a plain input too: a new plan (or a switch from chain mode) redoes these copies
        plan="results/{run}/keyframes.json",
        block=propagated_source,
    output:
        "results/{run}/stylized/frame_{i}.png",
    log:
        f"{LOGS}/stylized_frame/frame_{{i}}.log",
    benchmark:
        f"{BENCH}/stylized_frame/frame_{{i}}.tsv"
    conda:
        "../envs/photostyle.yaml"
    resources:
        mem_mb=100,
        runtime=1,
    shell:
        "cp {input.block}/frame_{wildcards.i}.png {output} 2> {log}"
