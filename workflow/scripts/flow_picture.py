"""Rule flow_picture: frames i - 1 and i, the flow i -> i - 1 in the Middlebury colour coding, and the
consistency weights of the pair."""

from photostyle.consistency import from_uint8
from photostyle.images import read_rgb, write_rgb
from photostyle.logs import setup
from photostyle.pairs import read_pairs
from photostyle.visual import flow_picture

log = setup(snakemake.log[0])
inputs = snakemake.input
i = int(snakemake.wildcards.i)
reliable = from_uint8(read_pairs(inputs.consistency, "reliable", i)[i - 1])
picture = flow_picture(
    read_rgb(inputs.earlier, "frame"),
    read_rgb(inputs.frame, "frame"),
    read_pairs(inputs.backward, "backward", i)[i - 1],
    reliable,
    i,
)
write_rgb(snakemake.output[0], picture)
log.info(
    "%s: %dx%d; %.1f %% of the pixels reliable",
    snakemake.output[0],
    picture.shape[1],
    picture.shape[0],
    100 * reliable.mean(),
)
