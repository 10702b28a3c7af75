rule stylize_frame:
    input:
        unpack(stylize_inputs),
    output:
        image="results/{run}/stylized/frame_{i}.png",
        losses="results/{run}/losses/frame_{i}.json",
    log:
        f"{LOGS}/stylize_frame/frame_{{i}}.log",
    benchmark:
        f"{BENCH}/stylize_frame/frame_{{i}}.tsv"
    conda:
        "../../envs/photostyle.yaml"
    threads: STYLIZE["threads"]
    resources:
        mem_mb=grows(lambda w: 2000 + working_pixels(w.run) * 8 // 1000),
        runtime=grows(60),
        gpu=1 if config["device"] == "cuda" else 0,
    params:
        stylize=STYLIZE_PARAMS,
        earlier=earlier_stylized,
        style_size=STYLE_SIZE,
        models=MODELS,
        device=config["device"],
        style_fallback=config["segmentation"]["fallback"],
    script:
        "../scripts/stylize_frame.py"
