"""Rule segment_reference: label map of the reference at its working size, the run's classes, and
the same labels as a colour picture in the legend (to touch up and give back as the run's style_mask)."""

import numpy as np

from photostyle.atomic import write_text
from photostyle.images import read_rgb, resize_longest, write_gray, write_rgb
from photostyle.logs import setup
from photostyle.segmentation import colourise, reference_segmentation

log = setup(snakemake.log[0])
settings, inputs = snakemake.params.segmentation, snakemake.input
style = resize_longest(read_rgb(inputs.style, "style image"), snakemake.params.style_size)
edited = "style_mask" in inputs.keys()
parser = None
if settings["method"] == "network" and not edited:
    from photostyle.scene_parsing import load_parser

    parser = load_parser(settings, snakemake.params.device)
labels, classes = reference_segmentation(
    settings["method"],
    style,
    settings,
    style_mask=(read_rgb(inputs.style_mask, "style mask"), inputs.style_mask) if edited else None,
    first_frame=read_rgb(inputs.first_frame, "frame") if "first_frame" in inputs.keys() else None,
    scene_parser=parser,
)
write_gray(snakemake.output.labels, labels)
write_rgb(snakemake.output.colour, colourise(labels, classes.colours))
write_text(snakemake.output.classes, classes.to_json())
counts = np.bincount(labels.ravel(), minlength=len(classes.names))
log.info(
    "reference %dx%d (%s): %s",
    labels.shape[1],
    labels.shape[0],
    f"from the edited mask {inputs.style_mask}" if edited else settings["method"],
    ", ".join(f"{name} {100 * n / labels.size:.1f} %" for name, n in zip(classes.names, counts, strict=True) if n),
)
