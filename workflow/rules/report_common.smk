# Functions of the report rules (report.smk): which frames the report shows, the inputs of the
# metrics, the benchmark files of the run's jobs.
from photostyle.clip_metrics import evenly_spaced
from photostyle.vgg_layout import features_description

REPORT = "results/{run}/report"
FEATURES = features_description(config["models"])
RANDOM_WEIGHTS = FEATURES.startswith("RANDOM")


def report_frames(run):
    """The frames shown in the report (input | output, segmentation): evenly spaced over the clip."""
    return evenly_spaced(PLANS[run].n_frames, config["report"]["frames"])


def flow_frame(run):
    """The frame i whose flow to frame i - 1 the report shows (the middle one), or None for one frame."""
    n = PLANS[run].n_frames
    return max(2, n // 2 + 1) if n >= 2 else None


def resolution_frame(run):
    """The frame whose 100 % crop the report shows (source | bicubic | delivered): the middle one shown."""
    frames = report_frames(run)
    return frames[len(frames) // 2]


def frame_label(run, i):
    """Frame number i as a report label, padded to the width of the last frame number (the report
    sorts labels as text)."""
    return f"{int(i):0{len(str(PLANS[run].n_frames))}d}"


def report_targets(run):
    """Every product of this file for a run (targets of rule all)."""
    targets = [f"results/{run}/metrics.json", f"results/{run}/report/metrics.html"]
    targets += [f"results/{run}/report/times.svg", f"results/{run}/report/losses.svg"]
    targets += [f"results/{run}/report/reference.png"]
    targets += [f"results/{run}/report/frame_{i:05d}.png" for i in report_frames(run)]
    targets += [f"results/{run}/report/segmentation_{i:05d}.png" for i in report_frames(run)]
    targets.append(f"results/{run}/report/resolution_{resolution_frame(run):05d}.png")
    if flow_frame(run):
        targets.append(f"results/{run}/report/flow_{flow_frame(run):05d}.png")
    return targets


def benchmark_files(run):
    """Per rule of the pipeline, the benchmark files of the run's jobs (stale files of jobs that the
    current config no longer has are left out)."""
    bench = BENCH.format(run=run)
    frames = [f"{i:05d}" for i in frame_numbers(run)]
    pair_blocks = sorted({block(i) for i in frame_numbers(run) if i > 1})
    blocks = sorted({block(i) for i in frame_numbers(run)})
    optimised, propagation = frames, {}
    plan_file = f"results/{run}/keyframes.json"
    if PROPAGATE:  # read directly, not through the checkpoint: params are evaluated before it may have run
        plan = KeyframePlan.read(plan_file) if os.path.exists(plan_file) else KeyframePlan((), (), 0)
        optimised = [f"{k:05d}" for k in plan.keys]
        propagation = {
            "keyframes": [f"{bench}/keyframes.tsv"],
            "keyframe_pair": [f"{bench}/keyframe_pair/frame_{k:05d}.tsv" for k in plan.keys if plan.previous(k)],
            "propagate_block": [f"{bench}/propagate_block/block_{k:05d}.tsv" for k in plan.keys],
            "stylized_frame": [f"{bench}/stylized_frame/frame_{i}.tsv" for i in frames],
        }
    return {
        "frames": [f"{bench}/frames/frame_{i}.tsv" for i in frames],
        "flow_forward": [f"{bench}/flow_forward/block{b}.tsv" for b in pair_blocks],
        "flow_backward": [f"{bench}/flow_backward/block{b}.tsv" for b in pair_blocks],
        "consistency": [f"{bench}/consistency/block{b}.tsv" for b in pair_blocks],
        "segment_reference": [f"{bench}/segment_reference.tsv"],
        "segment_frame": [f"{bench}/segment_frame/block{b}.tsv" for b in blocks],
        "frame_labels": [f"{bench}/frame_labels/frame_{i}.tsv" for i in frames],
        "laplacian": [f"{bench}/laplacian/block{b}.tsv" for b in blocks],
        "cuts": [f"{bench}/cuts.tsv"],
        "stylize_frame": [f"{bench}/stylize_frame/frame_{i}.tsv" for i in optimised],
        "stylize_warmup": [f"{bench}/stylize_warmup/frame_{i:05d}.tsv" for i in CHUNKS[run].warmup_frames()],
        "encode": [f"{bench}/encode.tsv"],
        "side_by_side": [f"{bench}/side_by_side.tsv"],
    } | propagation


def metrics_inputs(wildcards):
    """Every frame with its output and labels, the flows and consistency weights of its pairs,
    the reference with its labels, and the encoded video (so that every stage has run)."""
    run = wildcards.run
    pair_blocks = sorted({block(i) for i in frame_numbers(run) if i > 1})  # blocks of the frames after the first
    return {
        "frames": all_frame_files(wildcards),
        "stylized": [stylized_file(run, i) for i in frame_numbers(run)],
        "labels": [f"results/{run}/segmentation/frame_{i:05d}.png" for i in frame_numbers(run)],
        "backward": [f"results/{run}/flow/backward_block{b}.npz" for b in pair_blocks],
        "consistency": [f"results/{run}/consistency/weights_block{b}.npz" for b in pair_blocks],
        "style": PLANS[run].run.style,
        "style_labels": f"results/{run}/segmentation/reference.png",
        "classes": f"results/{run}/segmentation/classes.json",
        "cuts": f"results/{run}/cuts.json",  # pairs across a shot cut are left out
        # only so that the delivery rules have run: their benchmarks
        "video": ancient(f"results/{run}/{run}.mp4"),
        "side_by_side": ancient(f"results/{run}/{run}_side_by_side.mp4"),
    } | (
        {"keyframes": f"results/{run}/keyframes.json"} if PROPAGATE else {}
    )  # the plan, for the times
