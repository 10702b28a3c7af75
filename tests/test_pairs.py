"""Block files of pair data (photostyle.pairs): what the flow and consistency jobs of a block write."""

import numpy as np
import pytest

from photostyle.errors import InputError
from photostyle.pairs import block_number, pair_block_index, read_pairs, write_pairs


def test_a_block_round_trips_per_frame_and_kind(tmp_path):
    rng = np.random.default_rng(0)
    flows = {i: {k: rng.normal(size=(6, 9, 2)).astype(np.float32) for k in (i - 1, i - 2) if k >= 1} for i in (2, 3)}
    weights = {i: {k: rng.integers(0, 256, (6, 9), dtype=np.uint8) for k in flows[i]} for i in flows}
    path = tmp_path / "block00001.npz"
    write_pairs(path, {"backward": flows, "reliable": weights})
    for i in (2, 3):
        backward, reliable = read_pairs(path, "backward", i), read_pairs(path, "reliable", i)
        assert sorted(backward) == sorted(flows[i]) == sorted(reliable)
        for k in flows[i]:
            np.testing.assert_array_equal(backward[k], flows[i][k])
            assert backward[k].dtype == np.float32 and reliable[k].dtype == np.uint8
            np.testing.assert_array_equal(reliable[k], weights[i][k])
    assert [p.name for p in tmp_path.iterdir()] == ["block00001.npz"]  # no temporary file left


def test_missing_corrupt_or_incomplete_files_are_named(tmp_path):
    path = tmp_path / "block00002.npz"
    write_pairs(path, {"forward": {12: {11: np.full((4, 4, 2), np.nan, np.float32)}}})
    with pytest.raises(InputError, match="block00002.npz.*non-finite forward values.*12 and 11"):
        read_pairs(path, "forward", 12)
    with pytest.raises(InputError, match="block00002.npz holds no backward arrays of frame 12"):
        read_pairs(path, "backward", 12)
    with pytest.raises(InputError, match="block00002.npz holds no forward arrays of frame 13"):
        read_pairs(path, "forward", 13)
    (tmp_path / "cut.npz").write_bytes(path.read_bytes()[:100])
    for name in ("cut.npz", "missing.npz"):
        with pytest.raises(InputError, match=name):
            read_pairs(tmp_path / name, "forward", 12)


def test_block_of_a_frame_and_its_place_among_the_blocks_of_pairs():
    assert [block_number(i, 4) for i in range(1, 10)] == [1, 1, 1, 1, 2, 2, 2, 2, 3]
    assert [block_number(i, 1) for i in (1, 2, 3)] == [1, 2, 3]
    for frames_per_job in (1, 2, 3, 8):
        # the block files of the frames after the first, in block order, as the rules list them
        files = sorted({block_number(i, frames_per_job) for i in range(2, 30)})
        for i in range(2, 30):
            assert files[pair_block_index(i, frames_per_job)] == block_number(i, frames_per_job)
    assert pair_block_index(2, 1) == 0 and pair_block_index(5, 1) == 3  # no pairs of frame 1: block 1 not listed
    assert pair_block_index(2, 4) == 0 and pair_block_index(5, 4) == 1
