"""Rule frame_labels: labels of frame i from its scores, fused with frame i - 1's along the flow
(unless a new shot starts at frame i), and an overlay picture of them."""

from pathlib import Path

from photostyle.consistency import from_uint8
from photostyle.cuts import Cuts
from photostyle.images import read_rgb, write_gray, write_rgb
from photostyle.label_fusion import fuse_scores, label_flicker, load_scores, save_scores
from photostyle.logs import setup
from photostyle.pairs import read_pairs
from photostyle.segmentation import Classes, labels_from_scores, overlay

log = setup(snakemake.log[0])
inputs, weight = snakemake.input, snakemake.params.temporal_weight
classes = Classes.of_run(
    snakemake.params.segmentation, Path(inputs.classes).read_text() if "classes" in inputs.keys() else None
)
i = int(snakemake.wildcards.i)
scores = load_scores(inputs.scores, i)
fused = scores
fuse = "previous" in inputs.keys()
if fuse and i in Cuts.read(inputs.cuts).starts:
    log.info("a new shot starts at frame %d: its labels are not fused with frame %d's", i, i - 1)
    fuse = False
if fuse:
    backward = read_pairs(inputs.backward, "backward", i)[i - 1]
    reliable = from_uint8(read_pairs(inputs.consistency, "reliable", i)[i - 1])
    previous_scores = load_scores(inputs.previous, i - 1)
    fused = fuse_scores(scores, previous_scores, backward, reliable, weight)
labels = labels_from_scores(fused)
if fuse:
    previous = labels_from_scores(previous_scores)  # frame i - 1's labels
    log.info(
        "label flicker on reliable pixels: %.4f fused (%.4f frame by frame), temporal_weight %g",
        label_flicker(labels, previous, backward, reliable),
        label_flicker(labels_from_scores(scores), previous, backward, reliable),
        weight,
    )
write_gray(snakemake.output.labels, labels)
save_scores(snakemake.output.fused, {i: fused})
write_rgb(snakemake.output.overlay, overlay(read_rgb(inputs.frame, "frame"), labels, classes.colours))
