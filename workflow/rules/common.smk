# Functions shared by the rules: the runs and their frame plans, and input paths per frame.
# The photostyle package comes from the environment Snakemake runs in (make demo / make test set it up).
import functools
import os

from snakemake.common import get_function_params, overwrite_function_params

from photostyle.demo import ensure_demo_inputs
from photostyle.chunks import Chunks
from photostyle.delivery import capped_shape, delivered_shape, delivery_options
from photostyle.errors import InputError
from photostyle.flow import flow_options
from photostyle.images import working_shape
from photostyle.inputs import check_models, check_network_settings, plan_run, read_runs
from photostyle.pairs import block_number, pair_frame_numbers
from photostyle.keyframes import KeyframePlan


wildcard_constraints:
    run=r"[A-Za-z0-9][A-Za-z0-9_.-]*",
    i=r"\d{5}",
    k=r"\d{5}",
    b=r"\d{5}",


def canonical(value):
    """A config value with dict keys sorted at every level: params that trigger reruns must not
    depend on the order in which a config file lists its keys."""
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value)}
    return value


if config["demo"]:
    ensure_demo_inputs("resources/demo")

PLANS = {run.run: plan_run(run, config["input"], config["segmentation"]) for run in read_runs(config["runs"])}
if workflow.is_main_process:  # not again in every job of a cluster run (it may download the weights)
    check_models(config["models"], config["stylize"])
J = sorted(config["temporal"]["offsets"])
LOGS = "results/{run}/logs"
BENCH = "results/{run}/benchmarks"
LAPLACIAN_FILE = "results/{run}/laplacian/block{b}.h5"
# Flows, consistency weights, segmentation scores and Laplacians are computed for blocks of this many
# consecutive frames, one job per block: a job per frame (or per pair) makes a long video's DAG slow to plan.
FRAMES_PER_JOB = config["frames_per_job"]
# Settings that reach rules as params (reruns follow them). Dict keys are sorted so that the
# order of keys in a config file never triggers a rerun; flow.method auto is resolved here
# (photostyle.flow.flow_options), so that weights appearing later rerun the flows.
FLOW_PARAMS = canonical(flow_options(config["flow"], config["models"]))
FLOW_MEM_MB = 6000 if FLOW_PARAMS["method"] == "raft" else 1500  # RAFT keeps a 4-level correlation volume
CONSISTENCY = canonical(config["consistency"])
# Segmentation settings by what they matter to: the keys of the chosen method reach the
# segmentation jobs; temporal_weight only the label fusion, fallback only the stylisation.
SEGMENTATION_KEYS = {
    "none": [],
    "masks": ["snap_distance", "max_unmatched"],
    "kmeans": ["classes", "position_weight"],
    "network": ["model", "revision", "size", "groups", "default_group", "snap_distance", "max_unmatched"],
}
SEGMENTATION = canonical(
    {key: config["segmentation"][key] for key in ["method", *SEGMENTATION_KEYS[config["segmentation"]["method"]]]}
)
FUSE_LABELS = SEGMENTATION["method"] in ("kmeans", "network") and config["segmentation"]["temporal_weight"] > 0
SEGMENTATION_MEM_MB = 6000 if SEGMENTATION["method"] == "network" else 1500
if SEGMENTATION["method"] == "network":
    check_network_settings(config["segmentation"])
