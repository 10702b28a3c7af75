"""Stylisation: cost of an iteration, iterations to converge per strategy, Laplacian cache, metrics, memory.

Usage: python benchmarks/stylize.py [--device cpu|cuda] [--threads 2] [--parts iteration,laplacian,...]
       [--sequences fbms_marple8,...] [--temporal-weights 200,1000,5000] [--allocator keep|default]

Parts (all by default):
- iteration: seconds per L-BFGS iteration beside one bare VGG-19 forward+backward pass (to relu5_1)
  at 256×144 and 512×288;
- convergence: frame 1 and a later frame of davis_bike_cutie at 256×144: a 1000-iteration
  single-scale cold-start reference, then the iterations and seconds each strategy needs to come
  within 2 % of its loss, and where the default stopping rule stops;
- laplacian: our per-window cache against pymatting's cf_laplacian (time, bytes per pixel,
  product error), on real frames;
- metrics: the shared sequences (8 frames at most) stylised with the temporal loss on (the default γ,
  or each of --temporal-weights) and off:
  warping error (Lai et al.) of output and input, photorealism, style fidelity; and the
  local-affine post-process;
- frame (not in the default list: minutes on a CPU): seconds per frame with the default settings;
- memory: peak resident memory of one frame's stylisation at 512×288 (in a child process).
RANDOM VGG-19 weights throughout (no weights can be downloaded on the development machine).
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import torch

from photostyle import sequence
from photostyle.allocator import keep_freed_memory
from photostyle.config import changed
from photostyle.device import resolve_device
from photostyle.frame_inputs import FrameInputs
from photostyle.images import read_rgb
from photostyle.matting import MattingLaplacian, matting_coefficients
from photostyle.metrics import affine_residual, style_fidelity, video_warping_error
from photostyle.sequence import Clip, prepare, stylize_clip
from photostyle.stylize import Objective, Settings, converged, minimise, stylize, to_tensor
from photostyle.vgg import VGGFeatures, load_network

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SEQUENCES = {
    "sintel_alley_1_raft_demo": ("sequences/sintel_alley_1_raft_demo/frame_00*.png", "style_pairs/style/tar53.png"),
    "fbms_marple8": ("sequences/fbms_marple8/frames/marple8_0*.png", "style_pairs/style/tar26.png"),
    "davis_bike_cutie": ("sequences/davis_bike_cutie/images/0000*.jpg", "style_pairs/style/tar14.png"),
}


def frames_of(name: str, longest: int, count: int = 8) -> tuple[list[np.ndarray], np.ndarray]:
    pattern, style = SEQUENCES[name]
    paths = sorted(DATA.glob(pattern))[:count]

    def small(image: np.ndarray) -> np.ndarray:
        scale = longest / max(image.shape[:2])
        size = (round(image.shape[1] * scale) // 2 * 2, round(image.shape[0] * scale) // 2 * 2)
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA)

    return [small(read_rgb(p)) for p in paths], small(read_rgb(DATA / style))


def davis_pair(width: int, height: int) -> Clip:
    """davis_bike_cutie frames 1 and 2 at width×height with their flows, weights and labels (J = {1})."""
    frames, style = frames_of("davis_bike_cutie", max(width, height), 2)

    def fit(image: np.ndarray) -> np.ndarray:
        return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)

    return prepare([fit(f) for f in frames], fit(style), changed({"temporal.offsets": [1]}))


def random_extractor() -> VGGFeatures:
    """VGG-19 with seeded random weights, truncated at the layers of the default settings."""
    settings = Settings.defaults()
    return VGGFeatures(
        load_network("vgg19", None, allow_random=True).features, [*settings.content_layers, *settings.style_layers]
    )


def synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def seconds(step, repeat: int, device: torch.device) -> float:
    """Mean wall time of ``step`` over ``repeat`` calls, after one warm-up call."""
    step()
    synchronise(device)
    start = time.perf_counter()
    for _ in range(repeat):
        step()
    synchronise(device)
    return (time.perf_counter() - start) / repeat


def vgg_pass(extractor: VGGFeatures, image: torch.Tensor) -> None:
    """One bare forward and backward pass through the VGG-19 layers the objective uses."""
    image.grad = None
    extractor(image)["relu5_1"].sum().backward()


def frame_inputs(clip: Clip, i: int, results: list) -> FrameInputs:
    """Inputs of frame i of a prepared pair, tied to frame i − 1's result when there is one (J = {1})."""
    return sequence.frame_inputs(clip, i, results)


