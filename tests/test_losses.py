import numpy as np
import pytest
import scipy.sparse as sp
import torch

from photostyle import losses


def features_of(colours: list[tuple[float, float, float]], labels: np.ndarray) -> torch.Tensor:
    """Fake 1×C×H×W features: each class region has its own constant colour vector plus texture."""
    rng = np.random.default_rng(0)
    feats = np.zeros((3, *labels.shape), np.float32)
    for k, colour in enumerate(colours):
        feats[:, labels == k] = np.array(colour, np.float32)[:, None]
    feats += 0.1 * rng.normal(size=feats.shape).astype(np.float32)
    return torch.from_numpy(feats)[None]


LABELS = np.zeros((16, 16), np.int64)
LABELS[8:] = 1
MASKS = torch.from_numpy(np.stack([LABELS == 0, LABELS == 1]).astype(np.float32))


def test_style_loss_zero_for_same_statistics_and_grows_with_colour_change():
    reference = features_of([(1, 0, 0), (0, 1, 0)], LABELS)
    target = losses.StyleTarget(reference, MASKS)
    assert float(target.loss(reference, MASKS)) < 1e-10
    values = []
    for shift in (0.2, 0.5, 1.0):
        changed = features_of([(1, 0, 0), (0, 1, shift)], LABELS)  # only class 1 changes colour
        values.append(float(target.loss(changed, MASKS)))
    assert 0 < values[0] < values[1] < values[2]


def test_class_missing_on_one_side_has_no_style_term():
    reference = features_of([(1, 0, 0), (0, 1, 0)], np.zeros((16, 16), np.int64))  # reference: class 0 only
    ref_masks = torch.stack([torch.ones(16, 16), torch.zeros(16, 16)])
    target = losses.StyleTarget(reference, ref_masks)
    frame = features_of([(1, 0, 0), (5, 5, 5)], LABELS)
    frame_same_class0 = features_of([(1, 0, 0), (-5, 2, 0)], LABELS)
    # class 1 exists only in the frame: changing it does not change the loss
    assert abs(float(target.loss(frame, MASKS)) - float(target.loss(frame_same_class0, MASKS))) < 1e-6


def test_global_fallback_styles_a_class_missing_from_the_reference_like_the_whole_reference():
    reference = features_of([(1, 0, 0), (0, 1, 0)], np.zeros((16, 16), np.int64))  # reference: class 0 only
    ref_masks = torch.stack([torch.ones(16, 16), torch.zeros(16, 16)])
    target = losses.StyleTarget(reference, ref_masks, fallback="global")
    like_reference = features_of([(1, 0, 0), (1, 0, 0)], LABELS)  # class 1 looks like the whole reference
    unlike = features_of([(1, 0, 0), (-5, 2, 0)], LABELS)
    assert float(target.loss(like_reference, MASKS)) < 1e-3  # only the texture noise differs
    assert float(target.loss(unlike, MASKS)) > 100 * float(target.loss(like_reference, MASKS))
    with pytest.raises(ValueError, match="segmentation.fallback"):
        losses.StyleTarget(reference, ref_masks, fallback="nearest")


def test_photorealism_gradient_is_two_m_v():
    rng = np.random.default_rng(0)
    a = sp.random(48, 48, density=0.2, random_state=1, dtype=np.float64)
    matrix = (a + a.T).tocsr().astype(np.float32)
    image = torch.from_numpy(rng.uniform(size=(1, 3, 6, 8)).astype(np.float32)).requires_grad_(True)
    loss = losses.photorealism_loss(image, losses.laplacian_tensor(matrix, torch.device("cpu")))
    loss.backward()
    values = image.detach()[0].reshape(3, -1).T.numpy()
    expected_loss = (values * (matrix @ values)).sum() / 48
    expected_grad = (2 * (matrix @ values) / 48).T.reshape(1, 3, 6, 8)
    np.testing.assert_allclose(float(loss.detach()), expected_loss, rtol=1e-5)
    np.testing.assert_allclose(image.grad.numpy(), expected_grad, rtol=1e-4, atol=1e-6)


def test_temporal_loss_ignores_pixels_with_zero_weight():
    image = torch.zeros(1, 3, 4, 4)
    previous = torch.zeros(1, 3, 4, 4)
    previous[..., :2] = 1.0  # differs on the left half
    left_zero = torch.ones(1, 1, 4, 4)
    left_zero[..., :2] = 0
    assert float(losses.temporal_loss(image, [previous], [left_zero])) == 0
    assert float(losses.temporal_loss(image, [previous], [torch.ones(1, 1, 4, 4)])) == 0.5
