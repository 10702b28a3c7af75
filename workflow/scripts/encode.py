"""Rules encode and side_by_side: the stylised video at the delivered size (``encode.size``), or
input | output at a capped size, with the source's audio: frames decoded from the source,
recoloured by their working-size output's maps and encoded in one stream (photostyle.delivery)."""

import torch

from photostyle.delivery import Stream, write_video
from photostyle.device import resolve_device
from photostyle.logs import setup

log = setup(snakemake.log[0])
params = snakemake.params
torch.set_num_threads(snakemake.threads)
device = resolve_device(params.device)
stream = Stream(params.source, params.positions, snakemake.input.frames, snakemake.input.stylized)
encoding = {"fps": params.fps, "audio": params.audio, "crf": params.crf, "preset": params.preset}
n = write_video(snakemake.output[0], stream, params.shape, params.delivery, device, encoding, params.side_by_side)
log.info("%d frames of %dx%d (side by side: %s), %s fps, on %s, audio: %s",
         n, *params.shape, params.side_by_side, params.fps, device, params.audio)  # fmt: skip
