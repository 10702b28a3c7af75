"""Rule laplacian: the Matting Laplacian of one frame at working size, cached as HDF5."""

from photostyle.images import read_rgb
from photostyle.logs import setup
from photostyle.matting import matting_laplacian, save_laplacian

log = setup(snakemake.log[0])
eps, radius = snakemake.params.eps, snakemake.params.radius
frame = read_rgb(snakemake.input[0], "frame")
matrix = matting_laplacian(frame / 255.0, eps=eps, radius=radius)
save_laplacian(snakemake.output[0], matrix, eps=eps, radius=radius)
log.info("%dx%d frame: %d non-zeros, %.1f MiB", frame.shape[1], frame.shape[0], matrix.nnz,
         (matrix.data.nbytes + matrix.indices.nbytes + matrix.indptr.nbytes) / 2**20)  # fmt: skip
