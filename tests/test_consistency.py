import numpy as np
import pytest

from photostyle.config import defaults
from photostyle.consistency import RUDER, landing_weight, long_term_weights, reliable_weights
from photostyle.flow import compute_flow, read_flo
from photostyle.images import read_gray, read_rgb

H, W, MOVE = 40, 60, 6
X0, X1, Y0, Y1 = 20, 32, 10, 30  # the object in frame k; in frame i it is MOVE px further right


def object_flows() -> tuple[np.ndarray, np.ndarray]:
    """Exact flows of a rectangle moving right by MOVE px over a static background."""
    backward = np.zeros((H, W, 2), np.float32)  # frame i → frame k
    backward[Y0:Y1, X0 + MOVE : X1 + MOVE, 0] = -MOVE
    forward = np.zeros((H, W, 2), np.float32)  # frame k → frame i
    forward[Y0:Y1, X0:X1, 0] = MOVE
    return backward, forward


def test_disoccluded_region_is_zeroed_and_the_rest_kept():
    backward, forward = object_flows()
    weights = reliable_weights(forward=forward, backward=backward)
    disoccluded = weights[Y0:Y1, X0 : X0 + MOVE]  # background that the object uncovered
    assert (disoccluded == 0).all()
    assert (weights[:, :12] == 1).all() and (weights[:, 45:] == 1).all()  # far background
    assert (weights[Y0 + 2 : Y1 - 2, X0 + MOVE + 2 : X1 + MOVE - 2] == 1).all()  # object interior
    assert weights.mean() > 0.85


def test_default_check_zeroes_the_disocclusion_and_keeps_the_rest():
    """With the default criteria (the schema's) and frames that show the motion."""
    criteria = defaults()["consistency"]
    rng = np.random.default_rng(0)
    background = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    texture = rng.integers(0, 256, (Y1 - Y0, X1 - X0, 3), dtype=np.uint8)
    frame_k, frame_i = background.copy(), background.copy()
    frame_k[Y0:Y1, X0:X1] = texture
    frame_i[Y0:Y1, X0 + MOVE : X1 + MOVE] = texture
    backward, forward = object_flows()
    weights = reliable_weights(forward=forward, backward=backward, frames=(frame_i, frame_k), **criteria)
    disoccluded = np.zeros((H, W), bool)
    disoccluded[Y0:Y1, X0 : X0 + MOVE] = True
    assert (weights[disoccluded] == 0).all()
    assert (weights[~disoccluded] == 1).mean() >= 0.99


def test_flow_leaving_the_frame_is_unreliable():
    backward = np.zeros((H, W, 2), np.float32)
    backward[..., 0] = -4.0
    forward = -backward
    weights = reliable_weights(forward=forward, backward=backward)
    assert (weights[:, :4] == 0).all() and (weights[:, 5:] == 1).all()


def test_long_term_weights_keep_only_what_nearer_frames_miss():
    c1 = np.array([[1, 1, 0, 0]], np.float32)
    c2 = np.array([[1, 0, 1, 0]], np.float32)
    c4 = np.array([[1, 1, 1, 1]], np.float32)
    long = long_term_weights({1: c1, 2: c2, 4: c4})
    np.testing.assert_array_equal(long[1], c1)
    np.testing.assert_array_equal(long[2], [[0, 0, 1, 0]])
    np.testing.assert_array_equal(long[4], [[0, 0, 0, 1]])


def test_landing_weight_is_one_for_a_translation_and_zero_where_nothing_lands():
    _, forward = object_flows()  # frame k → frame i: the object moves right
    landed = landing_weight(forward)
    assert np.allclose(landed[:, 12:X0], 1.0) and np.allclose(landed[:, X1 + MOVE + 1 : W - 1], 1.0)
    assert np.allclose(landed[Y0:Y1, X0 : X0 + MOVE], 0.0)  # uncovered background: nothing of frame k lands
    assert landed[Y0:Y1, X1 : X1 + MOVE].min() >= 1.99  # the object lands on background: both pile up


