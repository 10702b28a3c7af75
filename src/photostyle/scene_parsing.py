"""ADE20K scene parsing through ``transformers``, summed into the label groups of the config.

``segmentation.model`` is a Hugging Face hub id or a local folder holding a SegFormer,
UperNet, Mask2Former or OneFormer checkpoint (``config.json``, its weights and the image
processor's ``preprocessor_config.json``); ``segmentation.revision`` pins the hub revision. The
150 class names come from the model's ``id2label``; each belongs to the group that lists it in
``segmentation.groups``, else to ``segmentation.default_group``.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from photostyle.device import resolve_device
from photostyle.errors import InputError
from photostyle.segmentation import class_groups

log = logging.getLogger(__name__)

WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


def check_model_source(settings: dict) -> None:
    """Start-up check: a local model folder must hold a config and weights (a hub id is checked when loaded)."""
    source = Path(settings["model"]).expanduser()
    looks_local = source.exists() or settings["model"].startswith((".", "/", "~")) or settings["model"].count("/") > 1
    if not looks_local:
        return
    if not source.is_dir():
        raise InputError(f"segmentation.model: folder {source} does not exist")
    if not (source / "config.json").is_file() or not any((source / name).is_file() for name in WEIGHT_FILES):
        raise InputError(
            f"segmentation.model: folder {source} lacks config.json or weights ({', '.join(WEIGHT_FILES)}); "
            "save a model there with save_pretrained()"
        )


@dataclass
class SceneParser:
    """A loaded scene-parsing network, its image processor and its class → group matrix."""

    model: torch.nn.Module
    processor: object
    groups: torch.Tensor  # classes × groups, 0/1
    device: torch.device

    def group_probabilities(self, frame: np.ndarray, size: int) -> np.ndarray:
        """Probability of each group at each pixel (G×H×W float32) of an H×W×3 uint8 RGB frame.

        The frame is resized so that its longest side is ``size`` (aspect kept), parsed, and the
        class probabilities are brought back to the frame's size and summed per group.
        """
        h, w = frame.shape[:2]
        scale = size / max(h, w)
        small = cv2.resize(frame, (max(round(w * scale), 1), max(round(h * scale), 1)), interpolation=cv2.INTER_AREA)
        task = {"task_inputs": ["semantic"]} if "OneFormer" in type(self.processor).__name__ else {}
        inputs = self.processor(images=small, return_tensors="pt", do_resize=False, **task)
        inputs = {key: value.to(self.device) if torch.is_tensor(value) else value for key, value in inputs.items()}
        with torch.inference_mode():
            outputs = self.model(**inputs)
            probabilities = _class_probabilities(outputs, small.shape[:2])
            probabilities = torch.nn.functional.interpolate(probabilities[None], size=(h, w), mode="bilinear")[0]
            grouped = torch.einsum("chw,cg->ghw", probabilities, self.groups)
        return grouped.cpu().numpy().astype(np.float32)


# What a checkpoint needs from a hub repository (not the TensorFlow/Flax copies many also hold).
HUB_FILES = ["*.json", "*.safetensors", "pytorch_model*.bin", "*.txt"]


def local_copy(model: str, revision: str) -> Path:
    """A folder holding the model: itself when local, else the hub cache (downloaded when missing).

    The cache is tried first and the hub once: without network a missing model fails in a
    fraction of a second with the key named, instead of transformers' minutes of retries.
    """
    folder = Path(model).expanduser()
    if folder.is_dir():
        return folder
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(model, revision=revision, local_files_only=True))
    except Exception:  # not cached: fetch it below
        pass
    try:
        return Path(snapshot_download(model, revision=revision, allow_patterns=HUB_FILES))
    except Exception as exc:  # offline, unknown id or revision, no access
        raise InputError(
            f"segmentation.model: cannot load {model!r} (revision {revision}): it is not in the Hugging Face cache "
            f"and the hub could not be reached or has no such model ({type(exc).__name__}: {str(exc)[:200]}). "
            "Give a hub id that is reachable or cached, or a local folder written by save_pretrained()"
        ) from exc


@functools.lru_cache(maxsize=1)
def _load(model: str, revision: str, device: str):
    from transformers import AutoImageProcessor, AutoModelForSemanticSegmentation, AutoModelForUniversalSegmentation

    folder = local_copy(model, revision)
    try:
        processor = AutoImageProcessor.from_pretrained(folder)
        try:
            network = AutoModelForSemanticSegmentation.from_pretrained(folder)
        except ValueError:  # Mask2Former, OneFormer: universal segmentation heads
            network = AutoModelForUniversalSegmentation.from_pretrained(folder)
    except (OSError, ValueError) as exc:
        raise InputError(f"segmentation.model: {model!r} ({folder}) is not a scene-parsing checkpoint: {exc}") from exc
    return network.eval().to(device), processor


def load_parser(settings: dict, device: str) -> SceneParser:
    """The network of ``segmentation.model`` on ``device`` (loaded once per process)."""
    target = resolve_device(device)
    network, processor = _load(settings["model"], settings["revision"], str(target))
    owner = class_groups(network.config.id2label, settings)
    groups = torch.zeros(len(owner), len(settings["groups"]), device=target)
    groups[torch.arange(len(owner)), torch.from_numpy(owner)] = 1.0
    log.info("scene parsing: %s (%s) on %s", settings["model"], type(network).__name__, target)
    return SceneParser(network, processor, groups, target)


def _class_probabilities(outputs, size: tuple[int, int]) -> torch.Tensor:
    """Per-class probabilities (C×h×w) from per-pixel logits (SegFormer, UperNet) or from mask
    queries (Mask2Former, OneFormer: class probabilities × mask probabilities, normalised)."""
    if getattr(outputs, "logits", None) is not None:
        logits = torch.nn.functional.interpolate(outputs.logits, size=size, mode="bilinear")[0]
        return logits.softmax(dim=0)
    classes = outputs.class_queries_logits[0].softmax(dim=-1)[:, :-1]  # queries × C, without "no object"
    masks = torch.nn.functional.interpolate(outputs.masks_queries_logits, size=size, mode="bilinear")[0].sigmoid()
    scores = torch.einsum("qc,qhw->chw", classes, masks)
    return scores / scores.sum(dim=0, keepdim=True).clamp_min(1e-6)
