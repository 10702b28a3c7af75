"""Bad input, one case per way a user can get it wrong. Each case runs Snakemake as a user would
and checks the exit status, that the message names the file or the config key, and that nothing
is left under a final output name (nor any temporary file)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import SNAKEFILE, mounted_tmpfs

from photostyle.config import schema_file
from photostyle.demo import ensure_demo_inputs
from photostyle.images import write_gray, write_rgb

REPO = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load(schema_file().read_text())
BASE_CONFIG = {
    "demo": False,
    "input": {"size": 48},
    "stylize": {"iterations": 2},
    "models": {"allow_random_weights": True},
}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_inputs(tmp_path_factory) -> tuple[Path, Path]:
    return ensure_demo_inputs(tmp_path_factory.mktemp("demo"))


@pytest.fixture
def workdir(tmp_path, demo_inputs) -> Path:
    """A valid user set-up: a video, a frames folder, a reference with its mask, a config."""
    clip, style = demo_inputs
    shutil.copy(clip, tmp_path / "clip.mp4")
    shutil.copy(style, tmp_path / "style.png")
    for n in range(4):
        write_rgb(tmp_path / "frames" / f"f{n:03d}.png", np.full((30, 40, 3), 40 * n, np.uint8))
        write_rgb(tmp_path / "masks" / f"m{n:03d}.png", np.zeros((30, 40, 3), np.uint8))
    mask = np.zeros((240, 360, 3), np.uint8)
    mask[120:] = 255
    write_rgb(tmp_path / "style_mask.png", mask)
    (tmp_path / "config").mkdir()
    sheet(tmp_path, "run\tvideo\tstyle\nmine\tclip.mp4\tstyle.png\n")
    configure(tmp_path)
    return tmp_path


def sheet(workdir: Path, text: str) -> None:
    (workdir / "config" / "runs.tsv").write_text(text)


def configure(workdir: Path, **changes) -> None:
    """Write config/config.yaml: the base config with dotted keys changed."""
    config = yaml.safe_load(yaml.safe_dump(BASE_CONFIG))
    for dotted, value in changes.items():
        *parents, key = dotted.split(".")
        node = config
        for parent in parents:
            node = node.setdefault(parent, {})
        node[key] = value
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))


def snakemake(workdir: Path, dry: bool) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE), "--cores", "2"]
    return subprocess.run([*command, *(["-n"] if dry else [])], cwd=workdir, capture_output=True, text=True)


def assert_refused(workdir: Path, names: list[str], dry: bool = True) -> None:
    result = snakemake(workdir, dry)
    text = result.stdout + result.stderr
    assert result.returncode != 0, text
    for name in names:
        assert name in text, f"{name!r} not in:\n{text}"
    results = workdir / "results"
    leftovers = [p for p in results.rglob("*") if p.is_file()] if results.exists() else []
    assert not [p for p in leftovers if p.name.startswith(".")], leftovers  # no temporary files
    if dry:
        assert not leftovers, leftovers


def truncate(path: Path, keep: float = 0.4) -> None:
    path.write_bytes(path.read_bytes()[: int(path.stat().st_size * keep)])


def use_video(name: str) -> Callable[[Path], None]:
    return lambda w: sheet(w, f"run\tvideo\tstyle\nmine\t{name}\tstyle.png\n")


def use_frames(w: Path) -> None:
    sheet(w, "run\tvideo\tstyle\nmine\tframes\tstyle.png\n")


def use_masks(w: Path) -> None:
    sheet(w, "run\tvideo\tstyle\tstyle_mask\tmasks\nmine\tframes\tstyle.png\tstyle_mask.png\tmasks\n")
    configure(w, **{"segmentation.method": "masks"})


def use_network(w: Path) -> None:
    """Network segmentation with an edited reference segmentation (the style mask) in the group legend."""
    sheet(w, "run\tvideo\tstyle\tstyle_mask\nmine\tframes\tstyle.png\tstyle_mask.png\n")
    configure(w, **{"segmentation.method": "network"})


def model_folder_without_weights(w: Path) -> None:
    (w / "model").mkdir()
    (w / "model" / "config.json").write_text("{}")
    configure(w, **{"segmentation.method": "network", "segmentation.model": "model/"})


def audio_only(w: Path) -> None:
    from photostyle.video import run_ffmpeg

    run_ffmpeg(["-f", "lavfi", "-i", "sine=duration=0.5", "-c:a", "aac", str(w / "clip.mp4")])


def write_image(path_in_workdir: str, array: np.ndarray) -> Callable[[Path], None]:
    return lambda w: write_rgb(w / path_in_workdir, array)


def write_rgba(name: str, alpha: int) -> Callable[[Path], None]:
    def setup(w: Path) -> None:
        import cv2

        rgba = np.full((20, 20, 4), 200, np.uint8)
        rgba[:, :, 3] = 255
        rgba[:5, :5, 3] = alpha
        cv2.imwrite(str(w / name), rgba)

    return setup


def vgg16_weights(name: str, write: Callable[[Path], None]) -> Callable[[Path], None]:
    """models.network: vgg16 with models.vgg16.path weights/``name``, a file that ``write`` writes."""

    def setup(w: Path) -> None:
        (w / "weights").mkdir(exist_ok=True)
        write(w / "weights" / name)
        configure(w, **{"models.network": "vgg16", "models.vgg16.path": f"weights/{name}"})

    return setup


def side_outputs_only(path: Path) -> None:
    """An HDF5 file with HED's side-output layers but none of its VGG-16 convolutions."""
    import h5py

    with h5py.File(path, "w") as h5:
        h5["dsn1/vars/0"], h5["dsn1/vars/1"] = np.zeros((1, 1, 64, 1), np.float32), np.zeros(1, np.float32)


