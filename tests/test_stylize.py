from dataclasses import replace

import cv2
import numpy as np
import pytest
import torch
import torchvision

from photostyle import colour
from photostyle.config import changed
from photostyle.flow import warp
from photostyle.frame_inputs import FrameInputs, Previous
from photostyle.matting import matting_coefficients
from photostyle.metrics import affine_residual
from photostyle.stylize import Objective, Settings, initial_image, stylize, to_tensor
from photostyle.vgg import VGGFeatures

CPU = torch.device("cpu")
LAYERS = ("relu1_1", "relu2_1", "relu3_1")
# γ = 200: a temporal term that does not dwarf the others against this grey previous output, so that L-BFGS
# never restarts and every iteration is one evaluation
SETTINGS = Settings.defaults(
    weights={"style": 10.0, "temporal": 200.0},
    iterations=15,
    style_layers=LAYERS,
    content_layers=("relu3_1",),
    init="frame",
    local_affine=None,
)


@pytest.fixture(scope="module")
def extractor() -> VGGFeatures:
    torch.manual_seed(0)
    return VGGFeatures(torchvision.models.vgg19(weights=None).features, list(LAYERS))


@pytest.fixture(scope="module")
def inputs(photo) -> FrameInputs:
    content = photo[96:144, 96:160].copy()
    style = np.ascontiguousarray(photo[:64, :64, ::-1])  # a differently coloured patch
    labels = np.zeros(content.shape[:2], np.uint8)
    labels[24:] = 1
    style_labels = np.zeros(style.shape[:2], np.uint8)
    style_labels[32:] = 1
    previous = [Previous(np.full(content.shape, 0.5, np.float32), np.ones(content.shape[:2], np.float32))]
    return FrameInputs(content, style, labels, style_labels, matting_coefficients(content, 1e-7, 1), previous)


def test_stylisation_lowers_the_total_loss(extractor, inputs):
    objective = Objective(extractor, inputs, SETTINGS, CPU)
    with torch.no_grad():
        start = {k: float(v) for k, v in objective.terms(to_tensor(inputs.content, CPU)).items()}
    result = stylize(extractor, inputs, replace(SETTINGS, tolerance=0.0), CPU)
    assert set(start) == {"content", "style", "photorealism", "temporal"}
    assert start["content"] == 0 and start["style"] > 0
    assert result.history[-1]["total"] < 0.7 * sum(start.values())
    assert len(result.history) == 15  # no line search: one evaluation per iteration, all of them with tolerance 0
    assert result.image.shape == inputs.content.shape and result.image.dtype == np.uint8


def test_stops_once_the_loss_no_longer_falls(extractor, inputs):
    capped = stylize(extractor, inputs, replace(SETTINGS, iterations=200, tolerance=0.0), CPU)
    stopped = stylize(extractor, inputs, replace(SETTINGS, iterations=200, tolerance=1e-2, window=5), CPU)
    assert len(capped.history) == 200
    totals = [h["total"] for h in stopped.history]
    assert 5 < len(totals) < 200
    assert totals[-6] - totals[-1] < 1e-2 * totals[-1]  # the rule that stopped it
    assert all(totals[n - 5] - totals[n] >= 1e-2 * totals[n] for n in range(5, len(totals) - 1))  # and not before
    assert totals[-1] < 1.1 * capped.history[-1]["total"]


def test_a_cold_start_runs_coarse_to_fine(extractor, inputs):
    cold = replace(inputs, previous=[])
    result = stylize(extractor, cold, replace(SETTINGS, iterations=5, tolerance=0.0, coarse_scales=(0.5,)), CPU)
    assert [h["scale"] for h in result.history] == [0.5] * 5 + [1.0] * 5
    seconds = [h["seconds"] for h in result.history]
    assert seconds == sorted(seconds)
    assert result.image.shape == inputs.content.shape


def test_warm_start_takes_the_warped_output_where_reliable_and_the_colour_map_elsewhere(photo):
    frame = np.ascontiguousarray(photo[:32, :48])
    labels = np.zeros(frame.shape[:2], np.uint8)
    matrix = np.array([[0.7, 0.2, 0.0], [0.0, 0.9, 0.1], [0.1, 0.0, 0.6]], np.float32)
    styled = np.clip(frame / 255.0 @ matrix.T + 0.1, 0, 1).astype(np.float32)  # what the previous output looked like
    reliable = np.ones(frame.shape[:2], np.float32)
    reliable[:, 40:] = 0  # disoccluded on the right
    warped = styled.copy()
    warped[:, 40:] = 0.5  # nothing sensible was warped there
    inputs = FrameInputs(
        frame, frame, labels, labels, matting_coefficients(frame, 1e-7, 1), [Previous(warped, reliable)], reliable
    )
    filled = initial_image(inputs, replace(SETTINGS, fill="colour_map"))
    raw = initial_image(inputs, replace(SETTINGS, fill="frame"))
    np.testing.assert_allclose(filled[:, :40], styled[:, :40])
    np.testing.assert_allclose(raw[:, 40:], frame[:, 40:] / 255.0, atol=1e-6)
    fit = styled[:, 40:][styled[:, 40:] < 1]  # where the affine map did not clip
    assert np.abs(filled[:, 40:][styled[:, 40:] < 1] - fit).max() < 0.02


