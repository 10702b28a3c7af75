"""Rule segment_frame: class scores of one frame, in the class ids of the reference."""

from pathlib import Path

from photostyle.images import read_rgb
from photostyle.label_fusion import save_scores
from photostyle.logs import setup
from photostyle.segmentation import Classes, frame_scores

log = setup(snakemake.log[0])
settings, inputs = snakemake.params.segmentation, snakemake.input
classes = Classes.of_run(settings, Path(inputs.classes).read_text() if "classes" in inputs.keys() else None)
parser = None
if settings["method"] == "network":
    from photostyle.scene_parsing import load_parser

    parser = load_parser(settings, snakemake.params.device)
scores = frame_scores(
    read_rgb(inputs.frame, "frame"),
    settings,
    classes,
    mask=(read_rgb(inputs.mask, "frame mask"), inputs.mask) if "mask" in inputs.keys() else None,
    scene_parser=parser,
)
save_scores(snakemake.output[0], scores)
log.info(
    "class shares %s", ", ".join(f"{n} {s:.3f}" for n, s in zip(classes.names, scores.mean(axis=(1, 2)), strict=True))
)
