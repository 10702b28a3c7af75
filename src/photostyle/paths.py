"""Where the workflow's files are: ``workflow/`` (the Snakefile, rules, scripts,
schemas, conda environment) and ``profiles/``.

``workflow_root()`` is their one owner; everything else (``photostyle run``, the config schema of
``photostyle.config``, the tests) asks it. In a source checkout, and so with the editable install of
``make`` (``pip install -e .``), the root is the repository itself. A plain ``pip install .`` (or a
wheel) installs copies of these files beside the package's prefix, as ``<prefix>/share/photostyle/``
(``[tool.setuptools.data-files]`` of pyproject.toml); they are found through the installed
distribution's file list (its RECORD), which holds for a virtual environment, ``--prefix`` and
``--user``, and beside the packages for ``pip install --target DIR`` (``DIR/share/photostyle``).
"""

from __future__ import annotations

import functools
import importlib.metadata
import sys
from pathlib import Path

SHARE = Path("share", "photostyle")  # where pip installs the data files, relative to the installation's prefix
SNAKEFILE = Path("workflow", "Snakefile")  # relative to the root, where the workflow catalog and snakedeploy look
SCHEMAS = Path("workflow", "schemas")  # the config's and the sample sheet's JSON schemas
DEFAULT_PROFILE = Path("workflow", "profiles", "default")  # the workflow profile: Snakemake applies it by itself


@functools.cache
def workflow_root() -> Path:
    """The folder that holds ``workflow/Snakefile`` and the workflow's other files; FileNotFoundError if there is
    none."""
    checkout = source_checkout()
    candidates = ([checkout] if checkout else []) + installed_roots()
    for root in candidates:
        if (root / SNAKEFILE).is_file():
            return root
    places = ", ".join(str(path) for path in dict.fromkeys(candidates))
    raise FileNotFoundError(
        f"photostyle's workflow files (Snakefile, workflow/, profiles/…) are neither in a source checkout nor "
        f"installed with the package: looked in {places}; reinstall photostyle (pip install .)"
    )


def source_checkout() -> Path | None:
    """The repository, when the package is imported from its ``src/photostyle`` folder (a checkout or an
    editable install)."""
    package = Path(__file__).resolve().parent
    return package.parents[1] if package.parent.name == "src" else None


def installed_roots() -> list[Path]:
    """Where an installation of the package may have put the workflow files, most likely first."""
    try:
        files = importlib.metadata.distribution("photostyle").files or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    recorded = [
        Path(file.locate()).parents[len(SNAKEFILE.parts) - 1].resolve()
        for file in files
        if Path(file).parts[-4:] == SHARE.parts + SNAKEFILE.parts
    ]
    beside_packages = Path(__file__).resolve().parents[1] / SHARE  # pip install --target DIR: DIR/share/photostyle
    return [*recorded, beside_packages, Path(sys.prefix) / SHARE]
