"""Rule consistency: for each frame i of a block, its reliable weights against each earlier frame k
and the long-term weights c_long of the offsets j in J, in one file."""

from photostyle.consistency import long_term_weights, reliable_weights, to_uint8
from photostyle.images import read_rgb
from photostyle.logs import setup
from photostyle.pairs import pair_frame_numbers, read_pairs, write_pairs

log = setup(snakemake.log[0])
inputs, params = snakemake.input, snakemake.params
numbers = pair_frame_numbers(params.pairs)
frames = {n: read_rgb(path, "frame") for n, path in zip(numbers, inputs.frames, strict=True)}
reliable, long = {}, {}
for i, earlier in params.pairs.items():
    forward, backward = read_pairs(inputs.forward, "forward", i), read_pairs(inputs.backward, "backward", i)
    c = {
        k: reliable_weights(forward[k], backward[k], frames=(frames[i], frames[k]), **params.criteria) for k in earlier
    }
    reliable[i] = {k: to_uint8(weights) for k, weights in c.items()}
    in_j = long_term_weights({i - k: c[k] for k in earlier if i - k in params.offsets})
    long[i] = {i - j: to_uint8(weights) for j, weights in in_j.items()}
    log.info("frame %d: reliable share %s", i, ", ".join(f"{k}: {float(c[k].mean()):.3f}" for k in earlier))
write_pairs(snakemake.output[0], {"reliable": reliable, "long": long})
