"""Rule segment_frame: label map of one frame, with the class ids of the reference."""

from pathlib import Path

import numpy as np

from photostyle.images import read_rgb, write_gray
from photostyle.logs import setup
from photostyle.segmentation import frame_labels

log = setup(snakemake.log[0])
settings = snakemake.params.segmentation
inputs = snakemake.input
labels = frame_labels(
    settings["method"],
    read_rgb(inputs.frame, "frame"),
    settings,
    mask=(read_rgb(inputs.mask, "frame mask"), inputs.mask) if "mask" in inputs.keys() else None,
    classes_json=Path(inputs.classes).read_text() if "classes" in inputs.keys() else None,
)
write_gray(snakemake.output[0], labels)
log.info("class pixel counts %s", np.bincount(labels.ravel()).tolist())