STYLE_SIZE = config["stylize"]["style_size"] or config["input"]["size"]
STYLIZE = config["stylize"]
# stylize.mode: chain (every frame optimised, rule stylize_frame into stylized/) or propagate (the
# keyframes optimised into keyframes/, the frames between carried from them by propagate_block; rule
# stylized_frame then fills stylized/ from both). The keyframe settings reach the keyframes checkpoint,
# the refinement's (with the Laplacian's and the objective's weights) propagate_block.
PROPAGATE = STYLIZE["mode"] == "propagate"
KEYFRAMING_KEYS = ("keyframe_scale", "keyframe_tolerance")  # what propagation.Keyframing reads besides local_affine
PROPAGATION_KEYS = ("mode", "keyframe_every", "keyframe_min_reliable", *KEYFRAMING_KEYS, "refine_iterations")
KEYFRAME_PARAMS = canonical(
    {"every": STYLIZE["keyframe_every"], "min_reliable": STYLIZE["keyframe_min_reliable"]}
    | ({"flow": FLOW_PARAMS, "criteria": CONSISTENCY} if STYLIZE["keyframe_min_reliable"] > 0 else {})
)
# What photostyle.propagation.Refinement.from_config reads (that module imports torch: not here).
REFINEMENT = canonical(
    {
        "stylize": {"weights": STYLIZE["weights"], "refine_iterations": STYLIZE["refine_iterations"]},
        "laplacian": {key: config["laplacian"][key] for key in ("eps", "radius")},
    }
)
OPTIMISED_IMAGE = f"results/{{run}}/{'keyframes' if PROPAGATE else 'stylized'}/frame_{{i}}.png"
# Threads and keep_freed_memory change speed and memory, not the result: they stay out of the params
# that trigger reruns. The chunks reach each frame's job as the frames it is tied to and its seam
# weight, so that a new chunk size reruns only the frames whose chain changes. In propagate mode the
# keyframes' scale and tolerance join them (stylize_frame then optimises keyframes; the chain's params
# stay as they were).
STYLIZE_PARAMS = canonical(
    {
        key: value
        for key, value in STYLIZE.items()
        if key not in ("threads", "chunk_frames", "chunk_overlap", "keep_freed_memory", *PROPAGATION_KEYS)
    }
    | ({key: STYLIZE[key] for key in KEYFRAMING_KEYS} if PROPAGATE else {})
)
# Without temporal offsets the frames are independent already: no chunks.
if PROPAGATE and STYLIZE["chunk_frames"]:
    raise InputError(
        "stylize.chunk_frames applies to stylize.mode: chain; in propagate mode only the keyframes are "
        "optimised (chunks of the keyframe chain are not implemented): set it to 0"
    )
CHUNKS = {
    run: Chunks(STYLIZE["chunk_frames"] if J else 0, STYLIZE["chunk_overlap"], plan.n_frames)
    for run, plan in PLANS.items()
}
MODELS = canonical(config["models"])
# What the delivery rules (encode, side_by_side, resolution_picture) read besides the size they write.
DELIVERY = canonical(delivery_options(config["encode"]))


def planned(func):
    """``func`` with its parameters recorded once. Snakemake otherwise inspects the signature of a
    rule's input, params or resources function at every call (several per job): about 10 % of the
    time to plan a 3,000-frame video (benchmarks/dag.py). Snakemake's own ``ioutils`` record them
    the same way."""
    overwrite_function_params(func, get_function_params(func))
    return func


def grows(amount):
    """A resource (mem_mb, runtime) that is `amount` on the first attempt and grows with each retry
    (the profiles set `retries`): a job killed for memory or time gets more the next time."""
    if callable(amount):
        return planned(lambda wildcards, attempt: amount(wildcards) * attempt)
    return planned(lambda wildcards, attempt: amount * attempt)


def frame_numbers(run):
    """Output frame numbers 1..N of a run."""
    return range(1, PLANS[run].n_frames + 1)


@planned
def frame_position(wildcards):
    """Where frame i comes from: a timestamp of the video or its own image file."""
    return PLANS[wildcards.run].sources[int(wildcards.i) - 1]


@planned
def all_frame_files(wildcards):
    """Every frame of the run."""
    return [frame_file(wildcards.run, i) for i in frame_numbers(wildcards.run)]


@planned
def block_frame_files(wildcards):
    """The frames of block b."""
    return [frame_file(wildcards.run, i) for i in block_frames(wildcards)]


