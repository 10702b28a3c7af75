rule frames:
    input:
        source=frame_source,
    output:
        "results/{run}/frames/frame_{i}.png",
    log:
        f"{LOGS}/frames/frame_{{i}}.log",
    benchmark:
        f"{BENCH}/frames/frame_{{i}}.tsv"
    conda:
        "../../envs/photostyle.yaml"
    resources:
        mem_mb=grows(1000),
        runtime=grows(5),
    params:
        position=lambda w: PLANS[w.run].sources[int(w.i) - 1],
        size=config["input"]["size"],
    script:
        "../scripts/frames.py"
