import numpy as np
import pytest

from photostyle.errors import InputError
from photostyle.matting import load_laplacian, matting_laplacian, save_laplacian


@pytest.fixture(scope="module")
def image(photo) -> np.ndarray:
    return photo[64:128, 64:160] / 255.0


@pytest.fixture(scope="module")
def laplacian(image):
    return matting_laplacian(image, eps=1e-7)


def quadratic(matrix, values: np.ndarray) -> float:
    flat = values.reshape(-1, 3).astype(np.float64)
    return float((flat * (matrix.astype(np.float64) @ flat)).sum())


def test_symmetric_with_zero_row_sums(laplacian, image):
    n = image.shape[0] * image.shape[1]
    assert laplacian.shape == (n, n)
    assert abs(laplacian - laplacian.T).max() < 1e-6
    assert np.abs(np.asarray(laplacian.sum(axis=1))).max() < 1e-3
    assert laplacian.nnz <= 25 * n  # 3×3 windows reach 5×5 neighbourhoods


def test_affine_recolouring_costs_nothing_and_noise_does(laplacian, image):
    affine = np.array([[0.8, 0.1, 0.0], [0.2, 0.5, 0.1], [0.0, 0.3, 0.9]])
    recoloured = image @ affine.T + np.array([0.05, -0.1, 0.2])
    noise = np.random.default_rng(1).uniform(0, 1, image.shape)
    assert quadratic(laplacian, recoloured) < 1e-5 * quadratic(laplacian, noise)
    assert quadratic(laplacian, noise) > 0
    # a non-affine (per-pixel random) colour change of the same size is penalised
    wobble = recoloured + 0.05 * np.random.default_rng(2).normal(size=image.shape)
    assert quadratic(laplacian, wobble) > 100 * quadratic(laplacian, recoloured)


def test_cache_round_trip_and_corrupt_file(laplacian, tmp_path):
    path = tmp_path / "frame_00001.h5"
    save_laplacian(path, laplacian, eps=1e-7, radius=1)
    loaded = load_laplacian(path)
    assert abs(loaded - laplacian).max() == 0
    (tmp_path / "bad.h5").write_bytes(path.read_bytes()[:1000])
    with pytest.raises(InputError, match="bad.h5"):
        load_laplacian(tmp_path / "bad.h5")
