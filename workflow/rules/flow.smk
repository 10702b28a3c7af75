rule flow_forward:
    input:
        source="results/{run}/frames/frame_{k}.png",
        target="results/{run}/frames/frame_{i}.png",
    output:
        "results/{run}/flow/forward_{k}_{i}.flo",
    log:
        f"{LOGS}/flow_forward/forward_{{k}}_{{i}}.log",
    benchmark:
        f"{BENCH}/flow_forward/forward_{{k}}_{{i}}.tsv"
    conda:
        "../../envs/photostyle.yaml"
    resources:
        mem_mb=grows(FLOW_MEM_MB),
        runtime=grows(10),
    params:
        flow=FLOW_PARAMS,
    script:
        "../scripts/flow.py"


rule flow_backward:
    input:
        source="results/{run}/frames/frame_{i}.png",
        target="results/{run}/frames/frame_{k}.png",
    output:
        "results/{run}/flow/backward_{i}_{k}.flo",
    log:
        f"{LOGS}/flow_backward/backward_{{i}}_{{k}}.log",
    benchmark:
        f"{BENCH}/flow_backward/backward_{{i}}_{{k}}.tsv"
    conda:
        "../../envs/photostyle.yaml"
    resources:
        mem_mb=grows(FLOW_MEM_MB),
        runtime=grows(10),
    params:
        flow=FLOW_PARAMS,
    script:
        "../scripts/flow.py"


rule consistency:
    input:
        backward="results/{run}/flow/backward_{i}_{k}.flo",
        forward="results/{run}/flow/forward_{k}_{i}.flo",
        frame="results/{run}/frames/frame_{i}.png",
        earlier="results/{run}/frames/frame_{k}.png",
        nearer=nearer_reliable,
    output:
        reliable="results/{run}/consistency/reliable_{i}_{k}.png",
        long="results/{run}/consistency/long_{i}_{k}.png",
    log:
        f"{LOGS}/consistency/{{i}}_{{k}}.log",
    benchmark:
        f"{BENCH}/consistency/{{i}}_{{k}}.tsv"
    conda:
        "../../envs/photostyle.yaml"
    resources:
        mem_mb=grows(1000),
        runtime=grows(5),
    params:
        criteria=CONSISTENCY,
    script:
        "../scripts/consistency.py"
