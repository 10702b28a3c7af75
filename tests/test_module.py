"""photostyle used as a Snakemake module from another workflow (``module`` + ``use rule *``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SNAKEFILE, demo_config, demo_project

from photostyle.images import read_rgb

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def test_workflow_runs_as_a_module_of_another_workflow(tmp_path):
    config = demo_config()
    config |= {"input": {"size": 48, "last_frame": 3}, "stylize": {"iterations": 2}}
    demo_project(tmp_path, config)
    (tmp_path / "Snakefile").write_text(
        'configfile: "config/config.yaml"\n\n\n'
        f'module photostyle:\n    snakefile:\n        "{SNAKEFILE}"\n    config:\n        config\n\n\n'
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