def test_colour_transfer_gives_each_class_the_reference_statistics(photo):
    frame = (photo[:64, :64] * 0.5 + 60) / 255.0  # mid-tones: the transferred colours stay in the RGB gamut
    reference = np.ascontiguousarray(photo[64:128, 64:128, ::-1] * 0.4 + 90).astype(np.uint8)
    labels = np.zeros((64, 64), np.uint8)
    labels[32:] = 1
    out = colour.transfer_statistics(frame.astype(np.float32), labels, reference, labels)
    for k in (0, 1):
        got = colour._lab(out)[labels == k]
        want = colour._lab(reference / 255.0)[labels == k]
        np.testing.assert_allclose(got.mean(axis=0), want.mean(axis=0), atol=0.5)  # Lab units
        np.testing.assert_allclose(got.std(axis=0), want.std(axis=0), rtol=0.05)


def test_local_affine_post_process_makes_the_output_more_photographic(photo):
    frame = photo[:64, :96] / 255.0
    rng = np.random.default_rng(0)
    output = np.clip(frame @ np.diag([0.8, 0.9, 0.6]) + 0.1 + rng.normal(0, 0.03, frame.shape), 0, 1)
    smoothed = colour.local_affine(frame, output, radius=2, eps=1e-4)
    assert affine_residual(frame, smoothed) < 0.5 * affine_residual(frame, output)
    assert np.abs(smoothed - output).mean() < 0.05  # the colours stay the output's


def test_local_affine_post_process_keeps_a_locally_affine_recolouring_sharp(photo):
    frame = photo[:64, :96] / 255.0
    recoloured = np.clip(frame[:, :, ::-1] * 0.7 + 0.15, 0, 1)  # channels swapped, contrast lowered: affine
    smoothed = colour.local_affine(frame, recoloured, radius=2, eps=1e-6)
    assert np.abs(smoothed - recoloured).mean() * 255 < 1.0  # grey levels: kept, not blurred
    assert np.abs(cv2.blur(recoloured, (5, 5)) - recoloured).mean() * 255 > 3.0  # a blur would be far off


def test_the_post_process_refits_the_optimised_frame_in_a_window_that_follows_the_frame_size(extractor, inputs):
    result = stylize(extractor, inputs, replace(SETTINGS, iterations=3, local_affine=(0.1, 1e-4)), CPU)
    frame, optimised = inputs.content / 255.0, result.optimised / 255.0
    radius = round(0.1 * max(frame.shape[:2]))  # 6 px on this 48×64 frame
    refit = np.rint(255 * colour.local_affine(frame, optimised, radius, 1e-4))
    narrow = np.rint(255 * colour.local_affine(frame, optimised, 2, 1e-4))
    assert np.abs(result.image - refit).max() <= 1  # rounding of the optimised frame
    assert np.abs(result.image - narrow).mean() > 0.5  # a fixed 2 px window would have been another picture
    assert np.abs(result.image.astype(float) - result.optimised).mean() > 0.5


def test_earlier_outputs_keep_their_texture_along_a_chain_of_warps(photo):
    output = photo[:64, :96]
    still = np.zeros((64, 96, 2), np.float32)
    assert np.array_equal(np.round(Previous.of(output, still, None).warped * 255), output)  # no motion: unchanged
    half = np.full((64, 96, 2), 0.5, np.float32)  # half a pixel: the worst case for interpolation
    cubic, bilinear = output, output.astype(np.float32)
    for step in range(8):  # 8 frames moving half a pixel right, then left, then right…
        flow = half if step % 2 == 0 else -half
        cubic = np.round(Previous.of(cubic, flow, None).warped * 255).astype(np.uint8)
        bilinear = warp(bilinear, flow)

    def detail(image: np.ndarray) -> float:
        return float(cv2.Laplacian(image.astype(np.float32), cv2.CV_32F)[8:-8, 8:-8].std())

    assert detail(cubic) > 0.6 * detail(output)  # the texture survives the chain
    assert detail(bilinear) < 0.3 * detail(output)  # where a bilinear chain washes it out


def test_a_clip_is_stylised_in_order_each_frame_tied_to_the_previous(extractor, photo):
    from photostyle.sequence import frame_inputs, prepare, stylize_clip

    frames = [np.ascontiguousarray(photo[40 + 2 * t : 88 + 2 * t, 40:104]) for t in range(3)]  # a slow pan
    clip = prepare(frames, np.ascontiguousarray(photo[:48, :64, ::-1]), changed({"temporal.offsets": [1, 2]}))
    settings = replace(SETTINGS, iterations=3, local_affine=(0.1, 1e-4))
    results = stylize_clip(extractor, clip, CPU, settings)
    assert [r.image.shape for r in results] == [f.shape for f in frames]
    assert "temporal" not in results[0].history[0] and "temporal" in results[2].history[0]
    previous = frame_inputs(clip, 2, results).previous
    assert len(previous) == 2
    # tied to what the optimiser made, not to the post-processed frames: a refit fed back would compound
    for earlier, k in zip(previous, (1, 0), strict=True):  # frames i - 1, i - 2
        assert not np.array_equal(results[k].optimised, results[k].image)
        expected = Previous.of(results[k].optimised, clip.backward[2, k], earlier.weight)
        np.testing.assert_array_equal(earlier.warped, expected.warped)
