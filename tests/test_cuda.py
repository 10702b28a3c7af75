"""The CUDA path (``device: cuda``): the same code on a GPU gives what it gives on the CPU.

Skipped where torch sees no GPU (CI); run on a GPU machine with
``python -m pytest tests/test_cuda.py`` (figures of the last run in benchmarks/README.md).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision

from photostyle.device import resolve_device
from photostyle.flow import compute_flow
from photostyle.frame_inputs import FrameInputs, Previous
from photostyle.matting import MattingLaplacian, matting_coefficients
from photostyle.stylize import Objective, Settings, stylize, to_tensor
from photostyle.vgg import VGGFeatures

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU visible to torch")
CPU, CUDA = torch.device("cpu"), torch.device("cuda")


def test_auto_picks_the_gpu():
    assert resolve_device("auto").type == "cuda"


def test_laplacian_product_on_the_gpu_equals_the_cpu(photo):
    coefficients = matting_coefficients(np.ascontiguousarray(photo[:100, :120]), 1e-7, 1)
    values = torch.rand(3, 100, 120)
    on_cpu = MattingLaplacian(coefficients, CPU)(values)
    on_gpu = MattingLaplacian(coefficients, CUDA)(values.to(CUDA)).cpu()
    torch.testing.assert_close(on_gpu, on_cpu, rtol=1e-4, atol=1e-4)


def test_objective_and_stylisation_on_the_gpu(photo):
    torch.manual_seed(0)
    features = torchvision.models.vgg19(weights=None).features
    layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2"]
    content = np.ascontiguousarray(photo[64:160, 64:192])
    style = np.ascontiguousarray(photo[:96, :128, ::-1])
    labels = (np.arange(96)[:, None] // 48 * np.ones((1, 128))).astype(np.uint8)
    previous = [Previous(np.full(content.shape, 0.5, np.float32), np.ones(content.shape[:2], np.float32))]
    inputs = FrameInputs(content, style, labels, labels, matting_coefficients(content, 1e-7, 1), previous)
    settings = Settings.defaults(
        iterations=20, style_layers=tuple(layers[:4]), content_layers=("relu4_2",), init="frame", local_affine=None
    )
    terms = {}
    for device in (CPU, CUDA):
        extractor = VGGFeatures(features, layers).to(device)
        objective = Objective(extractor, inputs, settings, device)
        with torch.no_grad():
            terms[device.type] = {k: float(v) for k, v in objective.terms(to_tensor(style[:, :, ::-1], device)).items()}
    for name, value in terms["cpu"].items():
        assert terms["cuda"][name] == pytest.approx(value, rel=2e-3, abs=1e-6), name
    result = stylize(VGGFeatures(features, layers).to(CUDA), inputs, settings, CUDA)
    assert result.history[-1]["total"] < 0.7 * result.history[0]["total"]
    assert result.image.shape == content.shape


def test_raft_runs_on_the_gpu(photo, raft_weights):
    models = {"raft": {"path": str(raft_weights)}}
    moved = np.ascontiguousarray(np.roll(photo, 5, axis=1))
    flow = compute_flow(moved, photo, "raft", raft_model="small", models=models, device="cuda")
    assert flow.shape == (*photo.shape[:2], 2) and flow.dtype == np.float32 and np.isfinite(flow).all()


def test_scene_parsing_on_the_gpu(model_folder, photo):
    from photostyle.scene_parsing import load_parser
    from tests.test_segmentation import SETTINGS

    settings = {**SETTINGS, "model": str(model_folder), "size": 96}
    on_cpu = load_parser(settings, "cpu").group_probabilities(photo[:75, :101], 96)
    on_gpu = load_parser(settings, "cuda").group_probabilities(photo[:75, :101], 96)
    np.testing.assert_allclose(on_gpu, on_cpu, atol=1e-3)


def test_delivery_on_the_gpu_equals_the_cpu(photo):
    """The maps resized by torch on the GPU (OpenCV on the CPU) and applied there: within a grey level."""
    import cv2

    from photostyle.delivery import apply_at, fit_maps

    frame = cv2.resize(photo, (64, 64), interpolation=cv2.INTER_AREA)
    output = np.clip(frame.astype(np.float32) * [1.1, 0.9, 0.7] + 10, 0, 255).astype(np.uint8)
    maps = fit_maps(frame, output, 2, 1e-4)
    on_cpu, on_gpu = apply_at(maps, photo, CPU).astype(int), apply_at(maps, photo, CUDA).astype(int)
    assert np.abs(on_gpu - on_cpu).max() <= 1 and np.abs(on_gpu - on_cpu).mean() < 0.05
