import numpy as np

from photostyle.consistency import long_term_weights, reliable_weights

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
    weights = reliable_weights(backward, forward)
    disoccluded = weights[Y0:Y1, X0 : X0 + MOVE]  # background that the object uncovered
    assert (disoccluded == 0).all()
    assert (weights[:, :12] == 1).all() and (weights[:, 45:] == 1).all()  # far background
    assert (weights[Y0 + 2 : Y1 - 2, X0 + MOVE + 2 : X1 + MOVE - 2] == 1).all()  # object interior
    assert weights.mean() > 0.85


def test_flow_leaving_the_frame_is_unreliable():
    backward = np.zeros((H, W, 2), np.float32)
    backward[..., 0] = -4.0
    forward = -backward
    weights = reliable_weights(backward, forward)
    assert (weights[:, :4] == 0).all() and (weights[:, 5:] == 1).all()


def test_long_term_weights_keep_only_what_nearer_frames_miss():
    c1 = np.array([[1, 1, 0, 0]], np.float32)
    c2 = np.array([[1, 0, 1, 0]], np.float32)
    c4 = np.array([[1, 1, 1, 1]], np.float32)
    long = long_term_weights({1: c1, 2: c2, 4: c4})
    np.testing.assert_array_equal(long[1], c1)
    np.testing.assert_array_equal(long[2], [[0, 0, 1, 0]])
    np.testing.assert_array_equal(long[4], [[0, 0, 0, 1]])