def stylize_sources(wildcards, warmup=False):
    """(k, optimised file) for the frames k = i - j (j in J) that frame i (its warm-up version with
    ``warmup``) is tied to: within its chunk, and the warm-up versions before it (photostyle.chunks).
    In propagate mode: the keyframe before keyframe i in its shot."""
    run, i = wildcards.run, int(wildcards.i)
    if PROPAGATE:
        previous = keyframe_plan(run).previous(i)
        return [] if previous is None else [(previous, optimised_file(run, previous))]
    return [
        (k, warmup_file(run, k, optimised=True) if from_warmup else optimised_file(run, k))
        for k, from_warmup in CHUNKS[run].sources(i, J, warmup)
    ]


@planned
def earlier_stylized(wildcards):
    """The frames k whose stylised frames frame i is tied to (the order of ``input.previous``)."""
    return [k for k, _ in stylize_sources(wildcards)]


@planned
def earlier_warmup(wildcards):
    """The frames k whose warm-up versions the warm-up version of frame i is tied to."""
    return [k for k, _ in stylize_sources(wildcards, warmup=True)]


@planned
def seam(wildcards):
    """Frame i's seam with the next chunk: the weight of the next chunk's warm-up version and that
    chunk's first frame, or None."""
    chunks, i = CHUNKS[wildcards.run], int(wildcards.i)
    start = chunks.next_start(i)
    return None if start is None else {"weight": chunks.seam_weight(i), "next_chunk": start}


@planned
def frame_source(wildcards):
    """The input file a frame is decoded from: the video, or its own image in a frames folder."""
    plan = PLANS[wildcards.run]
    return plan.run.video if plan.is_video else plan.sources[int(wildcards.i) - 1]


def frame_png(run, folder, i):
    """Path of frame i's picture in a run's folder (frames, stylized, optimised, warmup, …)."""
    return f"results/{run}/{folder}/frame_{int(i):05d}.png"


def frame_file(run, i):
    """Path of frame i of a run."""
    return frame_png(run, "frames", i)


def stylized_file(run, i):
    """Path of stylised frame i of a run."""
    return frame_png(run, "stylized", i)


def optimised_file(run, i):
    """Path of the optimiser's output for frame i, before the local-affine post-process: what the
    later frames of the chain are tied to."""
    return frame_png(run, "optimised", i)


def warmup_file(run, i, optimised=False):
    """Path of the warm-up version of frame i (stylised by the chunk after frame i's), or of the
    optimiser's output it was made from."""
    return frame_png(run, "warmup_optimised" if optimised else "warmup", i)


def working_pixels(run):
    """Pixels of a frame of the run at working size (for memory estimates)."""
    plan = PLANS[run]
    width, height = working_shape(plan.width, plan.height, config["input"]["size"])
    return width * height


def block(i):
    """Block number (5 digits) of frame i."""
    return f"{block_number(i, FRAMES_PER_JOB):05d}"


@planned
def block_frames(wildcards):
    """Frame numbers of block b of the run."""
    first = (int(wildcards.b) - 1) * FRAMES_PER_JOB + 1
    return list(range(first, min(first + FRAMES_PER_JOB, PLANS[wildcards.run].n_frames + 1)))


def earlier_frames(i):
    """The earlier frames k that frame i has flows and weights to: i - j for j in J, and i - 1
    always (label fusion and the warm start use it)."""
    return [i - j for j in sorted({*J, 1}) if i - j >= 1]


@planned
def block_pairs(wildcards):
    """{i: [k, ...]} for the frames i >= 2 of block b (what its flow and consistency jobs compute)."""
    return {i: earlier_frames(i) for i in block_frames(wildcards) if i > 1}


@planned
def block_pair_frames(wildcards):
    """Every frame that the pairs of block b involve, in frame order."""
    return [frame_file(wildcards.run, n) for n in pair_frame_numbers(block_pairs(wildcards))]


