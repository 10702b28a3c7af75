"""Shot cuts (photostyle.cuts): found between two different shots, not within one."""

from __future__ import annotations

import numpy as np
import pytest

from photostyle.config import defaults
from photostyle.cuts import Cuts, detect_cuts
from photostyle.errors import InputError
from photostyle.images import read_rgb, resize_longest
from photostyle.video import list_frame_files

DEFAULT = defaults()["temporal"]["cut_threshold"]


def frames_of(folder, count: int) -> list[np.ndarray]:
    return [resize_longest(read_rgb(path), 192) for path in list_frame_files(folder)[:count]]


def test_two_sequences_back_to_back_have_one_cut_where_the_second_starts(shared):
    """Sintel's alley (8 frames: a camera move) then DAVIS's bike (4 frames: a moving subject)."""
    sequences = shared / "sequences"
    frames = frames_of(sequences / "sintel_alley_1_raft_demo", 8) + frames_of(sequences / "davis_bike_cutie/images", 4)
    cuts = detect_cuts(frames, DEFAULT)
    assert cuts.starts == [9]
    assert max(cuts.distances[:7] + cuts.distances[8:]) < DEFAULT / 2  # within a shot: well below
    assert [cuts.shot_start(i) for i in (1, 8, 9, 12)] == [1, 1, 9, 9]


def test_a_camera_pan_has_no_cut_and_threshold_one_finds_none(photo):
    pan = [np.ascontiguousarray(photo[40:200, 10 * n : 10 * n + 240]) for n in range(6)]
    assert detect_cuts(pan, DEFAULT).starts == []
    other = np.ascontiguousarray(255 - pan[0])
    assert detect_cuts([*pan, other], DEFAULT).starts == [7]
    assert detect_cuts([*pan, other], 1.0).starts == []  # a distance is at most 1


def test_cuts_file_round_trip_and_a_corrupt_file_names_itself(tmp_path):
    cuts = Cuts([0.05, 0.9, 0.1], 0.4)
    cuts.write(tmp_path / "cuts.json")
    again = Cuts.read(tmp_path / "cuts.json")
    assert again == cuts and again.starts == [3]
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(InputError, match="bad.json"):
        Cuts.read(tmp_path / "bad.json")
