# Delivery (photostyle.delivery): the stylised video at the delivered size (encode.size: the source's
# by default) and input | output side by side. Each decodes the source once, recolours every frame by
# the local affine maps of its working-size output and encodes in one stream: nothing at full
# resolution is cached, and ffmpeg writes under a temporary name (no partial video after a kill).


rule encode:
    input:
        unpack(delivery_inputs),
    output:
        report(
            "results/{run}/{run}.mp4",
            caption="../report/video.rst",
            category="Videos",
        ),
    log:
        f"{LOGS}/encode.log",
    benchmark:
        f"{BENCH}/encode.tsv"
    conda:
        "../envs/photostyle.yaml"
    threads: 2
    resources:
        mem_mb=grows(lambda w: delivery_mem_mb(delivered_size(w.run))),
        runtime=grows(lambda w: 10 + PLANS[w.run].n_frames * delivery_seconds(delivered_size(w.run)) // 60),
    params:
        source=lambda w: PLANS[w.run].run.video,
        positions=lambda w: PLANS[w.run].sources,
        shape=lambda w: delivered_size(w.run),
        delivery=DELIVERY,
        fps=lambda w: str(PLANS[w.run].fps),
        audio=lambda w: PLANS[w.run].audio,
        crf=config["encode"]["crf"],
        preset=config["encode"]["preset"],
        device=config["device"],
        side_by_side=False,
    script:
        "../scripts/encode.py"


use rule encode as side_by_side with:
    output:
        report(
            "results/{run}/{run}_side_by_side.mp4",
            caption="../report/side_by_side.rst",
            category="Videos",
        ),
    log:
        f"{LOGS}/side_by_side.log",
    benchmark:
        f"{BENCH}/side_by_side.tsv"
    resources:
        mem_mb=grows(lambda w: delivery_mem_mb(side_by_side_size(w.run))),
        runtime=grows(lambda w: 10 + PLANS[w.run].n_frames * delivery_seconds(side_by_side_size(w.run)) // 60),
    params:
        shape=lambda w: side_by_side_size(w.run),
        side_by_side=True,
