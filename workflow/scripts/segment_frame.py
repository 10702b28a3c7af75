"""Rule segment_frame: class scores of each frame of a block, in the class ids of the reference."""

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
masks = inputs.masks if "masks" in inputs.keys() else [None] * len(inputs.frames)
scores = {}
for i, frame, mask in zip(snakemake.params.frames, inputs.frames, masks, strict=True):
    scores[i] = frame_scores(
        read_rgb(frame, "frame"),
        settings,
        classes,
        mask=(read_rgb(mask, "frame mask"), mask) if mask else None,
        scene_parser=parser,
    )
    shares = ", ".join(f"{n} {s:.3f}" for n, s in zip(classes.names, scores[i].mean(axis=(1, 2)), strict=True))
    log.info("frame %d: class shares %s", i, shares)
save_scores(snakemake.output[0], scores)
