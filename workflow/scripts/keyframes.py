"""Checkpoint keyframes (propagate mode): the keyframes of a run, with its shot starts, in keyframes.json."""

import functools

from photostyle.consistency import flow_pair
from photostyle.cuts import Cuts
from photostyle.images import read_rgb
from photostyle.keyframes import KeyframePlan, choose_keyframes
from photostyle.logs import setup

log = setup(snakemake.log[0])
inputs, settings = snakemake.input, snakemake.params.keyframes
frames = list(inputs.frames)
starts = Cuts.read(inputs.cuts).starts  # 1-based


@functools.lru_cache(maxsize=2)  # the last keyframe and the frame checked against it: each read once
def frame(n: int):
    return read_rgb(frames[n], "frame")


def reliable_share(t: int, k: int) -> float:
    """Share of frame t's pixels that the flow t → keyframe k carries reliably (0-based positions)."""
    frame_t, key = frame(t), frame(k)
    share = float(flow_pair(frame_t, key, settings["flow"], settings["criteria"], snakemake.params.device)[1].mean())
    log.info("frame %d against keyframe %d: %.3f of the pixels reliable", t + 1, k + 1, share)
    return share


chosen = choose_keyframes(
    len(frames), [s - 1 for s in starts], settings["every"], reliable_share, settings["min_reliable"]
)
plan = KeyframePlan(tuple(k + 1 for k in chosen), tuple(starts), len(frames))
plan.write(snakemake.output[0])
log.info("%d frames, %d keyframes: %s", len(frames), len(plan.keys), list(plan.keys))
