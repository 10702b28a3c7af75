rule encode:
    input:
        stylized=lambda w: [stylized_file(w.run, i) for i in frame_numbers(w.run)],
        frames=lambda w: [frame_file(w.run, i) for i in frame_numbers(w.run)],
        # Propagate mode: the keyframe plan as a plain input, so that a switch from chain mode runs the
        # keyframes checkpoint (Snakemake does not weigh the triggers of a job that waits for one).
        plan=lambda w: f"results/{w.run}/keyframes.json" if PROPAGATE else [],
    output:
        video=report(
            "results/{run}/{run}.mp4",
            caption="../report/video.rst",
            category="Videos",
        ),
        side_by_side=report(
            "results/{run}/{run}_side_by_side.mp4",
            caption="../report/side_by_side.rst",
            category="Videos",
        ),
    log:
        f"{LOGS}/encode.log",
    benchmark:
        f"{BENCH}/encode.tsv"
    conda:
        "../../envs/photostyle.yaml"
    resources:
        mem_mb=grows(2000),
        runtime=grows(30),
    params:
        fps=lambda w: str(PLANS[w.run].fps),
        audio=lambda w: PLANS[w.run].audio,
        crf=config["encode"]["crf"],
    script:
        "../scripts/encode.py"
