"""Network segmentation through transformers, on a small randomly initialised SegFormer that the
tests save to a folder and load through the real code path (``segmentation.model``)."""

from __future__ import annotations

import numpy as np
import pytest

from photostyle.errors import InputError
from photostyle.scene_parsing import check_model_source, load_parser
from photostyle.segmentation import reference_segmentation
from tests.test_segmentation import SETTINGS


def test_network_gives_group_probabilities_at_frame_size(model_folder, photo):
    settings = {**SETTINGS, "model": str(model_folder), "size": 96}
    check_model_source(settings)
    parser = load_parser(settings, "cpu")
    frame = np.ascontiguousarray(photo[:75, :101])  # odd sizes: resized for inference, back to 75×101
    scores = parser.group_probabilities(frame, settings["size"])
    assert scores.shape == (10, 75, 101) and scores.dtype == np.float32
    assert np.isfinite(scores).all() and np.allclose(scores.sum(axis=0), 1.0, atol=1e-4)
    labels, classes = reference_segmentation("network", frame, settings, scene_parser=parser)
    assert labels.shape == (75, 101) and labels.max() < len(classes.names) == 10


def test_model_sources_that_cannot_work_name_the_key(tmp_path):
    empty = tmp_path / "model"
    empty.mkdir()
    (empty / "config.json").write_text("{}")
    for source in (empty, tmp_path / "missing"):
        with pytest.raises(InputError, match="segmentation.model"):
            check_model_source({**SETTINGS, "model": str(source)})
    check_model_source(SETTINGS)  # a hub id is checked when it is loaded
    with pytest.raises(InputError, match="segmentation.model: cannot load 'nobody-here/no-such-model'"):
        load_parser({**SETTINGS, "model": "nobody-here/no-such-model"}, "cpu")
