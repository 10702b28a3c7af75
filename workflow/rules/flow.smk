rule flow_forward:
    input:
        frames=block_pair_frames,
    output:
        "results/{run}/flow/forward_block{b}.npz",
    log:
        f"{LOGS}/flow_forward/block{{b}}.log",
    benchmark:
        f"{BENCH}/flow_forward/block{{b}}.tsv"
    conda:
        "../envs/photostyle.yaml"
    resources:
        mem_mb=grows(FLOW_MEM_MB),
        runtime=grows(10 + FRAMES_PER_JOB),
    params:
        direction="forward",
        flow=FLOW_PARAMS,
        pairs=block_pairs,
    script:
        "../scripts/flow.py"


use rule flow_forward as flow_backward with:
    output:
        "results/{run}/flow/backward_block{b}.npz",
    log:
        f"{LOGS}/flow_backward/block{{b}}.log",
    benchmark:
        f"{BENCH}/flow_backward/block{{b}}.tsv"
    params:
        direction="backward",


rule consistency:
    input:
        frames=block_pair_frames,
        backward="results/{run}/flow/backward_block{b}.npz",
        forward="results/{run}/flow/forward_block{b}.npz",
    output:
        "results/{run}/consistency/weights_block{b}.npz",
    log:
        f"{LOGS}/consistency/block{{b}}.log",
    benchmark:
        f"{BENCH}/consistency/block{{b}}.tsv"
    conda:
        "../envs/photostyle.yaml"
    resources:
        mem_mb=grows(1000),
        runtime=grows(5 + FRAMES_PER_JOB // 5),
    params:
        criteria=CONSISTENCY,
        pairs=block_pairs,
        offsets=J,
    script:
        "../scripts/consistency.py"
