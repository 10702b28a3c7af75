import hashlib
import urllib.error

import pytest
import torch
import torchvision

from photostyle.errors import InputError
from photostyle.vgg import VGG19_URL, VGGFeatures, layer_names, load_vgg19, vgg19_features, weights_from_config


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    """A full torchvision VGG-19 state dict with random weights, saved like the official file."""
    torch.manual_seed(123)
    path = tmp_path_factory.mktemp("weights") / "vgg19-random.pth"
    torch.save(torchvision.models.vgg19(weights=None).state_dict(), path)
    return path


def test_local_file_is_loaded_through_the_real_path(weights_file):
    loaded = load_vgg19(str(weights_file), allow_random=False)
    expected = torch.load(weights_file, weights_only=True)["features.0.weight"]
    assert torch.equal(loaded.features[0].weight, expected)
    assert not loaded.random and str(weights_file) in loaded.source


def test_hash_checked_for_local_file(weights_file):
    digest = hashlib.sha256(weights_file.read_bytes()).hexdigest()
    assert not load_vgg19(str(weights_file), False, sha256=digest[:12]).random
    with pytest.raises(InputError, match="models.vgg19.sha256"):
        load_vgg19(str(weights_file), False, sha256="0123456789abcdef")


def test_missing_or_wrong_file_names_the_key(tmp_path):
    with pytest.raises(InputError, match="models.vgg19.path"):
        load_vgg19(str(tmp_path / "nope.pth"), allow_random=False)
    bad = tmp_path / "bad.pth"
    torch.save({"features.0.weight": torch.zeros(3)}, bad)
    with pytest.raises(InputError, match="models.vgg19.path"):
        load_vgg19(str(bad), allow_random=False)


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
    first = load_vgg19(None, allow_random=True, seed=3)
    second = load_vgg19(None, allow_random=True, seed=3)
    assert first.random and "RANDOM" in first.source
    assert torch.equal(first.features[0].weight, second.features[0].weight)
    assert "RANDOM VGG-19 WEIGHTS" in caplog.text


def test_features_are_torchvisions_vgg19_features_with_its_random_initialisation():
    assert str(vgg19_features()) == str(torchvision.models.vgg19(weights=None).features)
    torch.manual_seed(5)
    ours = vgg19_features().state_dict()
    torch.manual_seed(5)  # torchvision's layers, initialised as its VGG does (without drawing its classifier)
    theirs = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["E"])
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
