import numpy as np
import pytest

from photostyle.metrics import affine_residual, style_fidelity, video_warping_error, warping_error


@pytest.fixture
def image(photo) -> np.ndarray:
    return photo[:96, :128].astype(np.float32) / 255.0


def test_warping_error_is_zero_for_content_that_follows_the_flow_and_grows_with_flicker(image):
    earlier, later = image[:, 4:124], image[:, 0:120]  # later(p) = earlier(p − (4, 0)): the camera panned
    flow = np.zeros((*later.shape[:2], 2), np.float32)
    flow[..., 0] = -4.0  # the flow from frame t to frame t − 1
    visible = np.ones(later.shape[:2], bool)
    visible[:, :4] = False  # these pixels of frame t were not in frame t − 1
    assert warping_error(earlier, later, flow, visible) < 1e-10
    assert warping_error(earlier, np.clip(later * 1.2, 0, 1), flow, visible) > 1e-3  # a flicker of brightness
    assert warping_error(earlier, later, np.zeros_like(flow), visible) > 1e-3  # the wrong flow
    with pytest.raises(ValueError, match="no visible pixel"):
        warping_error(earlier, later, flow, np.zeros_like(visible))


def test_affine_residual_is_zero_for_an_affine_recolouring_and_not_for_noise(image):
    matrix = np.array([[0.6, 0.2, 0.1], [0.1, 0.5, 0.0], [0.0, 0.3, 0.4]])
    recoloured = image @ matrix.T + np.array([0.1, 0.05, 0.0])
    assert affine_residual(image, recoloured) < 0.05  # 0-255 units
    noisy = np.clip(recoloured + np.random.default_rng(0).normal(0, 0.05, image.shape), 0, 1)
    assert affine_residual(image, noisy) > 5.0


def test_style_fidelity_is_zero_for_the_reference_itself_and_measures_a_shift(image):
    labels = np.zeros(image.shape[:2], np.int64)
    labels[48:] = 1
    same = style_fidelity(image, labels, image, labels)
    assert set(same) == {0, 1} and max(same.values()) < 1e-6
    darker = style_fidelity(np.clip(image * 0.5, 0, 1), labels, image, labels)
    assert min(darker.values()) > 5.0


def test_affine_residual_equals_a_least_squares_fit_per_window():
    rng = np.random.default_rng(1)
    source, result = rng.random((6, 7, 3)), rng.random((6, 7, 3))
    residuals = []
    for y in range(4):
        for x in range(5):
            s = source[y : y + 3, x : x + 3].reshape(9, 3)
            o = result[y : y + 3, x : x + 3].reshape(9, 3)
            design = np.hstack([s, np.ones((9, 1))])
            fit = design @ np.linalg.lstsq(design, o, rcond=None)[0]
            residuals.append(np.sqrt(((fit - o) ** 2).mean()))
    assert affine_residual(source, result, eps=0.0) == pytest.approx(255 * np.mean(residuals), rel=1e-6)


def test_video_warping_error_is_the_mean_over_pairs(image):
    frames = [image[:, 8 - 4 * t : 120 - 4 * t] for t in range(3)]  # a steady pan: frame t(p) = frame t-1(p − (4, 0))
    flow = np.zeros((*frames[0].shape[:2], 2), np.float32)
    flow[..., 0] = -4.0  # the flow from frame t to frame t − 1
    visible = np.ones(frames[0].shape[:2], bool)
    visible[:, :4] = False
    assert video_warping_error(frames, [flow, flow], [visible, visible]) < 1e-10
    flicker = [frames[0], np.clip(frames[1] * 1.2, 0, 1), frames[2]]
    pairs = [warping_error(flicker[t - 1], flicker[t], flow, visible) for t in (1, 2)]
    assert video_warping_error(flicker, [flow, flow], [visible, visible]) == pytest.approx(np.mean(pairs))
    assert min(pairs) > 1e-3
