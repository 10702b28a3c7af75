"""Chunked stylisation's plan (photostyle.chunks): which stylised frames each frame is tied to."""

from __future__ import annotations

import numpy as np
import pytest

from photostyle.chunks import Chunks, blend, seam_weight
from photostyle.errors import InputError

J = [1, 2, 4]


def test_one_chain_ties_each_frame_to_the_frames_before_it():
    chain = Chunks(0, 4, 20)
    assert chain.sources(10, J) == [(9, False), (8, False), (6, False)]
    assert chain.sources(2, J) == [(1, False)] and chain.sources(1, J) == []
    assert chain.warmup_frames() == [] and chain.seam_weight(10) == 0.0


def test_a_chunk_starts_from_the_warmup_versions_of_the_frames_before_it():
    chunks = Chunks(6, 4, 16)  # chunks start at frames 1, 7 and 13
    assert [chunks.start(i) for i in (1, 6, 7, 12, 13, 16)] == [1, 1, 7, 7, 13, 13]
    assert chunks.warmup_frames() == [3, 4, 5, 6, 9, 10, 11, 12]  # the last chunk has no successor
    assert chunks.sources(7, J) == [(6, True), (5, True), (3, True)]
    assert chunks.sources(8, J) == [(7, False), (6, True), (4, True)]
    assert chunks.sources(11, J) == [(10, False), (9, False), (7, False)]
    # a warm-up chain starts cold at its first frame and is tied to warm-up versions only
    assert chunks.sources(3, J, warmup=True) == []
    assert chunks.sources(5, J, warmup=True) == [(4, True), (3, True)]
    with pytest.raises(ValueError, match="not a warm-up frame"):
        chunks.sources(7, J, warmup=True)
    # the previous chunk's last frames move towards the warm-up versions
    assert [chunks.seam_weight(i) for i in (2, 3, 4, 5, 6, 7)] == [0.0, 0.2, 0.4, 0.6, 0.8, 0.0]


@pytest.mark.parametrize(("size", "overlap", "n_frames"), [(6, 4, 16), (10, 2, 95), (5, 4, 23), (3, 1, 7)])
def test_no_final_frame_waits_for_the_chunk_before_its_own(size, overlap, n_frames):
    """What makes chunks run in parallel: a final frame is tied only to final frames of its chunk."""
    chunks = Chunks(size, overlap, n_frames)
    for i in range(1, n_frames + 1):
        for k, from_warmup in chunks.sources(i, J):
            assert k >= chunks.start(i) or from_warmup, (i, k)
            assert 1 <= k < i
        if chunks.next_start(i):
            for k, from_warmup in chunks.sources(i, J, warmup=True):
                assert from_warmup and k >= chunks.next_start(i) - overlap


def test_an_overlap_as_long_as_the_chunk_is_refused_naming_both_keys():
    with pytest.raises(InputError, match=r"stylize.chunk_overlap \(6\).*stylize.chunk_frames \(6\)"):
        Chunks(6, 6, 20)


def test_blend_mixes_two_frames_by_weight():
    dark, light = np.zeros((2, 2, 3), np.uint8), np.full((2, 2, 3), 200, np.uint8)
    assert blend(dark, light, 0.0).max() == 0 and blend(dark, light, 1.0).min() == 200
    assert (blend(dark, light, 0.25) == 50).all()


def test_the_seam_moves_to_a_shot_cut_among_the_overlap_frames():
    seam = {"weight": 0.6, "next_chunk": 9}
    assert seam_weight(7, seam, lambda i: 1) == 0.6  # one shot: the chunk's warm-up version is blended in
    assert seam_weight(7, seam, lambda i: 8 if i >= 8 else 1) == 0.0  # a shot starts at 8, after frame 7
    assert seam_weight(8, seam, lambda i: 8 if i >= 8 else 1) == 0.6  # frame 8 is in the next chunk's shot
    assert seam_weight(7, None, lambda i: 1) == 0.0
