"""Input frames (video files through PyAV, or folders of images) and H.264 encoding through ffmpeg.

Frames are addressed by presentation timestamp, found once by demuxing (no decoding), so a
job can decode exactly one frame by seeking to the keyframe before it, also for videos with
B-frames or a variable frame rate.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np

from photostyle.atomic import atomic_path
from photostyle.errors import InputError
from photostyle.images import IMAGE_SUFFIXES, image_size

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v")
# The note a run on random VGG-19 weights leaves beside its stylised frames.
RANDOM_WEIGHTS_NOTE = "RANDOM_WEIGHTS.txt"
# Audio codecs an mp4 file can carry as they are; anything else is re-encoded to AAC.
MP4_AUDIO_CODECS = {"aac", "mp3", "alac", "opus", "ac3", "eac3", "flac"}


@dataclass(frozen=True)
class VideoInfo:
    """What the workflow needs to know about an input video before any job runs."""

    path: str
    width: int
    height: int
    fps: Fraction
    pts: tuple[int, ...]  # presentation timestamps of all frames, in display order
    time_base: Fraction
    audio_codec: str | None

    @property
    def n_frames(self) -> int:
        return len(self.pts)

    def seconds(self, index: int) -> float:
        """Presentation time of frame ``index`` (0-based) relative to the first frame."""
        return float((self.pts[index] - self.pts[0]) * self.time_base)


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Size, frame rate, frame timestamps and audio codec of a video; bad files raise early."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"video {path} does not exist")
    if path.stat().st_size == 0:
        raise InputError(f"video {path} is empty")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise InputError(f"video {path} has no video stream")
            stream = container.streams.video[0]
            audio = container.streams.audio[0].codec_context.name if container.streams.audio else None
            stamps = [
                packet.pts if packet.pts is not None else packet.dts
                for packet in container.demux(stream)
                if packet.size > 0
            ]
            fps = stream.average_rate or stream.guessed_rate or stream.base_rate
            width, height, time_base = stream.codec_context.width, stream.codec_context.height, stream.time_base
    except av.error.FFmpegError as exc:
        raise InputError(f"video {path} cannot be decoded: {exc}") from exc
    if not stamps:
        raise InputError(f"video {path} has zero frames")
    if any(stamp is None for stamp in stamps) or not fps or not time_base:
        raise InputError(f"video {path} has no frame timestamps or frame rate; convert it to mp4 first")
    return VideoInfo(str(path), width, height, Fraction(fps), tuple(sorted(stamps)), Fraction(time_base), audio)


def read_video_frame(path: str | os.PathLike, pts: int) -> np.ndarray:
    """Decode the frame with presentation timestamp ``pts`` as H×W×3 uint8 RGB."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            container.seek(pts, stream=stream, backward=True, any_frame=False)
            for frame in container.decode(stream):
                if frame.pts == pts:
                    return frame.to_ndarray(format="rgb24")
                if frame.pts is not None and frame.pts > pts:
                    break
    except av.error.FFmpegError as exc:
        raise InputError(f"video {path} cannot be decoded at pts {pts}: {exc}") from exc
    raise InputError(f"video {path} has no frame at pts {pts} (did the file change since the run started?)")


def list_frame_files(folder: str | os.PathLike, ignore: Collection[str] = ()) -> list[Path]:
    """Image files of a frames folder in name order; other files (except hidden ones and the names
    in ``ignore``) are refused."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"frames folder {folder} does not exist")
    files = sorted(p for p in folder.iterdir() if not p.name.startswith(".") and p.name not in ignore)
    others = [p.name for p in files if p.suffix.lower() not in IMAGE_SUFFIXES]
    if others:
        raise InputError(f"frames folder {folder} holds files that are not PNG/JPG frames: {others[:5]}")
    if not files:
        raise InputError(f"frames folder {folder} holds no PNG/JPG frames")
    return files


def check_same_size(files: list[Path], what: str) -> tuple[int, int]:
    """(width, height) shared by all image files (from their headers); another size or a non-image raises."""
    first = image_size(files[0], what)
    for path in files[1:]:
        size = image_size(path, what)
        if size != first:
            raise InputError(f"{what} {path} is {size[0]}×{size[1]}, but {files[0]} is {first[0]}×{first[1]}")
    return first


def select_frames(n_total: int, first: int, last: int | None, step: int, source: str) -> list[int]:
    """0-based indices of the source frames to use: ``first``..``last`` (1-based, inclusive), every ``step``-th."""
    last = n_total if last is None else last
    if first > n_total:
        raise InputError(f"input.first_frame={first} is past the end of {source} ({n_total} frames)")
    if last > n_total:
        raise InputError(f"input.last_frame={last} is past the end of {source} ({n_total} frames)")
    if last < first:
        raise InputError(f"input.last_frame={last} is before input.first_frame={first}")
    return list(range(first - 1, last, step))


def ffmpeg_exe() -> str:
    """The ffmpeg binary shipped with imageio-ffmpeg (built with libx264)."""
    return imageio_ffmpeg.get_ffmpeg_exe()


@dataclass(frozen=True)
class AudioClip:
    """The stretch of a source file's audio that belongs to the selected frames."""

    source: str
    codec: str
    start: float
    duration: float


