"""Rule metrics_report: the run's metrics as an HTML page and the time per rule as an SVG bar chart (matplotlib)."""

import json

from photostyle.atomic import write_text
from photostyle.logs import setup
from photostyle.report_page import metrics_page, times_chart

log = setup(snakemake.log[0])
with open(snakemake.input[0]) as handle:
    metrics = json.load(handle)
write_text(snakemake.output.table, metrics_page(metrics))
write_text(snakemake.output.times, times_chart(metrics))
log.info("metrics of run %s: %s, %s", metrics["run"], snakemake.output.table, snakemake.output.times)
