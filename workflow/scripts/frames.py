"""Rule frames: decode one frame (from the video or its image file) and resize it to working size."""

from photostyle.images import read_rgb, resize_longest, write_rgb
from photostyle.logs import setup
from photostyle.video import read_video_frame

log = setup(snakemake.log[0])
position = snakemake.params.position
if isinstance(position, int):
    rgb = read_video_frame(snakemake.input.source, position)
else:
    rgb = read_rgb(snakemake.input.source, "frame")
frame = resize_longest(rgb, snakemake.params.size)
write_rgb(snakemake.output[0], frame)
log.info("frame %s: source %s at %s, %dx%d -> %dx%d", snakemake.wildcards.i, snakemake.input.source,
         position, rgb.shape[1], rgb.shape[0], frame.shape[1], frame.shape[0])  # fmt: skip
