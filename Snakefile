# photostyle: photorealistic, temporally consistent style transfer of a reference photo onto videos.
# Stages: frames -> flow + consistency -> segmentation -> Matting Laplacian -> stylisation -> encoding;
# then the run's metrics and the pictures of `snakemake --report`.
from snakemake.utils import min_version, validate

from photostyle.inputs import check_yaml

min_version("9.0")

check_yaml("config/config.yaml")  # Snakemake's own message would not name the file


configfile: "config/config.yaml"


validate(config, "config/schema/config.schema.yaml", set_default=True)


include: "workflow/rules/common.smk"


# On a cluster these run where Snakemake runs instead of as jobs: each is a second of work, and
# frame_labels is a chain (frame i's labels fuse frame i - 1's) that would otherwise wait for a
# submission and a status poll at every frame.
localrules:
    all,
    frame_labels,
    metrics_report,
    loss_curves,
    frame_picture,
    resolution_picture,
    reference_picture,
    segmentation_picture,
    flow_picture,


include: "workflow/rules/frames.smk"
include: "workflow/rules/flow.smk"
include: "workflow/rules/segmentation.smk"
include: "workflow/rules/laplacian.smk"
include: "workflow/rules/stylize.smk"


if PROPAGATE:

    include: "workflow/rules/propagate.smk"


include: "workflow/rules/encode.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        expand("results/{run}/{run}.mp4", run=PLANS),
        expand("results/{run}/{run}_side_by_side.mp4", run=PLANS),
        [report_targets(run) for run in PLANS],
