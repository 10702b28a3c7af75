import numpy as np
import pytest

from photostyle.errors import InputError
from photostyle.label_fusion import fuse_scores, label_flicker, load_scores, save_scores
from photostyle.segmentation import class_masks, labels_from_scores

K, H, W = 4, 64, 96
STEP = (2, 1)  # the camera path: the scene moves by (2, 1) px per frame


def scene(frame: int) -> np.ndarray:
    """Ground-truth labels of frame ``frame``: four regions of a scene moving by STEP per frame."""
    ys, xs = np.mgrid[0:H, 0:W]
    x, y = xs - STEP[0] * frame, ys - STEP[1] * frame
    return ((y > 0.3 * x + 10).astype(np.uint8) + 2 * ((x // 37) % 2).astype(np.uint8)).astype(np.uint8)


def backward_flow() -> np.ndarray:
    """The exact flow from frame i to frame i − 1."""
    flow = np.zeros((H, W, 2), np.float32)
    flow[..., 0], flow[..., 1] = -STEP[0], -STEP[1]
    return flow


def reliable() -> np.ndarray:
    """Consistency weights: everything but the strip that entered the frame."""
    weights = np.ones((H, W), np.float32)
    weights[: STEP[1]], weights[:, : STEP[0]] = 0, 0
    return weights


def test_fused_labels_flicker_far_less_than_noisy_per_frame_labels():
    rng = np.random.default_rng(0)
    raw_flicker, fused_flicker = [], []
    previous_raw = previous_fused = previous_scores = None
    for frame in range(12):
        noisy = scene(frame)
        corrupt = rng.random((H, W)) < 0.10  # 10 % of the labels replaced by random ones
        noisy[corrupt] = rng.integers(0, K, corrupt.sum())
        scores = class_masks(noisy, K)
        fused = (
            scores
            if previous_scores is None
            else fuse_scores(scores, previous_scores, backward_flow(), reliable(), 0.6)
        )
        raw, labels = labels_from_scores(scores), labels_from_scores(fused)
        if previous_raw is not None:
            raw_flicker.append(label_flicker(raw, previous_raw, backward_flow(), reliable()))
            fused_flicker.append(label_flicker(labels, previous_fused, backward_flow(), reliable()))
        previous_raw, previous_fused, previous_scores = raw, labels, fused
    assert np.mean(raw_flicker) > 0.12  # about 1 − (1 − 0.1 × 3/4)²: either frame's noise changes the label
    assert np.mean(fused_flicker) <= 0.3 * np.mean(raw_flicker), (np.mean(fused_flicker), np.mean(raw_flicker))
    assert (labels == scene(11)).mean() > 0.97  # the fused labels follow the motion, not the noise


def test_a_lasting_change_takes_over_within_a_few_frames():
    still = np.zeros((H, W, 2), np.float32)
    fused = class_masks(np.zeros((H, W), np.uint8), K)
    changed = class_masks(np.full((H, W), 3, np.uint8), K)  # from now on every frame says class 3
    frames = 0
    while not (labels_from_scores(fused) == 3).all() and frames < 10:
        fused = fuse_scores(changed, fused, still, np.ones((H, W), np.float32), 0.6)
        frames += 1
    assert frames <= 3


def test_scores_round_trip_and_bad_files(tmp_path):
    scores = {3: class_masks(scene(0), K), 4: class_masks(scene(1), K)}  # a block of two frames
    save_scores(tmp_path / "s.npz", scores)
    for i in (3, 4):
        np.testing.assert_array_equal(load_scores(tmp_path / "s.npz", i), scores[i])
    with pytest.raises(InputError, match="s.npz hold no frame 5"):
        load_scores(tmp_path / "s.npz", 5)
    (tmp_path / "bad.npz").write_bytes(b"not numpy")
    with pytest.raises(InputError, match="bad.npz"):
        load_scores(tmp_path / "bad.npz", 3)
