import cv2
import numpy as np
import pytest

from photostyle.errors import InputError
from photostyle.flow import compute_flow, read_flo, warp, write_flo


def shift(image: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """Image content moved by (dx, dy) pixels, sub-pixel accurate."""
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    h, w = image.shape[:2]
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


@pytest.mark.parametrize("method", ["deepflow", "dis"])
def test_known_translation_is_recovered(photo, method):
    moved = shift(photo, 3.4, -2.2)
    flow = compute_flow(moved, photo, method)  # moved(p) = photo(p - d): flow moved→photo is -d
    inner = flow[24:-24, 24:-24].reshape(-1, 2)
    error = np.linalg.norm(inner - [-3.4, 2.2], axis=1)
    assert np.median(error) < 0.25
    assert np.mean(error) < 0.5


def test_warp_with_known_flow_reproduces_frame(photo):
    moved = shift(photo, 5.0, 3.0)
    flow = np.zeros((*photo.shape[:2], 2), np.float32)
    flow[..., 0], flow[..., 1] = -5.0, -3.0
    warped = warp(photo, flow)
    diff = np.abs(warped[10:-10, 10:-10].astype(int) - moved[10:-10, 10:-10].astype(int))
    assert diff.mean() < 0.5
    assert np.abs(photo[10:-10, 10:-10].astype(int) - moved[10:-10, 10:-10].astype(int)).mean() > 10


def test_flo_round_trip_and_bad_files(tmp_path):
    flow = np.random.default_rng(0).normal(size=(7, 11, 2)).astype(np.float32)
    write_flo(tmp_path / "a.flo", flow)
    np.testing.assert_array_equal(read_flo(tmp_path / "a.flo"), flow)
    raw = (tmp_path / "a.flo").read_bytes()
    (tmp_path / "short.flo").write_bytes(raw[:-8])
    (tmp_path / "text.flo").write_text("not a flow")
    for name in ("short.flo", "text.flo", "missing.flo"):
        with pytest.raises(InputError, match=name):
            read_flo(tmp_path / name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.flo", "short.flo", "text.flo"]


def test_unknown_method_names_the_key(photo):
    with pytest.raises(InputError, match="flow.method"):
        compute_flow(photo, photo, "magic")


def test_deepflow_on_sintel_ground_truth(shared):
    """MPI-Sintel alley_1, frame 2 → 3: end-point error on non-occluded pixels."""
    from photostyle.images import read_gray, read_rgb

    root = shared / "flow_gt" / "sintel_alley_1"
    a, b = read_rgb(root / "clean" / "frame_0002.png"), read_rgb(root / "clean" / "frame_0003.png")
    truth = read_flo(root / "gt" / "frame_0002.flo")
    visible = read_gray(root / "gt" / "occlusions_frame_0002.png") == 0
    error = np.linalg.norm(compute_flow(a, b, "deepflow") - truth, axis=2)[visible]
    no_flow = np.linalg.norm(truth, axis=2)[visible]
    assert error.mean() < 0.4, error.mean()
    assert error.mean() < 0.2 * no_flow.mean()


def test_shared_backward_flow_convention(shared):
    """The shared DeepFlow file backward_2_1 warps frame 1 onto frame 2, as our convention says."""
    from photostyle.images import read_gray, read_rgb

    root = shared / "sequences" / "fbms_marple8"
    f1, f2 = (read_rgb(root / "frames" / f"marple8_0{n}.png").astype(np.float32) for n in (1, 2))
    theirs = read_flo(root / "flow_deepflow_backward" / "backward_2_1.flo")
    reliable = read_gray(root / "reliability_backward" / "reliable_2_1.png") > 127
    ours = compute_flow(f2.astype(np.uint8), f1.astype(np.uint8), "deepflow")
    for flow in (theirs, ours):
        warped_error = np.abs(warp(f1, flow) - f2).mean(axis=2)[reliable].mean()
        assert warped_error < 0.7 * np.abs(f1 - f2).mean(axis=2)[reliable].mean()
    assert np.median(np.linalg.norm(ours - theirs, axis=2)[reliable]) < 0.5
