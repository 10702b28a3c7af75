"""Rule metrics: the figures of a run (temporal consistency, photorealism, structure, style per class,
time per stage) in metrics.json."""

import json

from photostyle.atomic import write_text
from photostyle.clip_metrics import FrameData, clip_metrics, scored_positions
from photostyle.consistency import from_uint8
from photostyle.cuts import Cuts
from photostyle.images import read_gray, read_rgb, resize_longest
from photostyle.logs import setup
from photostyle.pairs import pair_block_index, read_pairs
from photostyle.segmentation import Classes
from photostyle.stage_times import stage_times

log = setup(snakemake.log[0])
inputs, params = snakemake.input, snakemake.params


def frames():
    """The clip's frames, read one at a time."""
    for n, (frame, stylized, labels) in enumerate(zip(inputs.frames, inputs.stylized, inputs.labels, strict=True)):
        data = FrameData(read_rgb(frame, "frame"), read_rgb(stylized, "stylised frame"), read_gray(labels, "label map"))
        data.cut = n + 1 in shot_starts
        if n > 0 and not data.cut:
            # frame n + 1 (1-based) against frame n, in the block files of the frames after the first
            block = pair_block_index(n + 1, params.frames_per_job)
            data.backward = read_pairs(inputs.backward[block], "backward", n + 1)[n]
            data.reliable = from_uint8(read_pairs(inputs.consistency[block], "reliable", n + 1)[n])
        yield data


shot_starts = set(Cuts.read(inputs.cuts).starts)
classes = Classes.from_json(open(inputs.classes).read())
reference = resize_longest(read_rgb(inputs.style, "style image"), params.style_size)
metrics = {"run": snakemake.wildcards.run, "random_weights": params.random_weights, "features": params.features}
scored = scored_positions(len(inputs.frames))  # photorealism, SSIM, style
metrics |= clip_metrics(frames(), reference, read_gray(inputs.style_labels, "label map"), classes.names, scored)
metrics["time"] = stage_times(params.benchmarks)
write_text(snakemake.output[0], json.dumps(metrics, indent=1) + "\n")
temporal = metrics["temporal"]
log.info(
    "%d frames (%d scored): warping error %s (input %s), flicker excess %s, "
    "affine residual %.3g, SSIM %.3f, style %s (input %s)",
    metrics["frames"],
    metrics["frames_scored"],
    temporal["warping_error"]["output"],
    temporal["warping_error"]["input"],
    temporal["flicker"]["excess"],
    metrics["photorealism"]["affine_residual"],
    metrics["structure"]["ssim"],
    metrics["style"]["output"],
    metrics["style"]["input"],
)