def part_iteration(extractor, device, sizes=((256, 144), (512, 288)), iterations: int = 10, rounds: int = 5) -> None:
    print("\n## Seconds per iteration beside a bare VGG-19 pass\n")
    print(f"4 k-means classes, 3 temporal terms. {rounds} rounds, each: a bare pass (mean of 2), an evaluation")
    print(f"of the objective (mean of 2), {iterations} L-BFGS iterations (mean); the medians over the rounds, and the")
    print("ratio of each round (this machine's speed drifts by ±15 % over minutes: a round lasts seconds).\n")
    print("| size | VGG fwd+bwd (s) | evaluation (s) | L-BFGS iteration (s) | iteration ÷ VGG: median | rounds |")
    print("|---|---|---|---|---|---|")
    for width, height in sizes:
        clip = davis_pair(width, height)
        settings = Settings.defaults(iterations=iterations, tolerance=0.0)
        first = stylize(extractor, frame_inputs(clip, 0, []), replace(settings, coarse_scales=()), device)
        inputs = frame_inputs(clip, 1, [first])
        inputs = replace(inputs, previous=inputs.previous * 3)  # J = {1, 2, 4}: three temporal terms
        objective = Objective(extractor, inputs, settings, device)
        image = to_tensor(inputs.content, device).requires_grad_(True)

        def evaluation(objective=objective, image=image) -> None:
            image.grad = None
            sum(objective.terms(image).values()).backward()

        def iteration(objective=objective, start=inputs.content / 255.0) -> float:
            synchronise(device)
            begin = time.perf_counter()
            _, history = minimise(objective, start, device)
            synchronise(device)
            return (time.perf_counter() - begin) / len(history)

        measured = [
            (seconds(partial(vgg_pass, extractor, image), 2, device), seconds(evaluation, 2, device), iteration())
            for _ in range(rounds)
        ]
        bare, full, per_iteration = (float(np.median(column)) for column in zip(*measured, strict=True))
        ratios = sorted(it / vgg for vgg, _, it in measured)
        print(
            f"| {width}×{height} | {bare:.3f} | {full:.3f} | {per_iteration:.3f} | {float(np.median(ratios)):.2f} "
            f"| {', '.join(f'{r:.2f}' for r in ratios)} |"
        )


def part_frame(extractor, device, sizes=((512, 288), (1024, 576))) -> None:
    print("\n## Seconds per frame with the default settings (davis_bike_cutie frames 1 and 2, J = {1})\n")
    print("| size | frame 1 (cold start): s | iterations | frame 2 (warm start): s | iterations |")
    print("|---|---|---|---|---|")
    for width, height in sizes:
        clip = davis_pair(width, height)
        results, row = [], []
        for i in (0, 1):
            inputs = frame_inputs(clip, i, results)
            synchronise(device)
            start = time.perf_counter()
            results.append(stylize(extractor, inputs, clip.settings(), device))
            synchronise(device)
            row += [f"{time.perf_counter() - start:.1f}", str(len(results[-1].history))]
        print(f"| {width}×{height} | {' | '.join(row)} |")


def crossing(history: list[dict], target: float) -> tuple[int, float] | None:
    """(iterations, seconds) at which the full-size loss first comes within ``target``."""
    full = [h for h in history if h["scale"] == 1.0]
    for n, record in enumerate(full):
        if record["total"] <= target:
            return n + sum(h["scale"] != 1.0 for h in history), record["seconds"]
    return None


def stop_point(history: list[dict], settings: Settings) -> tuple[int, float, float]:
    """(iterations, seconds, loss) where the stopping rule of ``settings`` ends the full-size stage."""
    coarse = sum(h["scale"] != 1.0 for h in history)
    full = [h for h in history if h["scale"] == 1.0]
    totals = []
    for record in full:
        totals.append(record["total"])
        if converged(totals, settings):
            break
    return coarse + len(totals), full[len(totals) - 1]["seconds"], totals[-1]