def pair_file(run, kind, i):
    """The block file holding frame i's flows (kind flow/forward, flow/backward) or weights (consistency)."""
    return f"results/{run}/{kind}_block{block(i)}.npz"


def reference_inputs(wildcards):
    """The reference, and what the segmentation method needs besides it (an edited reference
    segmentation replaces the network's when the run has one)."""
    plan = PLANS[wildcards.run]
    inputs = {"style": plan.run.style}
    if SEGMENTATION["method"] == "masks" or (SEGMENTATION["method"] == "network" and plan.run.style_mask):
        inputs["style_mask"] = plan.run.style_mask
    if SEGMENTATION["method"] == "kmeans":
        inputs["first_frame"] = frame_file(wildcards.run, 1)
    return inputs


@planned
def block_segmentation_inputs(wildcards):
    """The frames of block b, and their hand-drawn masks (masks) or the run's fitted clusters (kmeans)."""
    inputs = {"frames": block_frame_files(wildcards)} | kmeans_classes(wildcards.run)
    if SEGMENTATION["method"] == "masks":
        inputs["masks"] = [PLANS[wildcards.run].masks[i - 1] for i in block_frames(wildcards)]
    return inputs


def kmeans_classes(run):
    """classes.json, which frames need only for kmeans (its clusters): the other methods take
    their classes from the config, so an edited reference mask does not redo the frames."""
    return {"classes": f"results/{run}/segmentation/classes.json"} if SEGMENTATION["method"] == "kmeans" else {}


@planned
def frame_labels_inputs(wildcards):
    """Frame i's scores, and when labels are fused over time: frame i - 1's fused scores, the flow
    i -> i - 1, its consistency weights and the shot cuts (no fusion across a cut)."""
    run, i = wildcards.run, int(wildcards.i)
    inputs = {"scores": f"results/{run}/segmentation/scores_block{block(i)}.npz", "frame": frame_file(run, i)}
    inputs |= kmeans_classes(run)
    if FUSE_LABELS and i > 1:
        inputs["previous"] = f"results/{run}/segmentation/fused_{i - 1:05d}.npz"
        inputs["backward"] = pair_file(run, "flow/backward", i)
        inputs["consistency"] = pair_file(run, "consistency/weights", i)
        inputs["cuts"] = f"results/{run}/cuts.json"
    return inputs


def stylize_inputs(wildcards, warmup=False):
    """The frame, its labels and Laplacian, and for each j in J the stylised frame i - j with the
    flows and weights of frame i's pairs (none when J is empty: frames stylised on their own); the
    shot cuts when it has earlier frames or a seam, and the next chunk's warm-up version of it at a seam."""
    run, i = wildcards.run, wildcards.i
    inputs = {
        "frame": frame_file(run, i),
        "style": PLANS[run].run.style,
        "labels": f"results/{run}/segmentation/frame_{i}.png",
        "style_labels": f"results/{run}/segmentation/reference.png",
        "laplacian": LAPLACIAN_FILE.format(run=run, b=block(i)),
        "previous": [path for _, path in stylize_sources(wildcards, warmup)],
    }
    if inputs["previous"] and PROPAGATE:  # one file holds the flow to the keyframe before and the weights
        inputs["backward"] = inputs["consistency"] = f"results/{run}/keyframe_pairs/frame_{i}.npz"
    elif inputs["previous"]:
        inputs["backward"] = pair_file(run, "flow/backward", i)
        inputs["consistency"] = pair_file(run, "consistency/weights", i)
    if not warmup and seam(wildcards):
        inputs["warmup"] = warmup_file(run, i)
        inputs["warmup_optimised"] = warmup_file(run, i, optimised=True)
    if inputs["previous"] or "warmup" in inputs:
        inputs["cuts"] = f"results/{run}/cuts.json"
    return inputs


@planned
def frame_stylize_inputs(wildcards):
    """stylize_frame's inputs."""
    return stylize_inputs(wildcards)


