"""The workflow's configuration outside Snakemake: the schema's defaults, and dotted-key changes.

``workflow/schemas/config.schema.yaml`` is the one home of every default. The Snakefile validates
``config/config.yaml`` against it (filling what a config leaves out); ``photostyle run``, the
benchmarks and the tests that stylise outside the workflow start from ``defaults()`` here, so that
they run with exactly the settings of a run.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from pathlib import Path

import yaml

from photostyle.paths import SCHEMAS, workflow_root


def schema_file(name: str = "config") -> Path:
    """A schema of the workflow: the configuration's (with every default), or ``runs``, a sample sheet's row."""
    return workflow_root() / SCHEMAS / f"{name}.schema.yaml"


@functools.cache
def schema(name: str = "config") -> dict:
    """A schema, parsed once per process."""
    return yaml.safe_load(schema_file(name).read_text())


@functools.cache
def _defaults() -> dict:
    from snakemake.utils import validate

    config: dict = {}
    validate(config, str(schema_file()), set_default=True)
    return config


def defaults() -> dict:
    """A fresh copy of the configuration with every key at the schema's default."""
    return copy.deepcopy(_defaults())


def complete(config: dict) -> dict:
    """``config`` with the keys it leaves out at the schema's defaults, validated (in place; returned)."""
    from snakemake.utils import validate

    validate(config, str(schema_file()), set_default=True)
    return config


def assign(config: dict, path: list[str], value: object) -> None:
    """Set ``config[a][b]…`` along the key path, creating the sections it lacks."""
    node = config
    for part in path[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[path[-1]] = value


def changed(changes: Mapping[str, object], base: dict | None = None) -> dict:
    """A copy of ``base`` (default: the defaults) with each dotted key (``"stylize.weights.style"``)
    set to its value, then completed and validated against the schema."""
    config = copy.deepcopy(base) if base is not None else defaults()
    for key, value in changes.items():
        assign(config, key.split("."), value)
    return complete(config)