class FramePipe:
    """The frames going into an ffmpeg process (H×W×3 uint8 RGB on its stdin), counted."""

    def __init__(self, process: subprocess.Popen, output: Path, shape: tuple[int, int, int]) -> None:
        self.process, self.output, self.shape, self.frames = process, output, shape, 0

    def write(self, rgb: np.ndarray) -> None:
        """Append one frame (the video's size, uint8 RGB)."""
        if rgb.shape != self.shape or rgb.dtype != np.uint8:
            raise ValueError(
                f"{self.output}: frame {self.frames + 1} is {rgb.shape} {rgb.dtype}, not {self.shape} uint8"
            )
        try:
            self.process.stdin.write(np.ascontiguousarray(rgb).data)
        except BrokenPipeError:
            self.process.wait()
            raise RuntimeError(f"ffmpeg failed writing {self.output}:\n{self.error()}") from None
        self.frames += 1

    def error(self) -> str:
        return self.process.stderr.read().decode(errors="replace").strip()


@contextlib.contextmanager
def video_writer(
    output: str | os.PathLike,
    width: int,
    height: int,
    fps: Fraction,
    audio: AudioClip | None,
    crf: int,
    preset: str = "medium",
) -> Iterator[FramePipe]:
    """An H.264 mp4 written frame by frame (``FramePipe.write``, display order), with an audio clip.

    yuv420p for players everywhere (so both sides must be even); the audio is copied when mp4 can
    carry its codec, else re-encoded to AAC. ffmpeg writes to a temporary name that is renamed only
    when every frame is in: a killed or failed delivery leaves no partial video under the final name.
    """
    if width % 2 or height % 2:
        raise ValueError(f"H.264 in yuv420p needs even sides, not {width}×{height}")
    cmd = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-framerate", str(fps), "-i", "-"]
    if audio is not None:
        cmd += ["-ss", f"{audio.start:.6f}", "-t", f"{audio.duration:.6f}", "-i", audio.source, "-map", "1:a:0"]
        cmd += ["-c:a", "copy"] if audio.codec in MP4_AUDIO_CODECS else ["-c:a", "aac", "-b:a", "192k"]
    cmd += ["-map", "0:v", "-c:v", "libx264", "-preset", preset, "-crf", str(crf)]
    cmd += ["-pix_fmt", "yuv420p", "-r", str(fps), "-movflags", "+faststart"]
    with atomic_path(output) as tmp:
        args = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *cmd, str(tmp)]
        process = subprocess.Popen(args, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        pipe = FramePipe(process, Path(output), (height, width, 3))
        try:
            yield pipe
        except BaseException:
            process.kill()
            process.wait()
            raise
        finally:
            if not process.stdin.closed:
                try:
                    process.stdin.close()
                except BrokenPipeError:
                    pass
        if process.wait() != 0:
            raise RuntimeError(f"ffmpeg failed writing {output}:\n{pipe.error()}")
        if pipe.frames == 0:
            raise ValueError(f"{output}: no frames were written")


def decoded_frames(path: str | os.PathLike, positions: Sequence[int]) -> Iterator[np.ndarray]:
    """The frames with presentation timestamps ``positions`` (ascending), decoded in one pass from
    the keyframe before the first: for delivery, which reads every selected frame in order."""
    wanted, last = set(positions), max(positions)
    found = 0
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            container.seek(min(positions), stream=stream, backward=True, any_frame=False)
            for frame in container.decode(stream):
                if frame.pts in wanted:
                    found += 1
                    yield frame.to_ndarray(format="rgb24")
                if frame.pts is not None and frame.pts >= last:
                    break
    except av.error.FFmpegError as exc:
        raise InputError(f"video {path} cannot be decoded: {exc}") from exc
    if found != len(wanted):
        raise InputError(
            f"video {path} gave {found} of its {len(wanted)} frames (did the file change since the run started?)"
        )


def run_ffmpeg(args: list[str]) -> None:
    """Run ffmpeg with an argument list (never through a shell); a failure raises with ffmpeg's message."""
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"ffmpeg failed writing {args[-1]}:\n{result.stderr.strip()}")
