import numpy as np
import pytest
import torch

from photostyle import losses
from photostyle.matting import MattingLaplacian, matting_coefficients


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
FRAME = losses.ClassMasks(MASKS, 16, 16)


def test_style_loss_zero_for_same_statistics_and_grows_with_colour_change():
    reference = features_of([(1, 0, 0), (0, 1, 0)], LABELS)
    target = losses.StyleTarget(reference, MASKS)
    assert float(target.loss(reference, FRAME)) < 1e-10
    values = []
    for shift in (0.2, 0.5, 1.0):
        changed = features_of([(1, 0, 0), (0, 1, shift)], LABELS)  # only class 1 changes colour
        values.append(float(target.loss(changed, FRAME)))
    assert 0 < values[0] < values[1] < values[2]


def test_class_missing_on_one_side_has_no_style_term():
    reference = features_of([(1, 0, 0), (0, 1, 0)], np.zeros((16, 16), np.int64))  # reference: class 0 only
    ref_masks = torch.stack([torch.ones(16, 16), torch.zeros(16, 16)])
    target = losses.StyleTarget(reference, ref_masks)
    frame = features_of([(1, 0, 0), (5, 5, 5)], LABELS)
    frame_same_class0 = features_of([(1, 0, 0), (-5, 2, 0)], LABELS)
    # class 1 exists only in the frame: changing it does not change the loss
    assert abs(float(target.loss(frame, FRAME)) - float(target.loss(frame_same_class0, FRAME))) < 1e-6


def test_global_fallback_styles_a_class_missing_from_the_reference_like_the_whole_reference():
    reference = features_of([(1, 0, 0), (0, 1, 0)], np.zeros((16, 16), np.int64))  # reference: class 0 only
    ref_masks = torch.stack([torch.ones(16, 16), torch.zeros(16, 16)])
    target = losses.StyleTarget(reference, ref_masks, fallback="global")
    like_reference = features_of([(1, 0, 0), (1, 0, 0)], LABELS)  # class 1 looks like the whole reference
    unlike = features_of([(1, 0, 0), (-5, 2, 0)], LABELS)
    assert float(target.loss(like_reference, FRAME)) < 1e-3  # only the texture noise differs
    assert float(target.loss(unlike, FRAME)) > 100 * float(target.loss(like_reference, FRAME))
    with pytest.raises(ValueError, match="segmentation.fallback"):
        losses.StyleTarget(reference, ref_masks, fallback="nearest")


def test_gram_over_class_supports_equals_the_mask_weighted_gram():
    rng = np.random.default_rng(3)
    features = torch.from_numpy(rng.normal(size=(1, 5, 12, 10)).astype(np.float32))
    labels = np.repeat(np.arange(24)[:, None] // 9, 20, axis=1)  # three bands
    labels[rng.random(labels.shape) < 0.02] = 0  # and a few stray pixels
    masks = torch.from_numpy(np.stack([labels == k for k in range(3)]).astype(np.float32))
    small = losses.ClassMasks(masks, 12, 10)  # soft masks: area-averaged to the layer's size
    soft = losses.layer_masks(masks, 12, 10).reshape(3, -1)
    flat = features.reshape(5, -1)
    expected = torch.stack([(flat * m) @ flat.T / (5 * m.sum()) for m in soft])
    torch.testing.assert_close(small.grams(features, [0, 1, 2]), expected, rtol=1e-5, atol=1e-6)
    assert len(small.index) < 1.5 * flat.shape[1]  # products run over the class supports only


def test_photorealism_loss_is_the_quadratic_form_with_gradient_two_m_v(photo):
    frame = np.ascontiguousarray(photo[:12, :16])
    laplacian = MattingLaplacian(matting_coefficients(frame, 1e-7, 1), torch.device("cpu"))
    units = torch.eye(12 * 16).reshape(-1, 12, 16)
    matrix = laplacian(units).reshape(12 * 16, 12 * 16).double().numpy()
    rng = np.random.default_rng(0)
    image = torch.from_numpy(rng.uniform(size=(1, 3, 12, 16)).astype(np.float32)).requires_grad_(True)
    loss = losses.photorealism_loss(image, laplacian)
    loss.backward()
    values = image.detach()[0].reshape(3, -1).double().numpy()  # channel × pixel
    n = 12 * 16
    np.testing.assert_allclose(float(loss.detach()), (values * (values @ matrix)).sum() / n, rtol=1e-4)
    np.testing.assert_allclose(image.grad[0].reshape(3, -1).numpy(), 2 * values @ matrix / n, rtol=1e-3, atol=1e-6)


def test_temporal_loss_ignores_pixels_with_zero_weight():
    image = torch.zeros(1, 3, 4, 4)
    previous = torch.zeros(1, 3, 4, 4)
    previous[..., :2] = 1.0  # differs on the left half
    left_zero = torch.ones(1, 1, 4, 4)
    left_zero[..., :2] = 0
    assert float(losses.temporal_loss(image, [previous], [left_zero])) == 0
    assert float(losses.temporal_loss(image, [previous], [torch.ones(1, 1, 4, 4)])) == 0.5


@pytest.mark.parametrize("size", [(12, 10), (24, 20)])  # soft masks with overlapping supports; hard masks
@pytest.mark.parametrize("kept", [(0, 1, 2), (0, 2)])  # (0, 2): the middle third of the pixels is in no class
def test_gram_gradient_equals_autograd_of_the_plain_product(size, kept):
    rng = np.random.default_rng(4)
    labels = np.repeat(np.arange(24)[:, None] // 9, 20, axis=1)
    masks = torch.from_numpy(np.stack([labels == k for k in kept]).astype(np.float32))
    small = losses.ClassMasks(masks, *size)
    assert (len(small.repeats) > 0) == (size == (12, 10) and kept == (0, 1, 2))  # soft edges in two supports
    assert (small.first == len(small.index)).any() == (kept == (0, 2))  # pixels in no support
    features = torch.from_numpy(rng.normal(size=(1, 5, *size)).astype(np.float32)).requires_grad_(True)
    (small.grams(features, [0, len(kept) - 1]) ** 2).sum().backward()
    ours = features.grad.clone()
    features.grad = None
    soft = losses.layer_masks(masks, *size).reshape(len(kept), -1)
    flat = features.reshape(5, -1)
    plain = torch.stack([(flat * soft[k]) @ flat.T / (5 * soft[k].sum()) for k in (0, len(kept) - 1)])
    (plain**2).sum().backward()
    torch.testing.assert_close(ours, features.grad, rtol=1e-4, atol=1e-6)
