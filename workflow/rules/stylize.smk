rule stylize_frame:
    input:
        unpack(frame_stylize_inputs),
    output:
        image=OPTIMISED_IMAGE,  # stylized/, or keyframes/ in propagate mode
        optimised="results/{run}/optimised/frame_{i}.png",
        losses="results/{run}/losses/frame_{i}.json",
    log:
        f"{LOGS}/stylize_frame/frame_{{i}}.log",
    benchmark:
        f"{BENCH}/stylize_frame/frame_{{i}}.tsv"
    conda:
        "../envs/photostyle.yaml"
    threads: STYLIZE["threads"]
    resources:
        mem_mb=grows(lambda w: 2000 + working_pixels(w.run) * 8 // 1000),
        runtime=grows(60),
        gpu=1 if config["device"] == "cuda" else 0,
    params:
        stylize=STYLIZE_PARAMS,
        earlier=earlier_stylized,
        seam=seam,
        style_size=STYLE_SIZE,
        models=MODELS,
        device=config["device"],
        style_fallback=config["segmentation"]["fallback"],
    script:
        "../scripts/stylize_frame.py"


# Chunked stylisation: the warm-up version of frame i, stylised by the chunk after frame i's
# (photostyle.chunks); that chunk starts from these, and frame i's final output blends them in.
use rule stylize_frame as stylize_warmup with:
    input:
        unpack(warmup_stylize_inputs),
    output:
        image="results/{run}/warmup/frame_{i}.png",
        optimised="results/{run}/warmup_optimised/frame_{i}.png",
        losses="results/{run}/warmup/losses_{i}.json",
    log:
        f"{LOGS}/stylize_warmup/frame_{{i}}.log",
    benchmark:
        f"{BENCH}/stylize_warmup/frame_{{i}}.tsv"
    params:
        earlier=earlier_warmup,
        seam=None,


rule cuts:
    input:
        all_frame_files,
    output:
        "results/{run}/cuts.json",
    log:
        f"{LOGS}/cuts.log",
    benchmark:
        f"{BENCH}/cuts.tsv"
    conda:
        "../envs/photostyle.yaml"
    resources:
        mem_mb=500,
        runtime=grows(lambda w: 5 + PLANS[w.run].n_frames // 500),
    params:
        threshold=config["temporal"]["cut_threshold"],
    script:
        "../scripts/cuts.py"
