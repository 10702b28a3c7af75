"""VGG-19 feature extractor with the weight-loading rules of the workflow.

Weights come from ``models.vgg19.path`` when set; otherwise from torchvision's official URL
(with torch.hub's hash check, cached under ``$TORCH_HOME``); otherwise the run fails with an
error naming ``models.vgg19.path``. Seeded random weights are used only when the config says
``models.allow_random_weights: true`` and no path is set, and that is reported loudly.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch
from torch import nn

from photostyle.errors import InputError
from photostyle.weights import load_state_dict

log = logging.getLogger(__name__)

# torchvision.models.VGG19_Weights.IMAGENET1K_V1; torch.hub checks the sha256 prefix in the name.
VGG19_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
_BLOCKS = (2, 2, 4, 4, 4)  # convolutions per block
_CHANNELS = (64, 128, 256, 512, 512)  # their output channels
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def layer_names() -> list[str]:
    """Names of the modules of ``torchvision.models.vgg19().features`` (conv1_1, relu1_1, …, pool5)."""
    names = []
    for block, convs in enumerate(_BLOCKS, start=1):
        for conv in range(1, convs + 1):
            names += [f"conv{block}_{conv}", f"relu{block}_{conv}"]
        names.append(f"pool{block}")
    return names


@dataclass(frozen=True)
class LoadedWeights:
    """The feature layers of VGG-19 and a description of where their weights came from."""

    features: nn.Sequential
    source: str
    random: bool


def load_vgg19(path: str | None, allow_random: bool, sha256: str | None = None, seed: int = 0) -> LoadedWeights:
    """VGG-19 feature layers with weights chosen by the rules in the module docstring."""
    if not path and allow_random:
        torch.manual_seed(seed)
        log.warning(
            "!!! RANDOM VGG-19 WEIGHTS (models.allow_random_weights: true, seed %d): the result is a demo of "
            "the pipeline, not a faithful style transfer. Set models.vgg19.path for real weights. !!!",
            seed,
        )
        return LoadedWeights(vgg19_features(), f"RANDOM (seed {seed})", random=True)
    state, source = load_state_dict("models.vgg19", VGG19_URL, path, sha256)
    features = vgg19_features()
    try:
        features.load_state_dict(_feature_state(state))
    except (RuntimeError, KeyError, ValueError) as exc:
        raise InputError(f"models.vgg19.path: {source} is not a VGG-19 state dict: {exc}") from exc
    return LoadedWeights(features, source, random=False)


def vgg19_features() -> nn.Sequential:
    """The convolutional part of torchvision's VGG-19 (same modules, indices and random initialisation).

    Built here rather than by ``torchvision.models.vgg``: importing torchvision costs 2.6 s per
    stylisation job (its ops import torch._dynamo), and building only the features skips the
    120M-parameter classifier, whose random initialisation alone costs seconds. tests/test_vgg.py
    checks that it equals ``torchvision.models.vgg19().features``.
    """
    layers: list[nn.Module] = []
    channels = 3
    for convs, width in zip(_BLOCKS, _CHANNELS, strict=True):
        for _ in range(convs):
            layers += [nn.Conv2d(channels, width, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            channels = width
        layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    features = nn.Sequential(*layers)
    for module in features.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(module.bias)
    return features


def _feature_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Accept a full torchvision VGG-19 state dict or one of its ``features`` alone."""
    if any(key.startswith("features.") for key in state):
        return {key.removeprefix("features."): value for key, value in state.items() if key.startswith("features.")}
    return state


class VGGFeatures(nn.Module):
    """Activations of named VGG-19 layers for RGB images in [0, 1], truncated at the last one needed."""

    def __init__(self, features: nn.Sequential, layers: list[str]):
        super().__init__()
        names = layer_names()
        unknown = sorted(set(layers) - set(names))
        if unknown:
            raise InputError(f"stylize: unknown VGG-19 layer(s) {unknown}; valid names are {names}")
        last = max(names.index(layer) for layer in layers)
        # torchvision's ReLUs are in place: safe, as no layer's backward needs the convolution output they
        # overwrite, and the activations kept for the losses are ReLU outputs, which nothing modifies.
        # channels-last: oneDNN's convolutions run faster on it, and each pixel's features are one
        # contiguous row for the per-class Gram matrices (losses.ClassMasks).
        self.body = nn.Sequential(*list(features)[: last + 1]).eval().to(memory_format=torch.channels_last)
        self.wanted = {names.index(layer): layer for layer in layers}
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        for param in self.parameters():
            param.requires_grad_(False)

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        x = ((image - self.mean) / self.std).contiguous(memory_format=torch.channels_last)
        out = {}
        for index, module in enumerate(self.body):
            x = module(x)
            if index in self.wanted:
                out[self.wanted[index]] = x
        return out


def weights_from_config(models: dict) -> LoadedWeights:
    """Load VGG-19 following the ``models`` section of the config."""
    vgg = models["vgg19"]
    path = os.path.expanduser(vgg["path"]) if vgg.get("path") else None
    return load_vgg19(path, models["allow_random_weights"], vgg.get("sha256"), models.get("random_seed", 0))