@planned
def warmup_stylize_inputs(wildcards):
    """stylize_warmup's inputs."""
    return stylize_inputs(wildcards, warmup=True)


def keyframe_plan(run):
    """The run's keyframes and shot starts (propagate mode), once the keyframes checkpoint has run
    (read once per version of the file: input functions ask for it at every job)."""
    path = checkpoints.keyframes.get(run=run).output[0]
    return read_keyframe_plan(path, os.stat(path).st_mtime_ns)


@functools.cache
def read_keyframe_plan(path, version):
    """The plan in ``path``; ``version`` (its modification time) makes a rewritten file a new key."""
    return KeyframePlan.read(path)


def optimised_frames(run):
    """The frames the optimiser stylises: every frame, or the keyframes in propagate mode."""
    return keyframe_plan(run).keys if PROPAGATE else frame_numbers(run)


@planned
def keyframe_pair_inputs(wildcards):
    """Keyframe i and the keyframe before it in its shot."""
    previous = keyframe_plan(wildcards.run).previous(int(wildcards.i))
    return {"frame": frame_file(wildcards.run, wildcards.i), "previous": frame_file(wildcards.run, previous)}


@planned
def propagate_block_inputs(wildcards):
    """The frames of keyframe k's block with their labels, keyframe k's output, the next keyframe's
    when the block ends with it (same shot), and, unless k starts a shot, the frame before k with the
    block that holds its output (keyframe k is shown tied to it)."""
    run, k = wildcards.run, int(wildcards.k)
    plan = keyframe_plan(run)
    end, tied = plan.block(k)
    numbers = range(k, end + 1)
    inputs = {
        "frames": [frame_file(run, i) for i in numbers],
        "labels": [f"results/{run}/segmentation/frame_{i:05d}.png" for i in numbers],
        "first": frame_png(run, "keyframes", k),
    }
    if tied:
        inputs["last"] = frame_png(run, "keyframes", end)
    previous = plan.previous(k)
    if previous is not None:
        inputs["before_frame"] = frame_file(run, k - 1)
        inputs["before_block"] = f"results/{run}/propagated/block_{previous:05d}"
    return inputs


@planned
def propagated_source(wildcards):
    """The block folder that holds stylised frame i in propagate mode (its keyframe's block)."""
    run, i = wildcards.run, int(wildcards.i)
    return f"results/{run}/propagated/block_{keyframe_plan(run).key_of(i):05d}"


def delivered_size(run):
    """(width, height) of the run's written video (encode.size)."""
    plan = PLANS[run]
    return delivered_shape(plan.width, plan.height, config["encode"]["size"], config["input"]["size"])


def side_by_side_size(run):
    """(width, height) of each half of the side-by-side video: the delivered size, capped."""
    return capped_shape(*delivered_size(run), config["encode"]["side_by_side_size"])


def delivery_mem_mb(shape):
    """Memory of a delivery job for frames of ``shape``: the resized maps (12 float32 a pixel) and
    the frame's copies, about 125 bytes a pixel, beside the encoder."""
    return 1000 + shape[0] * shape[1] // 8000


def delivery_seconds(shape):
    """Seconds a frame of ``shape`` takes to deliver, generously (a 4K frame: 2 s)."""
    return 1 + shape[0] * shape[1] // 4_000_000


@planned
def delivery_inputs(wildcards):
    """The working-size frames and their outputs, and the source: the video, or every frame file.
    Propagate mode: the keyframe plan as a plain input, so that a switch from chain mode runs the
    keyframes checkpoint (Snakemake does not weigh the triggers of a job that waits for one)."""
    run = wildcards.run
    plan = PLANS[run]
    return {
        "frames": [frame_file(run, i) for i in frame_numbers(run)],
        "stylized": [stylized_file(run, i) for i in frame_numbers(run)],
        "source": plan.run.video if plan.is_video else list(plan.sources),
        "plan": f"results/{run}/keyframes.json" if PROPAGATE else [],
    }
