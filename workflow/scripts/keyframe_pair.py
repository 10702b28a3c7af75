"""Rule keyframe_pair (propagate mode): the flow from keyframe i to the keyframe before it in its shot
and keyframe i's weights against it (c, and c_long = c: one earlier frame), as stylize_frame reads them."""

from photostyle.consistency import flow_pair, to_uint8
from photostyle.images import read_rgb
from photostyle.logs import setup
from photostyle.pairs import write_pairs

log = setup(snakemake.log[0])
inputs, params = snakemake.input, snakemake.params
i, k = int(snakemake.wildcards.i), params.previous
backward, reliable = flow_pair(
    read_rgb(inputs.frame, "frame"), read_rgb(inputs.previous, "frame"), params.flow, params.criteria, params.device
)
weights = {i: {k: to_uint8(reliable)}}
write_pairs(snakemake.output[0], {"backward": {i: {k: backward}}, "reliable": weights, "long": weights})
log.info("keyframe %d against keyframe %d: %.3f of the pixels reliable", i, k, float(reliable.mean()))
