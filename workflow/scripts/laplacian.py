"""Rule laplacian: the Matting Laplacian of one frame at working size, as per-window coefficients in HDF5."""

from photostyle.images import read_rgb
from photostyle.logs import setup
from photostyle.matting import matting_coefficients, save_coefficients

log = setup(snakemake.log[0])
frame = read_rgb(snakemake.input[0], "frame")
coefficients = matting_coefficients(frame, eps=snakemake.params.eps, radius=snakemake.params.radius)
save_coefficients(snakemake.output[0], coefficients)
log.info("%dx%d frame: %.1f bytes per pixel", frame.shape[1], frame.shape[0],
         coefficients.nbytes / (frame.shape[0] * frame.shape[1]))  # fmt: skip
