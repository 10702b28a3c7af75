rule laplacian:
    input:
        block_frame_files,
    output:
        LAPLACIAN_FILE if config["laplacian"]["keep"] else temp(LAPLACIAN_FILE),
    log:
        f"{LOGS}/laplacian/block{{b}}.log",
    benchmark:
        f"{BENCH}/laplacian/block{{b}}.tsv"
    conda:
        "../envs/photostyle.yaml"
    resources:
        mem_mb=grows(lambda w: 500 + working_pixels(w.run) * 4 // 1000),
        runtime=grows(5 + FRAMES_PER_JOB // 5),
    params:
        frames=block_frames,
        eps=config["laplacian"]["eps"],
        radius=config["laplacian"]["radius"],
    script:
        "../scripts/laplacian.py"