def part_convergence(extractor, device, reference_iterations: int = 1000, cap: int = 250) -> None:
    print(f"\n## Iterations to reach the loss of a {reference_iterations}-iteration single-scale cold start (+2 %)\n")
    clip = davis_pair(256, 144)
    cold = Settings.defaults(iterations=reference_iterations, tolerance=0.0, init="frame", fill="frame")
    default = Settings.defaults()
    print(
        f"davis_bike_cutie frames 1 and 2 at {clip.frames[0].shape[1]}×{clip.frames[0].shape[0]}, "
        "4 k-means classes, J = {1}"
    )
    print(f"default stopping rule: tolerance {default.tolerance} over {default.window} iterations\n")
    print(
        "| frame | strategy | iterations to +2 % | seconds to +2 % | share of reference time "
        "| default stop: iterations | seconds | loss ÷ reference |"
    )
    print("|---|---|---|---|---|---|---|---|")
    results = []
    for i, label in ((0, "frame 1"), (1, "frame 2")):
        inputs = frame_inputs(clip, i, results)
        cold_inputs = replace(inputs, previous=inputs.previous, reliable=None)  # cold start, temporal term kept
        reference = stylize(extractor, cold_inputs, cold, device)
        target = 1.02 * reference.history[-1]["total"]
        ref_seconds = reference.history[-1]["seconds"]
        print(
            f"| {label} | reference: cold, single scale, {reference_iterations} it. "
            f"(loss {reference.history[-1]['total']:.4g}) | {len(reference.history)} | {ref_seconds:.1f} | 1.00 | | | |"
        )
        if i == 0:
            base = Settings.defaults(iterations=cap, tolerance=0.0, init="frame")
            strategies = {
                "single scale": base,
                "single scale, strong Wolfe line search": replace(base, line_search="strong_wolfe"),
                "coarse-to-fine ½ → 1": replace(base, coarse_scales=(0.5,)),
                "single scale, colour-transfer init (default)": replace(base, init="colour_transfer"),
                "single scale, L-BFGS history 10": replace(base, history_size=10),
            }
        else:
            base = Settings.defaults(iterations=cap // 2, tolerance=0.0)
            strategies = {
                "warm start, disocclusions from the colour map (default)": base,
                "warm start, disocclusions from the frame": replace(base, fill="frame"),
                "warm start, colour map, L-BFGS history 10": replace(base, history_size=10),
            }
        chosen = None
        for name, settings in strategies.items():
            run = stylize(extractor, inputs if i else cold_inputs, settings, device)
            reached = crossing(run.history, target)
            stop_it, stop_s, stop_loss = stop_point(run.history, default)
            cap_here = settings.iterations
            reach = (
                f"{reached[0]} | {reached[1]:.1f} | {reached[1] / ref_seconds:.2f}" if reached else f"> {cap_here} | | "
            )
            print(
                f"| {label} | {name} | {reach} | {stop_it} | {stop_s:.1f} | "
                f"{stop_loss / reference.history[-1]['total']:.3f} |"
            )
            if chosen is None:
                chosen = run
        results.append(reference if i == 0 else chosen)


def part_laplacian() -> None:
    from pymatting import cf_laplacian

    print("\n## Matting Laplacian: our per-window cache against pymatting's cf_laplacian\n")
    print("Product error: ‖M v − M_ref v‖ / ‖M_ref v‖ for v = the frame + uniform noise (0.1), float32 on the CPU;")
    print("M_ref = pymatting (float64 CSR) and a float64 reference built with extended precision (np.longdouble).\n")
    print(
        "| frame | size | pymatting build (s) | ours (s) | ratio | pymatting bytes/px | ours bytes/px "
        "| error vs pymatting | error vs long double | pymatting vs long double |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    frames = {
        "sintel alley_1 frame 1": DATA / "flow_gt/sintel_alley_1/clean/frame_0001.png",
        "davis bike 00000": DATA / "sequences/davis_bike_cutie/images/00000.jpg",
        "marple8 01": DATA / "sequences/fbms_marple8/frames/marple8_01.png",
        "style pair in26": DATA / "style_pairs/input/in26.png",
    }
    for name, path in frames.items():
        frame = read_rgb(path)
        cf_laplacian(frame[:8, :8] / 255.0)  # numba compilation outside the timing
        theirs_s = min(_timed(lambda frame=frame: cf_laplacian(frame / 255.0))[0] for _ in range(3))
        ours_s = min(_timed(lambda frame=frame: matting_coefficients(frame, 1e-7, 1))[0] for _ in range(3))
        matrix = cf_laplacian(frame / 255.0)
        coefficients = matting_coefficients(frame, 1e-7, 1)
        v = frame / 255.0 + np.random.default_rng(0).uniform(0, 0.1, frame.shape)
        ours = MattingLaplacian(coefficients, torch.device("cpu"))(
            torch.from_numpy(v.transpose(2, 0, 1).astype(np.float32))
        )
        ours = ours.numpy().transpose(1, 2, 0).reshape(-1, 3).astype(np.float64)
        theirs = matrix @ v.reshape(-1, 3)
        exact = _long_double_product(frame, v)
        n = frame.shape[0] * frame.shape[1]
        theirs_bytes = (matrix.data.nbytes + matrix.indices.nbytes + matrix.indptr.nbytes) / n

        def err(a, b):
            return np.linalg.norm(a - b) / np.linalg.norm(b)

        print(
            f"| {name} | {frame.shape[1]}×{frame.shape[0]} | {theirs_s:.3f} | {ours_s:.3f} | {ours_s / theirs_s:.2f} "
            f"| {theirs_bytes:.0f} | {coefficients.nbytes / n:.1f} | {err(ours, theirs):.1e} | {err(ours, exact):.1e} "
            f"| {err(theirs, exact):.1e} |"
        )


def _timed(step) -> tuple[float, object]:
    start = time.perf_counter()
    out = step()
    return time.perf_counter() - start, out


def _long_double_product(frame: np.ndarray, v: np.ndarray) -> np.ndarray:
    """M v from Levin et al.'s formula, window by window, in extended precision (independent of our code)."""
    from numpy.lib.stride_tricks import sliding_window_view

    image = frame.astype(np.longdouble) / 255
    h, w = frame.shape[:2]
    out = np.zeros((h, w, 3), np.longdouble)
    colours = sliding_window_view(image, (3, 3), axis=(0, 1)).reshape(h - 2, w - 2, 3, 9)
    values = sliding_window_view(v.astype(np.longdouble), (3, 3), axis=(0, 1)).reshape(h - 2, w - 2, 3, 9)
    centred = colours - colours.mean(axis=3, keepdims=True)
    cov = np.einsum("yxcn,yxdn->yxcd", centred, centred) / 9 + (1e-7 / 9) * np.eye(3, dtype=np.longdouble)
    inv = np.linalg.inv(cov.astype(np.float64)).astype(np.longdouble)  # LAPACK has no long double:
    inv = inv + np.einsum("yxab,yxbc->yxac", inv, np.eye(3) - np.einsum("yxab,yxbc->yxac", cov, inv))  # refine once
    c = np.einsum("yxdn,yxcn->yxcd", centred, values) / 9  # channel c of v, colour d
    a = np.einsum("yxde,yxce->yxcd", inv, c)
    result = values - values.mean(axis=3, keepdims=True) - np.einsum("yxdn,yxcd->yxcn", centred, a)
    for n in range(9):
        dy, dx = divmod(n, 3)
        out[dy : dy + h - 2, dx : dx + w - 2] += result[..., n]
    return out.reshape(-1, 3).astype(np.float64)


def part_metrics(
    extractor, device, longest: int = 256, sequences: tuple[str, ...] = tuple(SEQUENCES), gammas: tuple[float, ...] = ()
) -> None:
    """Each sequence with the temporal loss at the default γ (or at each of ``gammas``) and off (γ = 0)."""
    default = Settings.defaults().weights.temporal
    print(f"\n## Metrics on the shared sequences (longest side {longest}, 8 frames at most, J = {{1, 2, 4}})\n")
    print("Warping error (Lai et al.): RGB in [0, 1], flow between input frames, occlusions from the default")
    print("forward/backward check, mean over consecutive pairs. Photorealism: mean local-affine residual (0-255).")
    print(f"Style: mean over classes of the Lab statistics distance to the reference's class. Default γ: {default:g}\n")
    print(
        "| sequence | frames | temporal loss (γ) | warping error output | input | ratio | photorealism "
        "| + local affine | style fidelity | s/frame |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in sequences:
        frames, style = frames_of(name, longest)
        clip = prepare(frames, style)
        for gamma in (*(gammas or (default,)), 0.0):
            settings = Settings.defaults(weights={"temporal": gamma})
            start = time.perf_counter()
            results = stylize_clip(extractor, clip, device, settings)
            per_frame = (time.perf_counter() - start) / len(frames)
            outputs = [r.image / 255.0 for r in results]
            inputs = [f / 255.0 for f in frames]
            flows = [clip.backward[t, t - 1] for t in range(1, len(frames))]
            visible = [clip.reliable[t, t - 1] > 0.5 for t in range(1, len(frames))]
            out_err = video_warping_error(outputs, flows, visible)
            in_err = video_warping_error(inputs, flows, visible)
            optimised = [r.optimised / 255.0 for r in results]
            real = np.mean([affine_residual(i, o) for i, o in zip(inputs, optimised, strict=True)])
            smoothed = np.mean([affine_residual(i, o) for i, o in zip(inputs, outputs, strict=True)])
            fidelity = np.mean(
                [
                    np.mean(list(style_fidelity(o, lab, style / 255.0, clip.style_labels).values()))
                    for o, lab in zip(outputs, clip.labels, strict=True)
                ]
            )
            print(
                f"| {name} | {len(frames)} | {f'on ({gamma:g})' if gamma else 'off'} | {out_err:.5f} | {in_err:.5f} | "
                f"{out_err / in_err:.2f} | {real:.2f} | {smoothed:.2f} | {fidelity:.2f} | {per_frame:.1f} |"
            )


def _stylize_one_frame(size: tuple[int, int], threads: int, keep: bool, queue) -> None:
    torch.set_num_threads(threads)
    if keep:
        keep_freed_memory()
    settings = Settings.defaults(iterations=10, tolerance=0.0)
    extractor = random_extractor()
    clip = davis_pair(*size)
    first = stylize(extractor, frame_inputs(clip, 0, []), settings, torch.device("cpu"))
    inputs = frame_inputs(clip, 1, [first])
    stylize(extractor, replace(inputs, previous=inputs.previous * 3), settings, torch.device("cpu"))
    queue.put(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def part_memory(threads: int, keep: bool, size: tuple[int, int] = (512, 288)) -> None:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_stylize_one_frame, args=(size, threads, keep, queue))
    child.start()
    peak = queue.get()
    child.join()
    print(
        f"\n## Memory\n\nPeak resident memory of a process stylising frames at {size[0]}×{size[1]} on the CPU "
        f"(a cold start, then a warm start with 3 temporal terms): {peak:.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--parts", default="iteration,convergence,laplacian,metrics,memory")
    parser.add_argument("--sequences", default=",".join(SEQUENCES), help="metrics: which shared sequences")
    parser.add_argument("--temporal-weights", default="", help="metrics: γ values to compare (default: the default γ)")
    parser.add_argument(
        "--allocator",
        choices=("keep", "default"),
        default="keep",
        help="keep: freed memory stays in the process, as in the workflow's stylisation jobs; default: glibc's",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    keep = args.allocator == "keep" and keep_freed_memory()
    device = resolve_device(args.device)
    extractor = random_extractor().to(device)
    name = torch.cuda.get_device_name() if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"# benchmarks/stylize.py: {time.strftime('%Y-%m-%d')}, {name}, torch {torch.__version__}")
    print(f"Freed memory: {'kept in the process' if keep else 'the C library defaults'} (--allocator).")
    print("RANDOM VGG-19 weights (seed 0): timings hold for real weights; losses and metrics are those of random ones.")
    parts = args.parts.split(",")
    if "iteration" in parts:
        part_iteration(extractor, device)
    if "convergence" in parts:
        part_convergence(extractor, device)
    if "laplacian" in parts:
        part_laplacian()
    if "metrics" in parts:
        gammas = tuple(float(g) for g in args.temporal_weights.split(",") if g)
        part_metrics(extractor, device, sequences=tuple(args.sequences.split(",")), gammas=gammas)
    if "frame" in parts:
        part_frame(extractor, device)
    if "memory" in parts:
        part_memory(args.threads, keep)


if __name__ == "__main__":
    main()
