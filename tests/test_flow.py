import cv2
import numpy as np
import pytest
import skimage.data

from photostyle.errors import InputError
from photostyle.flow import compute_flow, read_flo, resolve_method, warp, write_flo
from photostyle.images import read_gray, read_rgb


def shift(image: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """Image content moved by (dx, dy) pixels, sub-pixel accurate."""
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    h, w = image.shape[:2]
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


def assert_recovered(flow: np.ndarray, truth: np.ndarray, margin: int) -> None:
    """Mean end-point error under 0.5 px away from the borders (where content entered the frame)."""
    error = np.linalg.norm(flow - truth, axis=2)[margin:-margin, margin:-margin]
    assert np.mean(error) < 0.5, np.mean(error)
    assert np.median(error) < 0.25, np.median(error)


@pytest.mark.parametrize("method", ["fusion", "deepflow", "dis", "farneback"])
def test_small_translation_is_recovered(photo, method):
    moved = shift(photo, 3.4, -2.2)
    flow = compute_flow(moved, photo, method, dis_preset="medium")  # moved(p) = photo(p - d): flow moved→photo is -d
    assert_recovered(flow, np.broadcast_to(np.float32([-3.4, 2.2]), flow.shape), margin=24)


@pytest.mark.parametrize("method", ["fusion", "dis"])
def test_large_translation_is_recovered(method):
    """A 43 px move (DeepFlow and Farneback are not meant for it: they break beyond ≈20 px)."""
    image = skimage.data.astronaut()
    moved = shift(image, 41.0, -12.5)
    flow = compute_flow(moved, image, method, dis_preset="medium")
    assert_recovered(flow, np.broadcast_to(np.float32([-41.0, 12.5]), flow.shape), margin=64)


@pytest.mark.parametrize("method", ["fusion", "deepflow", "dis"])
def test_known_rotation_is_recovered(photo, method):
    """A 4° rotation about the centre: up to ≈9 px of motion in the corners, varying across the frame."""
    h, w = photo.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), 4.0, 1.0)  # maps photo coordinates to rotated ones
    rotated = cv2.warpAffine(photo, matrix, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    inverse = cv2.invertAffineTransform(matrix)  # a pixel of the rotated frame comes from here in the photo
    truth = np.stack([inverse[0, 0] * xs + inverse[0, 1] * ys + inverse[0, 2] - xs,
                      inverse[1, 0] * xs + inverse[1, 1] * ys + inverse[1, 2] - ys], axis=2)  # fmt: skip
    assert_recovered(compute_flow(rotated, photo, method, dis_preset="medium"), truth, margin=32)


def test_flow_at_reduced_size_is_rescaled(photo):
    moved = shift(photo, 6.0, -4.0)
    flow = compute_flow(moved, photo, "dis", max_side=128, dis_preset="medium")
    assert flow.shape == (*photo.shape[:2], 2)
    assert_recovered(flow, np.broadcast_to(np.float32([-6.0, 4.0]), flow.shape), margin=32)


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


def test_sintel_ground_truth(shared):
    """MPI-Sintel alley_1, frame 2 → 3, end-point error on non-occluded pixels: our large-motion
    method stays within 1.5 × DeepFlow's (the most accurate OpenCV method on small motion)."""
    root = shared / "flow_gt" / "sintel_alley_1"
    a, b = read_rgb(root / "clean" / "frame_0002.png"), read_rgb(root / "clean" / "frame_0003.png")
    truth = read_flo(root / "gt" / "frame_0002.flo")
    visible = read_gray(root / "gt" / "occlusions_frame_0002.png") == 0
    error = {m: np.linalg.norm(compute_flow(a, b, m) - truth, axis=2)[visible].mean() for m in ("deepflow", "fusion")}
    assert error["deepflow"] < 0.2 and error["fusion"] <= 1.5 * error["deepflow"], error
    assert error["fusion"] < 0.1 * np.linalg.norm(truth, axis=2)[visible].mean()


@pytest.mark.parametrize(
    ("pair", "first", "second"),
    [
        (("davis_bike_cutie", "images"), "00000.jpg", "00003.jpg"),
        (("sintel_alley_1_raft_demo",), "frame_0016.png", "frame_0024.png"),
    ],
)
def test_fusion_follows_large_motion(shared, pair, first, second):
    """Long-range real pairs (≈80 px pan; 8 frames apart): fusion warps colours better than DIS and DeepFlow."""
    root = shared.joinpath("sequences", *pair)
    a, b = read_rgb(root / first), read_rgb(root / second)

    def colour_error(flow):
        h, w = flow.shape[:2]
        xs, ys = np.arange(w)[None] + flow[..., 0], np.arange(h)[:, None] + flow[..., 1]
        stays = (xs >= 0) & (xs <= w - 1) & (ys >= 0) & (ys <= h - 1)
        return np.abs(warp(b, flow).astype(np.float32) - a).mean(axis=2)[stays].mean()

    best_opencv = min(colour_error(compute_flow(a, b, m, dis_preset="medium")) for m in ("deepflow", "dis"))
    assert colour_error(compute_flow(a, b, "fusion")) <= 0.8 * best_opencv


def test_shared_flo_files_round_trip_bit_exactly(shared, tmp_path):
    files = sorted(shared.rglob("*.flo"))
    assert len(files) == 5
    for path in files:
        raw = path.read_bytes()
        flow = read_flo(path)
        assert raw[:4] == b"PIEH" and flow.shape == (*np.frombuffer(raw[4:12], np.int32)[::-1], 2)
        write_flo(tmp_path / path.name, flow)
        assert (tmp_path / path.name).read_bytes() == raw


def test_raft_loads_through_the_config_path_and_runs_on_cpu(photo, raft_weights):
    models = {"raft": {"path": str(raft_weights)}}
    moved = np.ascontiguousarray(np.roll(photo, 5, axis=1)[:250, :250])  # sides not multiples of 8: padded
    flow = compute_flow(
        moved, np.ascontiguousarray(photo[:250, :250]), "raft", raft_model="small", models=models, device="cpu"
    )
    assert flow.shape == (250, 250, 2) and flow.dtype == np.float32 and np.isfinite(flow).all()
    with pytest.raises(InputError, match="models.raft.path"):
        compute_flow(photo, photo, "raft", raft_model="large", models=models, device="cpu")  # small weights, large net
    with pytest.raises(InputError, match="models.raft.sha256"):
        compute_flow(
            photo, photo, "raft", raft_model="small", models={"raft": {"path": str(raft_weights), "sha256": "0" * 16}}
        )


def test_raft_without_weights_names_the_key(photo, monkeypatch, tmp_path):
    import torch

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", _offline)
    with pytest.raises(InputError, match="models.raft.path"):
        compute_flow(photo, photo, "raft", raft_model="small", models={"raft": {}}, device="cpu")


def _offline(url, **_):
    raise OSError(f"no network to fetch {url}")


def test_auto_picks_raft_when_its_weights_are_there(raft_weights, monkeypatch, tmp_path):
    import torch

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    assert resolve_method("auto", {"raft": {"path": str(raft_weights)}}, "small") == "raft"
    assert resolve_method("auto", {"raft": {}}, "small") == "fusion"
    cached = tmp_path / "checkpoints" / "raft_small_C_T_V2-01064c6d.pth"
    cached.parent.mkdir()
    cached.write_bytes(raft_weights.read_bytes())
    assert resolve_method("auto", {"raft": {}}, "small") == "raft"
    assert resolve_method("dis", None, "large") == "dis"


def test_shared_backward_flow_convention(shared):
    """The shared DeepFlow file backward_2_1 warps frame 1 onto frame 2, as our convention says."""
    root = shared / "sequences" / "fbms_marple8"
    f1, f2 = (read_rgb(root / "frames" / f"marple8_0{n}.png").astype(np.float32) for n in (1, 2))
    theirs = read_flo(root / "flow_deepflow_backward" / "backward_2_1.flo")
    reliable = read_gray(root / "reliability_backward" / "reliable_2_1.png") > 127
    ours = compute_flow(f2.astype(np.uint8), f1.astype(np.uint8), "deepflow")
    for flow in (theirs, ours):
        warped_error = np.abs(warp(f1, flow) - f2).mean(axis=2)[reliable].mean()
        assert warped_error < 0.7 * np.abs(f1 - f2).mean(axis=2)[reliable].mean()
    assert np.median(np.linalg.norm(ours - theirs, axis=2)[reliable]) < 0.5
