import numpy as np
import torch
import torchvision

from photostyle.matting import matting_laplacian
from photostyle.stylize import Objective, Previous, Settings, initial_image, stylize_frame, to_tensor
from photostyle.vgg import VGGFeatures


def test_stylisation_lowers_the_total_loss(photo):
    torch.manual_seed(0)
    content = photo[96:144, 96:160].copy()
    style = np.ascontiguousarray(photo[:64, :64, ::-1])  # a differently coloured patch
    labels = np.zeros(content.shape[:2], np.uint8)
    labels[24:] = 1
    style_labels = np.zeros(style.shape[:2], np.uint8)
    style_labels[32:] = 1
    settings = Settings(iterations=15, style_layers=("relu1_1", "relu2_1", "relu3_1"), content_layers=("relu3_1",))
    extractor = VGGFeatures(torchvision.models.vgg19(weights=None).features, ["relu1_1", "relu2_1", "relu3_1"])
    previous = [Previous(np.full(content.shape, 0.5, np.float32), np.ones(content.shape[:2], np.float32))]
    device = torch.device("cpu")
    objective = Objective(
        extractor, content, style, labels, style_labels, matting_laplacian(content / 255.0), previous, settings, device
    )
    init = initial_image(content, None, None)
    with torch.no_grad():
        start = {k: float(v) for k, v in objective.terms(to_tensor(init, device)).items()}
    result = stylize_frame(objective, init, device)
    assert set(start) == {"content", "style", "photorealism", "temporal"}
    assert start["content"] == 0 and start["style"] > 0
    assert result.history[-1]["total"] < 0.7 * sum(start.values())
    assert result.image.shape == content.shape and result.image.dtype == np.uint8


def test_initial_image_takes_warped_output_where_reliable():
    content = np.zeros((2, 2, 3), np.uint8)
    warped = np.ones((2, 2, 3), np.float32)
    reliable = np.array([[1, 0], [0, 1]], np.float32)
    init = initial_image(content, warped, reliable)
    np.testing.assert_array_equal(init[..., 0], reliable)