def steps(*functions: Callable[[Path], None]) -> Callable[[Path], None]:
    def setup(w: Path) -> None:
        for function in functions:
            function(w)

    return setup


CASES: dict[str, tuple[Callable[[Path], None], list[str]]] = {
    # the video
    "video missing": (use_video("gone.mp4"), ["gone.mp4", "does not exist", "run 'mine'"]),
    "video empty": (lambda w: (w / "clip.mp4").write_bytes(b""), ["clip.mp4 is empty"]),
    "video truncated": (lambda w: truncate(w / "clip.mp4"), ["clip.mp4"]),
    "video is text": (lambda w: (w / "clip.mp4").write_text("hello " * 500), ["clip.mp4 cannot be decoded"]),
    "video has no frames": (audio_only, ["clip.mp4 has no video stream"]),
    "video folder missing": (use_video("nowhere/"), ["nowhere"]),
    # a folder of frames
    "frames folder without images": (
        steps(use_frames, lambda w: [p.unlink() for p in (w / "frames").iterdir()]),
        ["frames holds no PNG/JPG frames"],
    ),
    "frames of mixed sizes": (
        steps(use_frames, write_image("frames/f002.png", np.zeros((31, 40, 3), np.uint8))),
        ["f002.png is 40×31"],
    ),
    "frames folder with a non-image file": (
        steps(use_frames, lambda w: (w / "frames" / "notes.txt").write_text("x")),
        ["notes.txt"],
    ),
    "frame that is not an image": (
        steps(use_frames, lambda w: (w / "frames" / "f001.png").write_text("not a png")),
        ["f001.png is not a readable image"],
    ),
    # the reference
    "style missing": (lambda w: (w / "style.png").unlink(), ["style.png does not exist"]),
    "style truncated": (lambda w: truncate(w / "style.png"), ["style.png is not a readable image"]),
    "style with transparent pixels": (
        steps(write_rgba("alpha.png", 0), lambda w: sheet(w, "run\tvideo\tstyle\nmine\tclip.mp4\talpha.png\n")),
        ["alpha.png has transparent pixels"],
    ),
    "style mask of the wrong size": (
        steps(use_masks, write_image("style_mask.png", np.zeros((10, 10, 3), np.uint8))),
        ["style mask style_mask.png is 10×10 but style image"],
    ),
    "style mask in colours outside the legend": (
        steps(use_masks, write_image("style_mask.png", np.full((240, 360, 3), (255, 128, 0), np.uint8))),
        ["mask style_mask.png", "segmentation.snap_distance"],
    ),
    "frame masks of the wrong size": (
        steps(use_masks, lambda w: [write_rgb(p, np.zeros((3, 4, 3), np.uint8)) for p in (w / "masks").iterdir()]),
        ["frame masks in masks are 4×3 but the frames are 40×30"],
    ),
    "masks without a masks folder": (
        steps(
            use_masks, lambda w: sheet(w, "run\tvideo\tstyle\tstyle_mask\nmine\tframes\tstyle.png\tstyle_mask.png\n")
        ),
        ["style_mask and masks are both needed"],
    ),
    "network: style mask of the wrong size": (
        steps(use_network, write_image("style_mask.png", np.zeros((10, 10, 3), np.uint8))),
        ["style mask style_mask.png is 10×10 but style image"],
    ),
    "network: style mask with a colour outside the group legend": (
        steps(use_network, write_image("style_mask.png", np.full((240, 360, 3), (128, 0, 64), np.uint8))),
        ["mask style_mask.png", "86400 pixels", "RGB (128, 0, 64)", "segmentation.snap_distance"],
    ),
    "network: default group that is not a group": (
        lambda w: configure(w, **{"segmentation.method": "network", "segmentation.default_group": "sea"}),
        ["segmentation.default_group", "'sea'"],
    ),
    "network: model folder without weights": (model_folder_without_weights, ["segmentation.model", "weights"]),
    # the sample sheet
    "sample sheet missing": (lambda w: (w / "config" / "runs.tsv").unlink(), ["runs.tsv does not exist"]),
    "sample sheet without style column": (lambda w: sheet(w, "run\tvideo\nmine\tclip.mp4\n"), ["needs columns"]),
    "run name twice": (
        lambda w: sheet(w, "run\tvideo\tstyle\nmine\tclip.mp4\tstyle.png\nmine\tclip.mp4\tstyle.png\n"),
        ["more than once", "mine"],
    ),
    # the config
    "unknown key": (lambda w: configure(w, colour="red"), ["colour"]),
    "unknown nested key": (lambda w: configure(w, **{"flow.speed": 3}), ["speed"]),
    "written size misspelt": (lambda w: configure(w, **{"encode.size": "sorce"}), ["size", "sorce"]),
    "written size too small": (lambda w: configure(w, **{"encode.size": 8}), ["size", "8"]),
    "J with 0": (lambda w: configure(w, **{"temporal.offsets": [0, 1]}), ["offsets"]),
    "J negative": (lambda w: configure(w, **{"temporal.offsets": [1, -2]}), ["offsets"]),
    "J duplicate": (lambda w: configure(w, **{"temporal.offsets": [1, 2, 2]}), ["offsets"]),
    "chunk overlap as long as the chunk": (
        lambda w: configure(w, **{"stylize.chunk_frames": 4, "stylize.chunk_overlap": 4}),
        ["stylize.chunk_overlap (4)", "stylize.chunk_frames (4)"],
    ),
    "frame range past the end": (lambda w: configure(w, **{"input.last_frame": 99}), ["input.last_frame=99"]),
    "first frame past the end": (lambda w: configure(w, **{"input.first_frame": 40}), ["input.first_frame=40"]),
    "last frame before first": (
        lambda w: configure(w, **{"input.first_frame": 5, "input.last_frame": 2}),
        ["input.last_frame=2 is before input.first_frame=5"],
    ),
    "working size 0": (lambda w: configure(w, **{"input.size": 0}), ["size"]),
    "unknown flow method": (lambda w: configure(w, **{"flow.method": "raft9"}), ["raft9", "method"]),
    "unknown VGG layer": (lambda w: configure(w, **{"stylize.style_layers": ["relu9_1"]}), ["style_layers"]),
    "weights file missing": (
        lambda w: configure(w, **{"models.vgg19.path": "weights/vgg19.pth"}),
        ["models.vgg19.path", "weights/vgg19.pth"],
    ),
    "weights hash malformed": (lambda w: configure(w, **{"models.vgg19.sha256": "xyz"}), ["sha256"]),
    "VGG-16 weights file that is not HDF5": (
        vgg16_weights("vgg16.weights.h5", lambda p: p.write_bytes(bytes(range(256)) * 64)),
        ["models.vgg16.path", "weights/vgg16.weights.h5", "not a readable weights file"],
    ),
    "VGG-16 weights not in HED's layout": (
        vgg16_weights("hed.weights.h5", side_outputs_only),
        ["models.vgg16.path", "weights/hed.weights.h5", "block1/layers/conv2d/vars/0"],
    ),
    "VGG-16 weights that are not a state dict": (
        vgg16_weights("vgg16.pth", lambda p: p.write_text("not weights\n" * 100)),
        ["models.vgg16.path", "weights/vgg16.pth", "not a PyTorch weights file"],
    ),
    "style layer that VGG-16 lacks": (
        lambda w: configure(w, **{"models.network": "vgg16", "stylize.style_layers": ["relu1_1", "relu5_4"]}),
        ["relu5_4", "vgg16"],
    ),
    "config not YAML": (lambda w: (w / "config" / "config.yaml").write_text("input: [1, 2\n"), ["config.yaml"]),
    # run names that would escape results/ or that a shell would interpret
    **{
        f"run name {name!r}": (
            lambda w, name=name: sheet(w, f"run\tvideo\tstyle\n{name}\tclip.mp4\tstyle.png\n"),
            ["run name", name],
        )
        for name in ("../x", "/abs", "a/b", "x;rm -rf ~", "$(id)", ".hidden", "a b")
    },
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_refused_at_start_up(workdir, case):
    setup, names = CASES[case]
    setup(workdir)
    assert_refused(workdir, names)


# a value and the schema types it would satisfy: each key is tried with the first that fits none of its own
WRONG_VALUES = [("not a number", {"string"}), (12345, {"integer", "number"}), ([1], {"array"})]


def wrong_types(schema: dict, prefix: str = "") -> list[tuple[str, object]]:
    """(dotted key, a value of the wrong type) for every leaf key of the config schema."""
    cases = []
    for key, spec in schema.get("properties", {}).items():
        dotted = f"{prefix}{key}"
        if spec.get("type") == "object":
            cases += wrong_types(spec, f"{dotted}.")
            continue
        types = set(spec["type"] if isinstance(spec["type"], list) else [spec["type"]])
        wrong = next(v for v, kinds in WRONG_VALUES if not kinds & types)
        cases.append((dotted, wrong))
    return cases


@pytest.mark.parametrize(("key", "value"), wrong_types(SCHEMA), ids=[k for k, _ in wrong_types(SCHEMA)])
def test_every_config_key_checks_its_type(workdir, key, value):
    configure(workdir, **{key: value})
    assert_refused(workdir, [key.rsplit(".", 1)[-1], "ValidationError"])


@pytest.mark.parametrize(
    "setup",
    [
        lambda w: write_gray(w / "style.png", np.full((30, 40), 128, np.uint8)),  # greyscale: converted
        steps(write_rgba("opaque.png", 255), lambda w: sheet(w, "run\tvideo\tstyle\nmine\tclip.mp4\topaque.png\n")),
    ],
    ids=["greyscale style", "style with an opaque alpha channel"],
)
def test_images_that_are_converted_not_refused(workdir, setup):
    setup(workdir)
    result = snakemake(workdir, dry=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_vgg16_weights_in_hed_layout_pass_the_start_up_check(workdir):
    """The counterpart of the refused VGG-16 files: one in HED's layout (random values) is accepted."""
    from tests.test_vgg import write_hed_h5

    vgg16_weights("hed.weights.h5", write_hed_h5)(workdir)
    result = snakemake(workdir, dry=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_weights_with_a_wrong_hash_are_refused_before_any_job(workdir):
    """The start-up check reads the weights file (photostyle.vgg_layout.check_weights): a real run stops
    there, before the first job."""
    import torch

    from photostyle.vgg import vgg_features

    (workdir / "weights").mkdir()
    torch.save(vgg_features("vgg19").state_dict(), workdir / "weights" / "vgg19.pth")
    configure(
        workdir,
        **{"models.vgg19.path": "weights/vgg19.pth", "models.vgg19.sha256": "dcbb9e9d", "input.last_frame": 2},
    )
    assert_refused(workdir, ["models.vgg19.sha256", "weights/vgg19.pth"], dry=False)
    assert not (workdir / "results").exists()  # no job ran: not even the frames were extracted


def test_unwritable_output_folder(workdir):
    with mounted_tmpfs(workdir / "results", "ro,size=64k"):
        assert_refused(workdir, ["results/mine", "Read-only file system"], dry=False)
