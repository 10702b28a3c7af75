"""Figures that score results against references (used by tests and benchmarks)."""

from __future__ import annotations

import numpy as np


def adjusted_rand_index(labels: np.ndarray, truth: np.ndarray) -> float:
    """Adjusted Rand index of two label maps of the same size (Hubert & Arabie): 1 for the same
    partition whatever the label ids, about 0 for a random one."""
    a, b = labels.ravel().astype(np.int64), truth.ravel().astype(np.int64)
    if a.shape != b.shape:
        raise ValueError(f"label maps differ in size: {labels.shape} vs {truth.shape}")
    kb = int(b.max()) + 1
    table = np.bincount(a * kb + b, minlength=(int(a.max()) + 1) * kb).reshape(-1, kb).astype(np.float64)

    def pairs(counts: np.ndarray) -> float:
        return float((counts * (counts - 1) / 2).sum())

    index, rows, cols = pairs(table), pairs(table.sum(axis=1)), pairs(table.sum(axis=0))
    expected = rows * cols / (a.size * (a.size - 1) / 2)
    maximum = (rows + cols) / 2
    return 1.0 if maximum == expected else (index - expected) / (maximum - expected)


def warping_error(earlier: np.ndarray, later: np.ndarray, backward: np.ndarray, visible: np.ndarray) -> float:
    """Temporal warping error of one pair as Lai et al. (2018) define it: Σ M (Ô − O_t)² / Σ M.

    ``earlier`` and ``later`` are output frames t − 1 and t (H×W×3, RGB in [0, 1]); Ô is frame
    t − 1 warped onto frame t along ``backward`` (the flow t → t − 1 between the *input*
    frames); ``visible`` (M) is 1 where that flow is trustworthy (occlusions excluded).
    """
    from photostyle.flow import warp

    mask = visible.astype(np.float64)
    if mask.sum() == 0:
        raise ValueError("warping error: no visible pixel in the pair")
    squared = ((warp(earlier.astype(np.float32), backward) - later) ** 2).sum(axis=2)
    return float((mask * squared).sum() / mask.sum())


def video_warping_error(frames: list[np.ndarray], backward: list[np.ndarray], visible: list[np.ndarray]) -> float:
    """Lai et al.'s warping error of a clip: the mean of ``warping_error`` over consecutive pairs.

    ``frames`` are the clip's frames (RGB in [0, 1]); ``backward[t - 1]`` is the flow t → t − 1
    between the input frames and ``visible[t - 1]`` its occlusion mask. Scoring the input video
    itself with the same flows gives the baseline a stylised clip is compared with.
    """
    pairs = range(1, len(frames))
    return float(np.mean([warping_error(frames[t - 1], frames[t], backward[t - 1], visible[t - 1]) for t in pairs]))


def affine_residual(source: np.ndarray, result: np.ndarray, radius: int = 1, eps: float = 1e-7) -> float:
    """Mean residual (0-255 units) of the best local affine colour map ``source`` → ``result``.

    For every (2r+1)² window, result ≈ A·source + b is fitted by least squares (ridge ``eps``
    as in the Matting Laplacian); the residual is the RMS over the window's pixels and the three
    channels, averaged over all windows. 0 for a photograph recoloured by any locally affine
    map, which is what the photorealism term asks for. Images are H×W×3 in [0, 1].
    """
    size = 2 * radius + 1
    n = size * size

    def box(x: np.ndarray) -> np.ndarray:  # mean over each full window, last two axes
        kernel = np.lib.stride_tricks.sliding_window_view(x, (size, size), axis=(-2, -1))
        return kernel.mean(axis=(-2, -1))

    src = source.astype(np.float64).transpose(2, 0, 1)  # 3×H×W
    out = result.astype(np.float64).transpose(2, 0, 1)
    mean_s, mean_o = box(src), box(out)
    cov_ss = box(src[:, None] * src[None]) - mean_s[:, None] * mean_s[None]  # 3×3×h×w
    cov_os = box(out[:, None] * src[None]) - mean_o[:, None] * mean_s[None]  # out c × src d
    var_o = box(out**2) - mean_o**2
    cov_ss = cov_ss.transpose(2, 3, 0, 1) + (eps / n) * np.eye(3)
    gain = np.linalg.solve(cov_ss, cov_os.transpose(2, 3, 1, 0)).transpose(0, 1, 3, 2)  # h×w×out×src
    explained = np.einsum("hwcd,dchw->chw", gain, cov_os.transpose(1, 0, 2, 3))
    residual = np.clip(var_o - explained, 0.0, None).mean(axis=0)  # mean squared residual per window
    return float(255.0 * np.sqrt(residual).mean())


def lab_statistics(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (3) and covariance (3×3) of the Lab colours of an RGB image in [0, 1] where ``mask``."""
    import cv2

    lab = cv2.cvtColor(image.astype(np.float32), cv2.COLOR_RGB2Lab)[mask.astype(bool)].astype(np.float64)
    return lab.mean(axis=0), np.cov(lab, rowvar=False)


def style_fidelity(
    output: np.ndarray, output_labels: np.ndarray, reference: np.ndarray, reference_labels: np.ndarray
) -> dict[int, float]:
    """Per class present in both: distance of the output's Lab colour statistics to the reference's.

    ‖μ_out − μ_ref‖ + ‖Σ_out − Σ_ref‖_F^(1/2) (both in Lab units, so a pure shift of the mean by
    d gives d). Images RGB in [0, 1]; classes with fewer than 10 pixels on a side are left out.
    """
    scores = {}
    for k in sorted(set(np.unique(output_labels)) & set(np.unique(reference_labels))):
        mask_out, mask_ref = output_labels == k, reference_labels == k
        if mask_out.sum() < 10 or mask_ref.sum() < 10:
            continue
        mean_o, cov_o = lab_statistics(output, mask_out)
        mean_r, cov_r = lab_statistics(reference, mask_ref)
        scores[int(k)] = float(np.linalg.norm(mean_o - mean_r) + np.sqrt(np.linalg.norm(cov_o - cov_r)))
    return scores


def flat_noise(source: np.ndarray, result: np.ndarray, share: float = 0.25, sigma: float = 1.5) -> float:
    """High-frequency RMS (grey levels, 0-255) of ``result`` where ``source`` is flattest.

    The flat region is the ``share`` of pixels with the lowest local spread (7×7 standard
    deviation of the source's luminance): skies, walls, smooth cloth. There a photograph has
    little fine detail, so texture that an optimiser paints there (coloured speckle) shows up as
    energy above the frequencies of a Gaussian of ``sigma``: result − blur(result), RMS over
    the region and the three channels. Scoring the source itself gives the baseline. Images are
    H×W×3 uint8 (or float in 0-255).
    """
    import cv2

    luma = cv2.cvtColor(source.astype(np.float32), cv2.COLOR_RGB2GRAY)
    mean = cv2.blur(luma, (7, 7))
    spread = np.sqrt(np.clip(cv2.blur(luma * luma, (7, 7)) - mean * mean, 0.0, None))
    flat = spread <= np.quantile(spread, share)
    image = result.astype(np.float32)
    detail = image - cv2.GaussianBlur(image, (0, 0), sigma)
    return float(np.sqrt((detail[flat] ** 2).mean()))
