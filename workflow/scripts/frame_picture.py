"""Rule frame_picture: input frame i beside its stylised frame."""

from photostyle.images import read_rgb, write_rgb
from photostyle.logs import setup
from photostyle.visual import panels

log = setup(snakemake.log[0])
inputs = snakemake.input
picture = panels(
    [read_rgb(inputs.frame, "frame"), read_rgb(inputs.stylized, "stylised frame")],
    [f"input, frame {int(snakemake.wildcards.i)}", "stylised"],
    min_height=240,
)
write_rgb(snakemake.output[0], picture)
log.info("%s: %dx%d", snakemake.output[0], picture.shape[1], picture.shape[0])
