"""The package's modules import each other without a cycle, counting imports inside functions too;
Snakemake's start-up (config checks, weights file read) does not import torch."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "photostyle"


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The package modules that a module imports anywhere in its source (top level or in a function)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {name.split(".")[1] for name in names if name.startswith("photostyle.")} & modules
    return found - {path.stem}


def import_graph() -> dict[str, set[str]]:
    modules = {path.stem for path in PACKAGE.glob("*.py") if path.stem != "__init__"}
    return {name: imports_of(PACKAGE / f"{name}.py", modules) for name in modules}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the graph as a list of modules (first = last), or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node], _ = "open", path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node], _ = "done", path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle_and_only_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_imports_inside_functions_count(tmp_path):
    module = tmp_path / "lazy.py"
    module.write_text("def f():\n    from photostyle.flow import warp\n    import photostyle.cuts\n")
    assert imports_of(module, {"flow", "cuts", "vgg"}) == {"flow", "cuts"}


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    if len(graph) < 10:
        pytest.fail(f"only {len(graph)} modules found under {PACKAGE}")
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph))}"


def test_planning_the_demo_does_not_import_torch():
    """torch's import is about half of a dry run (2.5 s); on a cluster every job parses the workflow
    again. The shipped configs check HED's weights file at start-up, which needs h5py only."""
    command = [sys.executable, "-X", "importtime", "-m", "snakemake", "-n", "--nolock", "--cores", "1", "-q"]
    command += ["--configfile", "config/demo/config.yaml"]  # the demo's run (the user's sample sheet is empty)
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    imported = {
        line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time")
    }
    assert "photostyle.vgg_layout" in imported and "h5py" in imported  # the weights file was checked
    assert "torch" not in imported, "torch imported while planning: keep it out of the start-up checks"
