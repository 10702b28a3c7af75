"""Rule loss_curves: the total loss of every frame, and the terms of the first and middle frames,
against the evaluation of the objective (SVG, matplotlib)."""

import json

from photostyle.atomic import write_text
from photostyle.charts import loss_curves
from photostyle.logs import setup

log = setup(snakemake.log[0])
histories = {}
for path in snakemake.input:
    with open(path) as handle:
        data = json.load(handle)
    histories[data["frame"]] = data["evaluations"]
frames = sorted(histories)
detail = sorted({frames[0], frames[len(frames) // 2]})
write_text(snakemake.output[0], loss_curves(histories, detail))
log.info("%d frames, %d evaluations in all", len(frames), sum(len(h) for h in histories.values()))
