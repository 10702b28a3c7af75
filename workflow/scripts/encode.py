"""Rule encode: the stylised video (with the source's audio) and input | output side by side."""

from pathlib import Path

from photostyle.logs import setup
from photostyle.video import encode

log = setup(snakemake.log[0])
params = snakemake.params
n_frames = len(snakemake.input.stylized)
stylized = Path(snakemake.input.stylized[0]).parent
frames = Path(snakemake.input.frames[0]).parent
encode([stylized], n_frames, params.fps, snakemake.output.video, audio=params.audio, crf=params.crf)
encode([frames, stylized], n_frames, params.fps, snakemake.output.side_by_side, audio=params.audio, crf=params.crf)
log.info("%d frames at %s fps, audio: %s", n_frames, params.fps, params.audio)
