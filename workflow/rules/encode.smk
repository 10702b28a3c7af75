rule encode:
    input:
        stylized=lambda w: [stylized_file(w.run, i) for i in frame_numbers(w.run)],
        frames=lambda w: [frame_file(w.run, i) for i in frame_numbers(w.run)],
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
