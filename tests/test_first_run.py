"""A user's first runs as the workflow catalog describes them: only a new row in the sample sheet runs
the user's settings (not the demo's), and the workflow runs from any working directory with a config
file given on the command line."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import DEMO_SHEET, REPO, SNAKEFILE

from photostyle.images import read_rgb, write_rgb

pytestmark = pytest.mark.slow


def snakemake(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE), "--cores", "2", *args]
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result


def test_a_new_row_in_the_sample_sheet_runs_the_users_settings(tmp_path):
    """config/ as shipped plus one row: frames at the schema's working size (512 px, not the demo's 192),
    no demo inputs generated, every frame planned with the default chain."""
    shutil.copytree(REPO / "config", tmp_path / "config")
    y, x = np.mgrid[0:360, 0:640]
    for i in range(3):
        frame = np.stack([(x + 7 * i) % 256, y % 256, (x + y) % 256], axis=-1).astype(np.uint8)
        write_rgb(tmp_path / "clip" / f"f{i}.png", frame)
    write_rgb(tmp_path / "style.png", np.full((200, 300, 3), (200, 120, 40), np.uint8))
    with open(tmp_path / "config" / "runs.tsv", "a") as sheet:
        sheet.write("mine\tclip\tstyle.png\t\t\n")
    plan = snakemake(tmp_path, "-n").stdout
    assert re.search(r"^stylize_frame\s+3$", plan, flags=re.M), plan
    snakemake(tmp_path, "results/mine/frames/frame_00001.png")
    assert read_rgb(tmp_path / "results" / "mine" / "frames" / "frame_00001.png").shape == (288, 512, 3)
    assert not (tmp_path / "resources").exists(), "the user's config generated the demo's inputs"


def test_the_workflow_runs_from_any_directory_with_a_config_file_given(tmp_path):
    """`snakemake --snakefile CHECKOUT/workflow/Snakefile --directory ELSEWHERE --configfile my.yaml` from a
    third folder, no config/config.yaml anywhere near: the tiny run of .test/ (HED's VGG-16 features,
    trained for edges, not ImageNet) delivers its video into ELSEWHERE."""
    caller, project = tmp_path / "caller", tmp_path / "project"
    caller.mkdir()
    project.mkdir()
    shutil.copy(DEMO_SHEET, project / "my_runs.tsv")
    config = yaml.safe_load((REPO / ".test" / "config" / "config.yaml").read_text()) | {"runs": "my_runs.tsv"}
    (tmp_path / "my.yaml").write_text(yaml.safe_dump(config))
    snakemake(caller, "results/demo/demo.mp4", "--directory", str(project), "--configfile", str(tmp_path / "my.yaml"))
    assert (project / "results" / "demo" / "demo.mp4").stat().st_size > 0
    assert (project / "resources" / "demo" / "rocket_pan.mp4").is_file()
    assert list(caller.iterdir()) == []
