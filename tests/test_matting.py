import numpy as np
import pytest
import torch

from photostyle.errors import InputError
from photostyle.images import read_rgb
from photostyle.matting import MattingLaplacian, load_coefficients, matting_coefficients, save_coefficients

pymatting = pytest.importorskip("pymatting", reason="pymatting (a dev dependency) is the reference Laplacian")
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def frame(photo) -> np.ndarray:
    return np.ascontiguousarray(photo[64:84, 64:90])  # 26×20: small enough for a dense matrix


def dense(coefficients) -> np.ndarray:
    """M as a dense matrix: the operator applied to every unit image at once (one per channel)."""
    h, w = coefficients.frame.shape[:2]
    units = torch.eye(h * w).reshape(h * w, h, w)
    return MattingLaplacian(coefficients, CPU)(units).reshape(h * w, h * w).double().numpy()


def product(coefficients, values: np.ndarray) -> np.ndarray:
    out = MattingLaplacian(coefficients, CPU)(torch.from_numpy(values.transpose(2, 0, 1).astype(np.float32)))
    return out.numpy().transpose(1, 2, 0).reshape(-1, 3).astype(np.float64)


def test_equals_pymatting_symmetric_with_zero_row_sums(frame):
    matrix = dense(matting_coefficients(frame, eps=1e-7, radius=1))
    reference = pymatting.cf_laplacian(frame / 255.0, epsilon=1e-7, radius=1).toarray()
    assert np.abs(matrix - reference).max() < 1e-5 * np.abs(reference).max()
    assert np.abs(matrix - matrix.T).max() < 1e-5 * np.abs(matrix).max()
    assert np.abs(matrix.sum(axis=1)).max() < 1e-5
    radius2 = dense(matting_coefficients(frame, eps=1e-5, radius=2))
    reference2 = pymatting.cf_laplacian(frame / 255.0, epsilon=1e-5, radius=2).toarray()
    assert np.abs(radius2 - reference2).max() < 1e-5 * np.abs(reference2).max()


def test_affine_recolouring_costs_nothing_and_noise_does(photo):
    frame = np.ascontiguousarray(photo[64:128, 64:160])
    coefficients = matting_coefficients(frame, 1e-7, 1)
    image = frame / 255.0

    def quadratic(values: np.ndarray) -> float:
        return float((values.reshape(-1, 3) * product(coefficients, values)).sum())

    affine = np.array([[0.8, 0.1, 0.0], [0.2, 0.5, 0.1], [0.0, 0.3, 0.9]])
    recoloured = image @ affine.T + np.array([0.05, -0.1, 0.2])
    noise = np.random.default_rng(1).uniform(0, 1, image.shape)
    assert 0 < quadratic(recoloured) < 1e-4 * quadratic(noise)
    wobble = recoloured + 0.05 * np.random.default_rng(2).normal(size=image.shape)  # not affine
    assert quadratic(wobble) > 100 * quadratic(recoloured)


@pytest.mark.parametrize(
    "name",
    [
        "flow_gt/sintel_alley_1/clean/frame_0001.png",
        "sequences/davis_bike_cutie/images/00000.jpg",
        "style_pairs/input/in26.png",
    ],
)
def test_product_on_real_frames_equals_pymatting_within_1e_5(shared, name):
    """Float32 product against pymatting's float64 CSR matrix. (On fbms_marple8, pymatting itself is
    off by 1e-4: its cofactor inverse loses precision in grey windows; see benchmarks/README.md.)"""
    frame = read_rgb(shared / name)
    values = frame / 255.0 + np.random.default_rng(0).uniform(0, 0.1, frame.shape)
    reference = pymatting.cf_laplacian(frame / 255.0) @ values.reshape(-1, 3)
    ours = product(matting_coefficients(frame, 1e-7, 1), values)
    assert np.linalg.norm(ours - reference) / np.linalg.norm(reference) < 1e-5


def test_cache_is_compact_round_trips_and_bad_files_are_named(frame, tmp_path):
    coefficients = matting_coefficients(frame, 1e-7, 1)
    assert coefficients.nbytes / (frame.shape[0] * frame.shape[1]) <= 40
    path = tmp_path / "block00001.h5"
    flipped = matting_coefficients(np.ascontiguousarray(frame[::-1]), eps=1e-6, radius=1)
    save_coefficients(path, {1: coefficients, 2: flipped})  # a block of two frames
    for i, expected in ((1, coefficients), (2, flipped)):
        loaded = load_coefficients(path, i)
        np.testing.assert_array_equal(loaded.frame, expected.frame)
        np.testing.assert_array_equal(loaded.whitening, expected.whitening)
        assert (loaded.eps, loaded.radius) == (expected.eps, 1)
    with pytest.raises(InputError, match="block00001.h5.*no frame 3"):
        load_coefficients(path, 3)
    (tmp_path / "bad.h5").write_bytes(path.read_bytes()[:1000])
    with pytest.raises(InputError, match="bad.h5"):
        load_coefficients(tmp_path / "bad.h5", 1)
    import h5py

    with h5py.File(tmp_path / "old.h5", "w") as handle:  # the CSR layout of earlier versions
        handle.create_dataset("data", data=np.ones(3, np.float32))
    with pytest.raises(InputError, match="old.h5.*delete it to rebuild"):
        load_coefficients(tmp_path / "old.h5", 1)


def test_frames_that_cannot_have_a_laplacian_are_refused():
    with pytest.raises(ValueError, match="uint8"):
        matting_coefficients(np.zeros((8, 8, 3), np.float32), 1e-7, 1)
    with pytest.raises(ValueError, match="smaller than one 3×3 window"):
        matting_coefficients(np.zeros((2, 8, 3), np.uint8), 1e-7, 1)
