"""Rule reference_picture: the reference beside its segmentation, with the legend of its classes."""

from photostyle.images import read_gray, read_rgb, resize_longest, write_rgb
from photostyle.logs import setup
from photostyle.segmentation import Classes
from photostyle.visual import segmentation_picture

log = setup(snakemake.log[0])
inputs = snakemake.input
classes = Classes.from_json(open(inputs.classes).read())
picture = segmentation_picture(
    resize_longest(read_rgb(inputs.style, "style image"), snakemake.params.style_size),
    read_rgb(inputs.colour, "reference segmentation"),
    read_gray(inputs.labels, "label map"),
    classes.names,
    classes.colours,
    ["reference", f"segmentation ({classes.method})"],
)
write_rgb(snakemake.output[0], picture)
log.info("%s: %dx%d", snakemake.output[0], picture.shape[1], picture.shape[0])
