"""Rule propagate_block (propagate mode): keyframe k and the frames up to the next keyframe (or the end of
its shot) stylised from the keyframes' local colour maps carried along the flow, as PNGs in a folder;
keyframe k tied to the output of the frame before it (in the block before, same shot)."""

from pathlib import Path

import torch

from photostyle.consistency import flow_pair
from photostyle.device import resolve_device
from photostyle.images import read_gray, read_rgb, write_rgb
from photostyle.logs import setup
from photostyle.propagation import Refinement, propagate_block

log = setup(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
inputs, params = snakemake.input, snakemake.params
k = int(snakemake.wildcards.k)
frames = [read_rgb(path, "frame") for path in inputs.frames]
labels = [read_gray(path, "label map") for path in inputs.labels]
last = read_rgb(inputs.last, "keyframe output") if params.tied else None
positions, before = dict(enumerate(frames)), None  # frames by position in the block (-1: the frame before)
if "before_block" in inputs.keys():
    positions[-1] = read_rgb(inputs.before_frame, "frame")
    before = read_rgb(Path(inputs.before_block) / f"frame_{k - 1:05d}.png", "output of the frame before")


def pair(t: int, other: int):
    return flow_pair(positions[t], positions[other], params.flow, params.criteria, params.device)


outputs = propagate_block(
    frames,
    labels,
    read_rgb(inputs.first, "keyframe output"),
    last,
    pair,
    (params.local_affine["radius"], params.local_affine["eps"]),
    Refinement.from_config(params.refinement),
    resolve_device(params.device),
    before,
)
folder = Path(snakemake.output[0])
folder.mkdir(parents=True, exist_ok=True)
for t, image in enumerate(outputs, start=k):
    write_rgb(folder / f"frame_{t:05d}.png", image)
log.info("frames %d-%d from keyframe %d%s", k, k + len(outputs) - 1, k, f" and {params.end}" if params.tied else "")
