"""Rule consistency: reliable weights of frame i against frame k, and its long-term weights c_long."""

from photostyle.consistency import from_uint8, long_term_weights, reliable_weights, to_uint8
from photostyle.flow import read_flo
from photostyle.images import read_gray, read_rgb, write_gray
from photostyle.logs import setup

log = setup(snakemake.log[0])
inputs = snakemake.input
reliable = reliable_weights(
    forward=read_flo(inputs.forward),
    backward=read_flo(inputs.backward),
    frames=(read_rgb(inputs.frame, "frame"), read_rgb(inputs.earlier, "frame")),
    **snakemake.params.criteria,
)
nearer = [from_uint8(read_gray(path, "weights")) for path in inputs.nearer]
# long_term_weights needs the offsets only for their order: the nearer ones come first.
long = long_term_weights(dict(enumerate([*nearer, reliable])))[len(nearer)]
write_gray(snakemake.output.reliable, to_uint8(reliable))
write_gray(snakemake.output.long, to_uint8(long))
log.info("reliable share %.3f, long-term share %.3f", float(reliable.mean()), float(long.mean()))
