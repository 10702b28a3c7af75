import numpy as np
import pytest

from photostyle.errors import InputError
from photostyle.images import read_rgb, working_shape, write_rgb
from photostyle.inputs import Run, plan_run, read_runs

INPUT = {"first_frame": 1, "last_frame": None, "step": 1, "folder_fps": 25}
NONE = {"method": "none"}
MASKS = {"method": "masks", "snap_distance": 60, "max_unmatched": 0.05}


def sheet(tmp_path, text: str):
    path = tmp_path / "runs.tsv"
    path.write_text(text)
    return path


def test_sample_sheet_rows(tmp_path):
    runs = read_runs(
        sheet(tmp_path, "run\tvideo\tstyle\tstyle_mask\tmasks\na\tv.mp4\ts.png\t\t\nb\tf\ts.png\tm.png\tmasks\n")
    )
    assert runs == [
        Run("a", "v.mp4", "s.png"),
        Run("b", "f", "s.png", "m.png", "masks"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("run\tvideo\n", "needs columns"),
        ("run\tvideo\tstyle\tcolour\nx\tv\ts\tc\n", "unknown \\['colour'\\]"),
        ("run\tvideo\tstyle\n../x\tv\ts\n", "line 2 \\(run '../x'\\): column run '../x' is not a run name"),
        ("run\tvideo\tstyle\n/abs\tv\ts\n", "line 2 \\(run '/abs'\\): column run '/abs' is not a run name"),
        ("run\tvideo\tstyle\na b\tv\ts\n", "line 2 \\(run 'a b'\\): column run 'a b' is not a run name"),
        ("run\tvideo\tstyle\nx;rm\tv\ts\n", "line 2 \\(run 'x;rm'\\): column run 'x;rm' is not a run name"),
        ("run\tvideo\tstyle\nx\tv\t\n", "column style is empty"),
        ("run\tvideo\tstyle\nx\tv\ts\nx\tw\ts\n", "more than once"),
        ("run\tvideo\tstyle\n", "lists no video: add a row per video"),
        ("run\tvideo\tstyle\na\tv\ts\nb c\tv\ts\n", "line 3 \\(run 'b c'\\)"),
    ],
)
def test_bad_sample_sheets(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        read_runs(sheet(tmp_path, text))


def frames_folder(tmp_path, n=5, size=(40, 30)):
    folder = tmp_path / "frames"
    for i in range(n):
        write_rgb(folder / f"f{i:03d}.png", np.full((size[1], size[0], 3), 10 * i, np.uint8))
    write_rgb(tmp_path / "style.png", np.zeros((20, 20, 3), np.uint8))
    return folder


def test_plan_of_a_frames_folder(tmp_path):
    folder = frames_folder(tmp_path)
    plan = plan_run(Run("r", str(folder), str(tmp_path / "style.png")), INPUT | {"step": 2}, NONE)
    assert plan.n_frames == 3 and plan.fps == 12.5 and plan.audio is None
    assert [p.rsplit("/", 1)[1] for p in plan.sources] == ["f000.png", "f002.png", "f004.png"]


def test_plan_refuses_bad_inputs(tmp_path):
    folder = frames_folder(tmp_path)
    style = str(tmp_path / "style.png")
    with pytest.raises(InputError, match="missing.mp4"):
        plan_run(Run("r", str(tmp_path / "missing.mp4"), style), INPUT, NONE)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(InputError, match="broken.png"):
        plan_run(Run("r", str(folder), str(tmp_path / "broken.png")), INPUT, NONE)
    with pytest.raises(InputError, match="style_mask and masks"):
        plan_run(Run("r", str(folder), style), INPUT, MASKS)
    write_rgb(tmp_path / "mask.png", np.zeros((10, 20, 3), np.uint8))
    with pytest.raises(InputError, match="style mask .*mask.png is 20×10 but style image"):
        plan_run(
            Run("r", str(folder), style, str(tmp_path / "mask.png"), str(folder)),
            INPUT,
            {"method": "masks", "snap_distance": 60, "max_unmatched": 0.05},
        )
    write_rgb(folder / "f009.png", np.zeros((31, 40, 3), np.uint8))
    with pytest.raises(InputError, match="f009.png is 40×31"):
        plan_run(Run("r", str(folder), style), INPUT, NONE)


def test_images_grey_alpha_and_working_size(tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "grey.png"), np.full((4, 6), 77, np.uint8))
    assert read_rgb(tmp_path / "grey.png").shape == (4, 6, 3)
    rgba = np.full((4, 6, 4), 255, np.uint8)
    cv2.imwrite(str(tmp_path / "opaque.png"), rgba)
    assert read_rgb(tmp_path / "opaque.png").shape == (4, 6, 3)
    rgba[0, 0, 3] = 0
    cv2.imwrite(str(tmp_path / "clear.png"), rgba)
    with pytest.raises(InputError, match="clear.png has transparent pixels"):
        read_rgb(tmp_path / "clear.png")
    rgb = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "whole.jpg"), rgb)
    (tmp_path / "cut.jpg").write_bytes((tmp_path / "whole.jpg").read_bytes()[:-600])
    assert read_rgb(tmp_path / "whole.jpg").shape == (64, 64, 3)
    with pytest.raises(InputError, match="cut.jpg is not a readable image"):
        read_rgb(tmp_path / "cut.jpg")
    cv2.imwrite(str(tmp_path / "deep.png"), np.full((4, 6), 65535, np.uint16))
    assert (read_rgb(tmp_path / "deep.png") == 255).all()
    assert working_shape(1920, 1080, 512) == (512, 288)
    assert working_shape(321, 199, None) == (320, 200)  # even sides for yuv420p
