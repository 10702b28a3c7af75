"""Rule segmentation_picture: frame i beside its labels blended over it, with the legend."""

from photostyle.images import read_gray, read_rgb, write_rgb
from photostyle.logs import setup
from photostyle.segmentation import Classes
from photostyle.visual import segmentation_picture

log = setup(snakemake.log[0])
inputs = snakemake.input
classes = Classes.from_json(open(inputs.classes).read())
picture = segmentation_picture(
    read_rgb(inputs.frame, "frame"),
    read_rgb(inputs.overlay, "overlay"),
    read_gray(inputs.labels, "label map"),
    classes.names,
    classes.colours,
    [f"frame {int(snakemake.wildcards.i)}", "labels"],
)
write_rgb(snakemake.output[0], picture)
log.info("%s: %dx%d", snakemake.output[0], picture.shape[1], picture.shape[0])
