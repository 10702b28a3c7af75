from fractions import Fraction

import av
import numpy as np
import pytest

from photostyle.demo import ensure_demo_inputs
from photostyle.errors import InputError
from photostyle.video import (
    AudioClip,
    decoded_frames,
    list_frame_files,
    probe_video,
    read_video_frame,
    run_ffmpeg,
    select_frames,
    video_writer,
)


@pytest.fixture(scope="module")
def demo_clip(tmp_path_factory):
    clip, _ = ensure_demo_inputs(tmp_path_factory.mktemp("demo"))
    return clip


def test_probe_and_exact_frame_decoding(demo_clip):
    from photostyle.demo import N_FRAMES, make_clip

    info = probe_video(demo_clip)
    assert info.n_frames == N_FRAMES and info.fps == 25 and (info.width, info.height) == (320, 200)
    assert info.audio_codec == "aac"
    import skimage.data

    truth = make_clip(skimage.data.rocket())
    for index in (0, 7, N_FRAMES - 1):
        frame = read_video_frame(demo_clip, info.pts[index]).astype(int)
        errors = [np.abs(frame - t).mean() for t in truth]
        assert int(np.argmin(errors)) == index and errors[index] < 5


def test_encode_decodes_with_frame_count_fps_and_audio(tmp_path, demo_clip):
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (48, 64, 3), dtype=np.uint8) for _ in range(10)]
    audio = AudioClip(str(demo_clip), "aac", 0.1, 0.4)
    with video_writer(tmp_path / "out.mp4", 64, 48, Fraction(30000, 1001), audio=audio, crf=18) as video:
        for frame in frames:
            video.write(frame)
    with av.open(str(tmp_path / "out.mp4")) as container:
        stream = container.streams.video[0]
        assert stream.average_rate == Fraction(30000, 1001)
        assert container.streams.audio and container.streams.audio[0].codec_context.name == "aac"
        assert sum(1 for _ in container.decode(stream)) == 10
    info = probe_video(tmp_path / "out.mp4")
    assert (info.n_frames, info.width, info.height) == (10, 64, 48)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary files left
    with pytest.raises(ValueError, match="even sides"), video_writer(tmp_path / "odd.mp4", 63, 48, 25, None, 18):
        pass
    with pytest.raises(ValueError, match="frame 1 is"), video_writer(tmp_path / "bad.mp4", 64, 48, 25, None, 18) as bad:
        bad.write(np.zeros((48, 66, 3), np.uint8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_decoded_frames_are_every_selected_frame_in_order(demo_clip):
    info = probe_video(demo_clip)
    chosen = [info.pts[i] for i in (3, 4, 9, 15)]
    decoded = list(decoded_frames(demo_clip, chosen))
    assert len(decoded) == 4
    for pts, frame in zip(chosen, decoded, strict=True):
        assert np.array_equal(frame, read_video_frame(demo_clip, pts))  # what seeking to each one gives


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "does not exist"), (b"", "is empty"), (b"this is not a video" * 100, "cannot be decoded")],
)
def test_bad_video_files_fail_early(tmp_path, content, message):
    path = tmp_path / "clip.mp4"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=f"clip.mp4 {message}"):
        probe_video(path)


def test_truncated_video_fails_early(tmp_path, demo_clip):
    data = demo_clip.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 3])
    with pytest.raises(InputError, match="cut.mp4"):
        probe_video(tmp_path / "cut.mp4")


def test_frame_selection_and_range_errors():
    assert select_frames(10, 1, None, 1, "v") == list(range(10))
    assert select_frames(10, 3, 9, 3, "v") == [2, 5, 8]
    with pytest.raises(InputError, match="input.last_frame=11"):
        select_frames(10, 1, 11, 1, "v")
    with pytest.raises(InputError, match="input.first_frame=12"):
        select_frames(10, 12, None, 1, "v")


def test_frame_folders(tmp_path):
    with pytest.raises(InputError, match="no PNG/JPG"):
        list_frame_files(tmp_path)
    (tmp_path / "b.png").write_bytes(b"")
    (tmp_path / "a.jpg").write_bytes(b"")
    (tmp_path / ".DS_Store").write_bytes(b"")
    assert [p.name for p in list_frame_files(tmp_path)] == ["a.jpg", "b.png"]
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="notes.txt"):
        list_frame_files(tmp_path)


def test_video_without_frames_is_refused(tmp_path):
    audio_only = tmp_path / "sound.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=duration=0.5", "-c:a", "aac", str(audio_only)])
    with pytest.raises(InputError, match="sound.mp4 has no video stream"):
        probe_video(audio_only)


@pytest.mark.parametrize(
    ("suffix", "codec"),
    [(".mov", ["-c:v", "copy"]), (".mkv", ["-c:v", "copy"]), (".avi", ["-c:v", "mpeg4", "-q:v", "2"]),
     (".webm", ["-c:v", "libvpx-vp9", "-crf", "20", "-b:v", "0", "-deadline", "realtime"])],
)  # fmt: skip
def test_every_container_gives_the_same_frames(tmp_path, demo_clip, suffix, codec):
    converted = tmp_path / f"clip{suffix}"
    run_ffmpeg(["-i", str(demo_clip), "-an", *codec, str(converted)])
    original, info = probe_video(demo_clip), probe_video(converted)
    assert info.n_frames == original.n_frames and info.fps == original.fps
    for index in (0, 9):
        ours = read_video_frame(converted, info.pts[index]).astype(int)
        reference = read_video_frame(demo_clip, original.pts[index]).astype(int)
        assert np.abs(ours - reference).mean() < 4
