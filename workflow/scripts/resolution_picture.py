"""Rule resolution_picture: a 100 % crop of one frame at the delivered size: the source, the
working-size output enlarged by bicubic interpolation, and the delivered frame."""

import cv2

from photostyle.delivery import deliver_frame
from photostyle.device import resolve_device
from photostyle.images import read_rgb, write_rgb
from photostyle.logs import setup
from photostyle.video import read_video_frame
from photostyle.visual import crop_panels

log = setup(snakemake.log[0])
params, inputs = snakemake.params, snakemake.input
if isinstance(params.position, int):
    source = read_video_frame(inputs.source, params.position)
else:
    source = read_rgb(inputs.source, "frame")
frame, output = read_rgb(inputs.frame, "frame"), read_rgb(inputs.stylized, "stylised frame")
width, height = params.shape
device = resolve_device(params.device)
source, delivered = deliver_frame(source, frame, output, (width, height), params.delivery, device)
bicubic = cv2.resize(output, (width, height), interpolation=cv2.INTER_CUBIC)
picture, box = crop_panels(
    [source, bicubic, delivered],
    ["source", f"working size ({frame.shape[1]}x{frame.shape[0]}), bicubic", f"delivered ({width}x{height})"],
)
write_rgb(snakemake.output[0], picture)
log.info("%s: crop %s of %dx%d", snakemake.output[0], box, width, height)
