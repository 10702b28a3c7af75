"""Rule laplacian: the Matting Laplacian of each frame of a block at working size, as per-window
coefficients in one HDF5 file."""

from photostyle.images import read_rgb
from photostyle.logs import setup
from photostyle.matting import matting_coefficients, save_coefficients

log = setup(snakemake.log[0])
coefficients = {}
for i, path in zip(snakemake.params.frames, snakemake.input, strict=True):
    frame = read_rgb(path, "frame")
    coefficients[i] = matting_coefficients(frame, eps=snakemake.params.eps, radius=snakemake.params.radius)
    log.info("frame %d, %dx%d: %.1f bytes per pixel", i, frame.shape[1], frame.shape[0],
             coefficients[i].nbytes / (frame.shape[0] * frame.shape[1]))  # fmt: skip
save_coefficients(snakemake.output[0], coefficients)
