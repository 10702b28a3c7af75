"""Rules flow_forward and flow_backward: dense optical flow from the source frame to the target frame."""

from photostyle.flow import compute_flow, write_flo
from photostyle.images import read_rgb
from photostyle.logs import setup

log = setup(snakemake.log[0])
options = snakemake.params.flow
source, target = (read_rgb(path, "frame") for path in (snakemake.input.source, snakemake.input.target))
flow = compute_flow(source, target, **options, device=snakemake.config["device"])
write_flo(snakemake.output[0], flow)
log.info("%s: mean |flow| %.3f px (%s)", snakemake.output[0], float(((flow**2).sum(2) ** 0.5).mean()), options)
