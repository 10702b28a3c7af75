"""photostyle used as a Snakemake module from another workflow (``module`` + ``use rule *``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import demo_config

from photostyle.images import read_rgb

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def test_workflow_runs_as_a_module_of_another_workflow(tmp_path):
    (tmp_path / "config").mkdir()
    config = demo_config()
    config |= {"input": {"size": 48, "last_frame": 3}, "stylize": {"iterations": 2}}
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "config" / "runs.tsv").write_text((REPO / "config" / "runs.tsv").read_text())
    (tmp_path / "Snakefile").write_text(
        'configfile: "config/config.yaml"\n\n\n'
        f'module photostyle:\n    snakefile:\n        "{REPO / "Snakefile"}"\n    config:\n        config\n\n\n'
        "use rule * from photostyle as photostyle_*\n\n\n"
        "rule first_frame:  # a rule of the outer workflow using a product of the module\n"
        '    input:\n        "results/demo/stylized/frame_00001.png",\n'
        '    output:\n        "first.png",\n'
        '    shell:\n        "cp {input} {output}"\n'
    )
    command = [sys.executable, "-m", "snakemake", "--cores", "2", "photostyle_all", "first.png"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "photostyle_stylize_frame" in result.stdout + result.stderr
    assert (tmp_path / "results" / "demo" / "demo.mp4").stat().st_size > 0
    assert read_rgb(tmp_path / "first.png").shape == (30, 48, 3)
