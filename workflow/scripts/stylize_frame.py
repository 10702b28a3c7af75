"""Rule stylize_frame: optimise frame i against the reference, tied to the stylised frames i - j."""

from pathlib import Path

import torch

from photostyle.atomic import write_text
from photostyle.consistency import from_uint8
from photostyle.device import resolve_device
from photostyle.flow import read_flo, warp
from photostyle.images import read_gray, read_rgb, resize_longest, write_rgb
from photostyle.logs import setup
from photostyle.matting import load_laplacian
from photostyle.stylize import Objective, Previous, Settings, Weights, initial_image, stylize_frame
from photostyle.vgg import VGGFeatures, weights_from_config

log = setup(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
torch.use_deterministic_algorithms(True)
inputs, params = snakemake.input, snakemake.params
config = params.stylize
settings = Settings(
    weights=Weights(**config["weights"]),
    content_layers=tuple(config["content_layers"]),
    style_layers=tuple(config["style_layers"]),
    iterations=config["iterations"],
    style_fallback=params.style_fallback,
)
device = resolve_device(params.device)
weights = weights_from_config(params.models)
log.info("VGG-19 weights: %s; device %s; %d threads", weights.source, device, torch.get_num_threads())
if weights.random:
    note = Path(snakemake.output[0]).parent / "RANDOM_WEIGHTS.txt"
    write_text(note, "These frames were stylised with RANDOM VGG-19 weights (models.allow_random_weights: true).\n"
               "They demonstrate the pipeline, not the method. Set models.vgg19.path for real weights.\n")  # fmt: skip
extractor = VGGFeatures(weights.features, [*settings.content_layers, *settings.style_layers]).to(device)

frame = read_rgb(inputs.frame, "frame")
previous = [
    Previous(warp(read_rgb(image, "stylised frame") / 255.0, read_flo(flow)), from_uint8(read_gray(weight, "weights")))
    for image, flow, weight in zip(inputs.previous, inputs.backward, inputs.long, strict=True)
]
objective = Objective(
    extractor,
    content=frame,
    style=resize_longest(read_rgb(inputs.style, "style image"), params.style_size),
    content_labels=read_gray(inputs.labels, "label map"),
    style_labels=read_gray(inputs.style_labels, "label map"),
    laplacian=load_laplacian(inputs.laplacian),
    previous=previous,
    settings=settings,
    device=device,
)
reliable = from_uint8(read_gray(inputs.reliable, "weights")) if "reliable" in inputs.keys() else None
init = initial_image(frame, previous[0].warped if previous else None, reliable)
result = stylize_frame(objective, init, device)
write_rgb(snakemake.output[0], result.image)
first, last = result.history[0], result.history[-1]
log.info("%d evaluations; total loss %.6g -> %.6g", len(result.history), first["total"], last["total"])
