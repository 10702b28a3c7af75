# The run's figures (metrics.json) and the pictures of `snakemake --report`: input | output frames,
# the reference and frames with their segmentation, a flow picture, the loss curves, the metrics
# and time per rule. Their captions are in workflow/report/; the functions in report_common.smk.


include: "report_common.smk"


report: "../report/workflow.rst"


rule metrics:
    input:
        unpack(metrics_inputs),
    output:
        "results/{run}/metrics.json",
    log:
        f"{LOGS}/metrics.log",
    benchmark:
        f"{BENCH}/metrics.tsv"
    conda:
        "../envs/photostyle.yaml"
    resources:
        mem_mb=grows(lambda w: 1000 + working_pixels(w.run) * 2 // 1000),
        runtime=grows(lambda w: 5 + PLANS[w.run].n_frames // 20),
    params:
        style_size=STYLE_SIZE,
        random_weights=RANDOM_WEIGHTS,
        features=FEATURES,
        frames_per_job=FRAMES_PER_JOB,
        benchmarks=lambda w: benchmark_files(w.run),
    script:
        "../scripts/metrics.py"


rule metrics_report:
    input:
        "results/{run}/metrics.json",
    output:
        table=report(
            f"{REPORT}/metrics.html",
            caption="../report/metrics.rst",
            category="Metrics",
            labels={"run": "{run}", "figure": "metrics"},
        ),
        times=report(
            f"{REPORT}/times.svg",
            caption="../report/times.rst",
            category="Metrics",
            labels={"run": "{run}", "figure": "time per rule"},
        ),
    log:
        f"{LOGS}/report/metrics.log",
    benchmark:
        f"{BENCH}/report/metrics.tsv"
    conda:
        "../envs/photostyle.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/metrics_report.py"


rule loss_curves:
    input:
        lambda w: [f"results/{w.run}/losses/frame_{i:05d}.json" for i in optimised_frames(w.run)],
    output:
        report(
            f"{REPORT}/losses.svg",
            caption="../report/losses.rst",
            category="Optimisation",
            labels={"run": "{run}", "figure": "loss curves"},
        ),
    log:
        f"{LOGS}/report/losses.log",
    benchmark:
        f"{BENCH}/report/losses.tsv"
    conda:
        "../envs/photostyle.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/loss_curves.py"


rule frame_picture:
    input:
        frame="results/{run}/frames/frame_{i}.png",
        stylized="results/{run}/stylized/frame_{i}.png",
    output:
        report(
            f"{REPORT}/frame_{{i}}.png",
            caption="../report/frame.rst",
            category="Frames",
            labels=lambda w: {"run": w.run, "frame": frame_label(w.run, w.i)},
        ),
    log:
        f"{LOGS}/report/frame_{{i}}.log",
    benchmark:
        f"{BENCH}/report/frame_{{i}}.tsv"
    conda:
        "../envs/photostyle.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/frame_picture.py"


rule reference_picture:
    input:
        style=lambda w: PLANS[w.run].run.style,
        labels="results/{run}/segmentation/reference.png",
        colour="results/{run}/segmentation/reference_colour.png",
        classes="results/{run}/segmentation/classes.json",
    output:
        report(
            f"{REPORT}/reference.png",
            caption="../report/reference.rst",
            category="Segmentation",
            labels={"run": "{run}", "picture": "reference"},
        ),
    log:
        f"{LOGS}/report/reference.log",
    benchmark:
        f"{BENCH}/report/reference.tsv"
    conda:
        "../envs/photostyle.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    params:
        style_size=STYLE_SIZE,
    script:
        "../scripts/reference_picture.py"


rule segmentation_picture:
    input:
        frame="results/{run}/frames/frame_{i}.png",
        labels="results/{run}/segmentation/frame_{i}.png",
        overlay="results/{run}/segmentation/overlay_{i}.png",
        classes="results/{run}/segmentation/classes.json",
    output:
        report(
            f"{REPORT}/segmentation_{{i}}.png",
            caption="../report/segmentation.rst",
            category="Segmentation",
            labels=lambda w: {"run": w.run, "picture": f"frame {frame_label(w.run, w.i)}"},
        ),
    log:
        f"{LOGS}/report/segmentation_{{i}}.log",
    benchmark:
        f"{BENCH}/report/segmentation_{{i}}.tsv"
    conda:
        "../envs/photostyle.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/segmentation_picture.py"


rule flow_picture:
    input:
        earlier=lambda w: frame_file(w.run, int(w.i) - 1),
        frame="results/{run}/frames/frame_{i}.png",
        backward=lambda w: pair_file(w.run, "flow/backward", w.i),
        consistency=lambda w: pair_file(w.run, "consistency/weights", w.i),
    output:
        report(
            f"{REPORT}/flow_{{i}}.png",
            caption="../report/flow.rst",
            category="Motion",
            labels=lambda w: {"run": w.run, "frames": f"{int(w.i) - 1} and {int(w.i)}"},
        ),
    log:
        f"{LOGS}/report/flow_{{i}}.log",
    benchmark:
        f"{BENCH}/report/flow_{{i}}.tsv"
    conda:
        "../envs/photostyle.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/flow_picture.py"


rule resolution_picture:
    input:
        source=lambda w: PLANS[w.run].run.video if PLANS[w.run].is_video else frame_position(w),
        frame="results/{run}/frames/frame_{i}.png",
        stylized="results/{run}/stylized/frame_{i}.png",
    output:
        report(
            f"{REPORT}/resolution_{{i}}.png",
            caption="../report/resolution.rst",
            category="Frames",
            labels=lambda w: {"run": w.run, "frame": f"{frame_label(w.run, w.i)}, 100 % crop"},
        ),
    log:
        f"{LOGS}/report/resolution_{{i}}.log",
    benchmark:
        f"{BENCH}/report/resolution_{{i}}.tsv"
    conda:
        "../envs/photostyle.yaml"
    resources:
        mem_mb=lambda w: delivery_mem_mb(delivered_size(w.run)),
        runtime=5,
    params:
        position=frame_position,
        shape=lambda w: delivered_size(w.run),
        delivery=DELIVERY,
        device=config["device"],
    script:
        "../scripts/resolution_picture.py"