def test_optional_criteria_flag_what_ruders_check_misses():
    backward, forward = object_flows()
    forward[Y0:Y1, X0:X1, 0] = 0.0  # a forward flow that missed the motion: the round trip no longer fails
    frame_i = np.zeros((H, W, 3), np.uint8)
    frame_i[Y0:Y1, X0:X1] = 200  # what frame i shows where the object was is not what frame k shows there
    frame_k = np.zeros((H, W, 3), np.uint8)
    frame_k[Y0:Y1, X0:X1] = 90
    plain = reliable_weights(forward=forward, backward=np.zeros_like(backward))
    assert plain.mean() == 1.0
    coloured = reliable_weights(forward=forward, backward=np.zeros_like(backward), colour=20, frames=(frame_i, frame_k))
    assert (coloured[Y0:Y1, X0:X1] == 0).all() and coloured.sum() == H * W - (Y1 - Y0) * (X1 - X0)
    grown = reliable_weights(
        forward=forward, backward=np.zeros_like(backward), colour=20, frames=(frame_i, frame_k), dilate=2
    )
    assert grown.sum() == H * W - (Y1 - Y0 + 4) * (X1 - X0 + 4)
    covered = reliable_weights(forward=object_flows()[1], backward=backward, disocclusion=(0.01, 1e6), coverage=0.5)
    assert (covered[Y0:Y1, X0 : X0 + MOVE] == 0).all() and covered.mean() > 0.9
    with pytest.raises(ValueError, match="frames"):
        reliable_weights(forward=forward, backward=backward, colour=20)


def test_ruder_check_agrees_with_the_weights_shipped_with_marple8(shared):
    """Fed the DeepFlow flows shipped with fbms_marple8, Ruder's criteria reproduce its reliable_* maps."""
    root = shared / "sequences" / "fbms_marple8"
    for i in range(2, 6):
        later, earlier = (read_rgb(root / "frames" / f"marple8_0{n}.png") for n in (i, i - 1))
        backward = read_flo(root / "flow_deepflow_backward" / f"backward_{i}_{i - 1}.flo")
        weights = reliable_weights(forward=compute_flow(earlier, later, "deepflow"), backward=backward)
        shipped = read_gray(root / "reliability_backward" / f"reliable_{i}_{i - 1}.png") > 127
        agreement = ((weights > 0.5) == shipped).mean()
        assert agreement >= 0.98, (i, agreement)


def test_default_weights_find_sintel_occlusions(shared):
    """F1 of the default check's unreliable pixels against Sintel's occlusion mask (fusion flow, clean pass)."""

    root = shared / "flow_gt" / "sintel_alley_1"
    frame_2, frame_3 = (read_rgb(root / "clean" / f"frame_000{n}.png") for n in (2, 3))
    truth = read_flo(root / "gt" / "frame_0002.flo")
    occluded = read_gray(root / "gt" / "occlusions_frame_0002.png") > 127
    h, w = occluded.shape
    xs, ys = np.arange(w)[None] + truth[..., 0], np.arange(h)[:, None] + truth[..., 1]
    scored = (xs >= 0) & (xs <= w - 1) & (ys >= 0) & (ys <= h - 1)  # Sintel's mask leaves out pixels leaving the frame
    criteria = defaults()["consistency"]
    flows = {"forward": compute_flow(frame_3, frame_2, "fusion"), "backward": compute_flow(frame_2, frame_3, "fusion")}
    flagged = {}
    for name, options in {"ruder": RUDER, "default": criteria}.items():
        weights = reliable_weights(**flows, frames=(frame_2, frame_3), **options)
        flagged[name] = (weights < 0.5)[scored]
    truth_occluded = occluded[scored]

    def f1(predicted):
        hits = (predicted & truth_occluded).sum()
        return 2 * hits / (predicted.sum() + truth_occluded.sum())

    assert f1(flagged["default"]) >= 0.35
    assert f1(flagged["default"]) > f1(flagged["ruder"]) + 0.05
