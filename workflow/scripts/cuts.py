"""Rule cuts: the frames where a new shot starts (colour histograms of consecutive frames), in cuts.json."""

from photostyle.cuts import detect_cuts
from photostyle.images import read_rgb
from photostyle.logs import setup

log = setup(snakemake.log[0])
cuts = detect_cuts((read_rgb(path, "frame") for path in snakemake.input), snakemake.params.threshold)
cuts.write(snakemake.output[0])
largest = max(cuts.distances, default=0.0)
log.info("%d frames; new shots start at frames %s; largest distance %.3f (threshold %s)",
         len(snakemake.input), cuts.starts or "none", largest, snakemake.params.threshold)  # fmt: skip
