"""Rules flow_forward and flow_backward: dense optical flow between each frame i of a block and
each of its earlier frames k, from k to i (forward) or from i to k (backward), in one file."""

from photostyle.flow import compute_flow
from photostyle.images import read_rgb
from photostyle.logs import setup
from photostyle.pairs import pair_frame_numbers, write_pairs

log = setup(snakemake.log[0])
options, pairs = snakemake.params.flow, snakemake.params.pairs
direction = snakemake.params.direction  # the rule's name differs where the workflow is a module
numbers = pair_frame_numbers(pairs)
frames = {n: read_rgb(path, "frame") for n, path in zip(numbers, snakemake.input.frames, strict=True)}
flows = {}
for i, earlier in pairs.items():
    flows[i] = {}
    for k in earlier:
        source, target = (frames[k], frames[i]) if direction == "forward" else (frames[i], frames[k])
        flows[i][k] = compute_flow(source, target, **options, device=snakemake.config["device"])
        log.info("frames %d, %d: mean |flow| %.3f px", i, k, float(((flows[i][k] ** 2).sum(2) ** 0.5).mean()))
write_pairs(snakemake.output[0], {direction: flows})
log.info("%d pairs (%s)", sum(map(len, flows.values())), options)
