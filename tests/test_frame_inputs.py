"""Frame i's inputs: which earlier frames it is tied to (those of its shot, nearest first), each
warped along its flow with its long-term weights, as the workflow and ``sequence`` assemble them."""

import numpy as np
import pytest

from photostyle.config import changed
from photostyle.frame_inputs import assemble
from photostyle.matting import matting_coefficients
from photostyle.sequence import frame_inputs, prepare
from photostyle.stylize import Result

H, W = 24, 32


def test_only_the_frames_of_the_shot_are_tied_nearest_first():
    frame = np.full((H, W, 3), 100, np.uint8)
    labels = np.zeros((H, W), np.uint8)
    outputs = {k: np.full((H, W, 3), 10 * k, np.uint8) for k in (3, 2, 0)}
    shift = np.zeros((H, W, 2), np.float32)
    shift[..., 0] = 1.0  # every earlier frame seen one pixel to the right
    long = {k: np.full((H, W), 0.1 * (k + 1), np.float32) for k in outputs}
    reliable = {k: np.full((H, W), 0.5 + 0.1 * k, np.float32) for k in outputs}
    asked = []

    def optimised(k: int) -> np.ndarray:
        asked.append(k)
        return outputs[k]

    inputs = assemble(
        frame,
        frame,
        labels,
        labels,
        matting_coefficients(frame, 1e-4, 1),
        i=4,
        earlier=[3, 2, 0],  # J = {1, 2, 4}
        shot_start=2,  # a cut before frame 2: frame 0 is another shot
        optimised=optimised,
        backward=dict.fromkeys(outputs, shift),
        reliable=reliable,
        long=long,
    )
    assert sorted(asked) == [2, 3]  # frame 0's file is never read
    assert [round(float(p.warped.mean()) * 255) for p in inputs.previous] == [30, 20]  # nearest first
    assert [float(p.weight.mean()) for p in inputs.previous] == pytest.approx([0.4, 0.3])
    np.testing.assert_array_equal(inputs.reliable, reliable[3])  # the warm start trusts frame i - 1

    alone = assemble(
        frame, frame, labels, labels, inputs.coefficients, i=4, earlier=[3, 2, 0], shot_start=4,
        optimised=optimised, backward={}, reliable={}, long={},
    )  # fmt: skip
    assert alone.previous == [] and alone.reliable is None  # first frame of a shot: a cold start


def test_a_clip_with_a_cut_restarts_the_temporal_term_at_the_cut(photo):
    pan = [np.ascontiguousarray(photo[40 + 2 * t : 40 + 2 * t + H, 40 : 40 + W]) for t in range(3)]
    other = [np.ascontiguousarray(255 - photo[200 + 2 * t : 200 + 2 * t + H, 10 : 10 + W, ::-1]) for t in range(2)]
    clip = prepare(pan + other, np.ascontiguousarray(photo[:H, :W, ::-1]), changed({"temporal.offsets": [1, 2]}))
    assert clip.cuts.starts == [4]  # 1-based: the fourth frame starts the second shot
    assert [clip.shot_start(i) for i in range(5)] == [0, 0, 0, 3, 3]
    results = [Result(f, f, []) for f in pan + other]  # stand-ins for the stylised frames
    assert len(frame_inputs(clip, 2, results).previous) == 2  # frames 1 and 0, same shot
    at_cut = frame_inputs(clip, 3, results)
    assert at_cut.previous == [] and at_cut.reliable is None
    after = frame_inputs(clip, 4, results)
    assert len(after.previous) == 1  # frame 3 only, not frame 2 across the cut
    np.testing.assert_array_equal(after.reliable, clip.reliable[4, 3])
