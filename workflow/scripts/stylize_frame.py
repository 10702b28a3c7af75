"""Rules stylize_frame and stylize_warmup: optimise frame i against the reference, tied to the optimised
frames i - j of its shot (params.earlier, in input.previous's order), then refit it by the local-affine
post-process (a keyframe of propagate mode: optimised at stylize.keyframe_scale with the keyframes'
stopping tolerance, brought to full size by its local affine maps); at a chunk seam, blend in the
next chunk's warm-up version. The loss terms at every evaluation go to a JSON file (the report draws
them)."""

import json
from pathlib import Path

import torch

from photostyle.allocator import keep_freed_memory
from photostyle.atomic import write_text
from photostyle.chunks import blend, seam_weight
from photostyle.consistency import from_uint8
from photostyle.cuts import Cuts
from photostyle.device import resolve_device
from photostyle.frame_inputs import assemble
from photostyle.images import read_gray, read_rgb, resize_longest, write_rgb
from photostyle.logs import setup
from photostyle.matting import load_coefficients
from photostyle.pairs import read_pairs
from photostyle.propagation import Keyframing, stylize_keyframe
from photostyle.stylize import Settings, stylize
from photostyle.vgg import VGGFeatures, weights_from_config
from photostyle.video import RANDOM_WEIGHTS_NOTE

log = setup(snakemake.log[0])
if snakemake.config["stylize"]["keep_freed_memory"] and not keep_freed_memory():
    log.info("stylize.keep_freed_memory: the C library is not glibc, freed memory goes back to the system")
torch.set_num_threads(snakemake.threads)
torch.use_deterministic_algorithms(True)
inputs, params = snakemake.input, snakemake.params
settings = Settings.from_config(params.stylize, params.style_fallback)
device = resolve_device(params.device)
network = weights_from_config(params.models)
log.info("features: %s; device %s; %d threads", network.source, device, torch.get_num_threads())
if network.random:
    note = Path(snakemake.output.image).parent / RANDOM_WEIGHTS_NOTE
    write_text(note, f"These frames were stylised with {network.source} (models.allow_random_weights).\n"
               "They demonstrate the pipeline, not the method. Set models.<network>.path.\n")  # fmt: skip
extractor = VGGFeatures.of(network, [*settings.content_layers, *settings.style_layers]).to(device)

i, earlier = int(snakemake.wildcards.i), params.earlier
cuts = Cuts.read(inputs.cuts) if "cuts" in inputs.keys() else None
optimised_files = dict(zip(earlier, inputs.previous, strict=True))
pairs = {"backward": read_pairs(inputs.backward, "backward", i)} if earlier else {}
pairs |= {kind: read_pairs(inputs.consistency, kind, i) for kind in ("reliable", "long")} if earlier else {}
frame_inputs = assemble(
    read_rgb(inputs.frame, "frame"),
    resize_longest(read_rgb(inputs.style, "style image"), params.style_size),
    read_gray(inputs.labels, "label map"),
    read_gray(inputs.style_labels, "label map"),
    load_coefficients(inputs.laplacian, i),
    i=i,
    earlier=earlier,
    shot_start=cuts.shot_start(i) if cuts else 1,
    optimised=lambda k: read_rgb(optimised_files[k], "optimised frame"),
    backward=pairs.get("backward", {}),
    reliable={k: from_uint8(c) for k, c in pairs.get("reliable", {}).items()},
    long={k: from_uint8(c) for k, c in pairs.get("long", {}).items()},
)
if "keyframe_scale" not in params.stylize:  # the keyframe settings are given in propagate mode only (common.smk)
    result = stylize(extractor, frame_inputs, settings, device)
else:
    keyframing = Keyframing.from_config(params.stylize)
    log.info("keyframe, optimised at %g x the working size, tolerance %g", keyframing.scale, keyframing.tolerance)
    result = stylize_keyframe(extractor, frame_inputs, settings, device, keyframing)
image, optimised = result.image, result.optimised
if params.seam:
    weight = seam_weight(i, params.seam, cuts.shot_start)
    log.info("seam with the chunk at frame %d: weight %.3f of its warm-up version", params.seam["next_chunk"], weight)
    image = blend(image, read_rgb(inputs.warmup, "warm-up frame"), weight)
    optimised = blend(optimised, read_rgb(inputs.warmup_optimised, "optimised warm-up frame"), weight)
write_rgb(snakemake.output.optimised, optimised)  # what later frames are tied to
write_rgb(snakemake.output.image, image)
write_text(snakemake.output.losses, json.dumps({"frame": i, "evaluations": result.history}))
first, last = result.history[0], result.history[-1]
log.info("%d evaluations; total loss %.6g -> %.6g", len(result.history), first["total"], last["total"])
