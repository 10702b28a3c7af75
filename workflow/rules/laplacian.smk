rule laplacian:
    input:
        "results/{run}/frames/frame_{i}.png",
    output:
        LAPLACIAN_FILE if config["laplacian"]["keep"] else temp(LAPLACIAN_FILE),
    log:
        f"{LOGS}/laplacian/frame_{{i}}.log",
    benchmark:
        f"{BENCH}/laplacian/frame_{{i}}.tsv"
    conda:
        "../../envs/photostyle.yaml"
    resources:
        mem_mb=grows(lambda w: 500 + working_pixels(w.run) * 4 // 1000),
        runtime=grows(10),
    params:
        eps=config["laplacian"]["eps"],
        radius=config["laplacian"]["radius"],
    script:
        "../scripts/laplacian.py"
