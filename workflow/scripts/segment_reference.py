"""Rule segment_reference: label map of the reference photo at its working size."""

import numpy as np

from photostyle.atomic import write_text
from photostyle.images import read_rgb, resize_longest, write_gray
from photostyle.logs import setup
from photostyle.segmentation import reference_labels

log = setup(snakemake.log[0])
settings = snakemake.params.segmentation
inputs = snakemake.input
style = resize_longest(read_rgb(inputs.style, "style image"), snakemake.params.style_size)
labels, classes = reference_labels(
    settings["method"],
    style,
    settings,
    style_mask=(read_rgb(inputs.style_mask, "style mask"), inputs.style_mask)
    if "style_mask" in inputs.keys()
    else None,
    first_frame=read_rgb(inputs.first_frame, "frame") if "first_frame" in inputs.keys() else None,
)
write_gray(snakemake.output.labels, labels)
write_text(snakemake.output.classes, classes)
log.info(
    "reference %dx%d, class pixel counts %s", labels.shape[1], labels.shape[0], np.bincount(labels.ravel()).tolist()
)
