"""Delivery at the source's resolution (photostyle.delivery): sizes, fidelity to the working-size
output, the source's detail, videos of a video and of a frames folder (odd sizes too), no partial
video after a failure or a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import skimage.data

from photostyle.colour import fit_affine, local_affine, transfer_statistics
from photostyle.delivery import Stream, apply_at, capped_shape, deliver_frame, delivered_shape, fit_maps, write_video
from photostyle.images import resize_longest, write_rgb
from photostyle.inputs import Run, plan_run
from photostyle.video import probe_video

OPTIONS = {"radius": 2, "eps": 1e-4}  # the schema's encode.map_radius, encode.map_eps
ENCODING = {"fps": Fraction(25), "audio": None, "crf": 18, "preset": "veryfast"}


def stylised(frame: np.ndarray) -> np.ndarray:
    """A stylised-looking output of a working-size frame: each of three tone classes given the Lab
    statistics of the same class of a warm reference, under a smooth gain across the frame, then
    made locally affine by the chain's local-affine post-process (its window: 3 % of the side)."""
    luma = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    labels = np.digitize(luma, np.quantile(luma, [0.33, 0.66])).astype(np.uint8)
    reference = np.ascontiguousarray(skimage.data.coffee()[::4, ::4])
    ref_luma = cv2.cvtColor(reference, cv2.COLOR_RGB2GRAY)
    ref_labels = np.digitize(ref_luma, np.quantile(ref_luma, [0.33, 0.66])).astype(np.uint8)
    out = transfer_statistics(frame / 255.0, labels, reference, ref_labels)
    h, w = frame.shape[:2]
    x = np.arange(w, dtype=np.float32)[None, :, None]
    out = out * (0.85 + 0.15 * np.cos(2 * np.pi * x / w))
    out = local_affine(frame / 255.0, np.clip(out, 0, 1), radius=max(1, round(0.03 * max(h, w))), eps=1e-4)
    return np.round(out * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def source() -> np.ndarray:
    """A 512×512 photo with fine detail (scikit-image's astronaut) and its 128-px working frame."""
    return skimage.data.astronaut()


def luma_high_pass(rgb: np.ndarray) -> np.ndarray:
    luma = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return luma - cv2.GaussianBlur(luma, (0, 0), 1.5)


def test_delivered_sizes():
    assert delivered_shape(1920, 1080, "source", 512) == (1920, 1080)
    assert delivered_shape(1023, 435, "source", 512) == (1022, 434)  # H.264 yuv420p: the odd last column/row go
    assert delivered_shape(1920, 1080, "working", 512) == (512, 288)
    assert delivered_shape(3840, 2160, 1920, 512) == (1920, 1080)
    assert delivered_shape(1023, 435, "working", None) == (1024, 436)  # working size null: the frames' even size
    assert capped_shape(3840, 2160, 1920) == (1920, 1080)
    assert capped_shape(1280, 720, 1920) == (1280, 720)  # never enlarged
    assert capped_shape(3840, 2160, None) == (3840, 2160)


def test_the_delivered_frame_has_the_working_output_s_look_and_the_source_s_detail(source):
    frame = resize_longest(source, 128)
    output = stylised(frame)
    full, delivered = deliver_frame(source, frame, output, (512, 512), OPTIONS, "cpu")
    assert full is not None and delivered.shape == (512, 512, 3) and delivered.dtype == np.uint8
    # downscaled as the frames are, the delivered frame is the working-size output (within 2 grey levels)
    back = cv2.resize(delivered, (128, 128), interpolation=cv2.INTER_AREA).astype(float)
    assert np.abs(back - output).mean() < 2.0
    # and it keeps the source's fine detail, which the bicubic upscale of the output cannot have
    bicubic = cv2.resize(output, (512, 512), interpolation=cv2.INTER_CUBIC)
    reference = luma_high_pass(source).ravel()

    def detail(image: np.ndarray) -> float:
        return float(np.corrcoef(luma_high_pass(image).ravel(), reference)[0, 1])

    assert detail(delivered) > 0.8 and detail(bicubic) < 0.5, (detail(delivered), detail(bicubic))
    # one global colour map would keep the detail too, but not the look: the local maps are needed
    pixels = frame.reshape(-1, 3) / 255.0
    matrix = fit_affine(pixels, output.reshape(-1, 3) / 255.0)
    whole = np.clip(pixels @ matrix[:3] + matrix[3], 0, 1) * 255
    assert np.abs(whole.reshape(output.shape) - output).mean() > 4 * np.abs(back - output).mean()


def test_applying_the_maps_at_the_working_size_is_the_guided_filter(source):
    frame = resize_longest(source, 128)
    output = stylised(frame)
    maps = fit_maps(frame, output, **OPTIONS)
    same = apply_at(maps, frame)
    assert np.abs(same.astype(int) - output).mean() < 1.5


def odd_frames(folder: Path, n: int, width: int, height: int) -> list[np.ndarray]:
    """``n`` frames of a pan over the astronaut at width × height, written as PNGs into ``folder``."""
    photo = skimage.data.astronaut()
    frames = [np.ascontiguousarray(photo[40 + 2 * t : 40 + 2 * t + height, 60 + 3 * t : 60 + 3 * t + width])
              for t in range(n)]  # fmt: skip
    for t, frame in enumerate(frames):
        write_rgb(folder / f"f{t:03d}.png", frame)
    return frames


def lossless_video(path: Path, frames: list[np.ndarray]) -> None:
    """The frames as an FFV1 video (lossless; any size, odd included)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "bgr0"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


def deliver_run(tmp_path: Path, video: Path, size: str | int = "source") -> tuple[Path, list[np.ndarray]]:
    """What the workflow does for a run of ``video`` at working size 64: plan it, write the working
    frames and their outputs (rule frames and a stand-in stylisation), deliver it (rule encode)."""
    plan = plan_run(Run("r", str(video), str(tmp_path / "style.png")), {"first_frame": 1, "last_frame": None,
                    "step": 1, "size": 64, "folder_fps": 25}, {"method": "kmeans"})  # fmt: skip
    from photostyle.delivery import source_frames

    files: dict[str, list[str]] = {"frames": [], "stylized": []}
    sources = list(source_frames(plan.run.video if plan.is_video else "", plan.sources))
    for i, full in enumerate(sources, start=1):
        frame = resize_longest(full, 64)
        for kind, image in (("frames", frame), ("stylized", stylised(frame))):
            files[kind].append(str(tmp_path / kind / f"frame_{i:05d}.png"))
            write_rgb(files[kind][-1], image)
    stream = Stream(plan.run.video, plan.sources, files["frames"], files["stylized"])
    shape = delivered_shape(plan.width, plan.height, size, 64)
    out = tmp_path / "out.mp4"
    assert write_video(out, stream, shape, OPTIONS, "cpu", ENCODING) == plan.n_frames
    return out, sources


@pytest.mark.parametrize("kind", ["video", "folder"])
@pytest.mark.parametrize(("width", "height"), [(160, 100), (161, 101)])
def test_the_written_video_has_the_source_s_size(tmp_path, kind, width, height):
    frames = odd_frames(tmp_path / "frames", 6, width, height)
    write_rgb(tmp_path / "style.png", skimage.data.coffee()[::4, ::4])
    video = tmp_path / "frames"
    if kind == "video":
        video = tmp_path / "clip.mkv"
        lossless_video(video, frames)
    out, sources = deliver_run(tmp_path, video)
    info = probe_video(out)
    assert (info.width, info.height, info.n_frames) == (width - width % 2, height - height % 2, 6)
    assert all(np.array_equal(s, f) for s, f in zip(sources, frames, strict=True))  # every frame decoded in order
    with av.open(str(out)) as container:
        written = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    # frame by frame the written frame has the source's detail where it is (the order is kept)
    for t in (0, 5):
        kept = luma_high_pass(written[t][:, :160]).ravel()
        detail = [np.corrcoef(kept, luma_high_pass(f[: height - height % 2, :160]).ravel())[0, 1] for f in frames]
        assert int(np.argmax(detail)) == t and detail[t] > 0.7, detail


def test_a_failure_during_delivery_leaves_no_video(tmp_path):
    class Broken(Stream):
        def pairs(self, shape, options, device):
            yield np.zeros((64, 64, 3), np.uint8), np.zeros((64, 64, 3), np.uint8)
            raise RuntimeError("decoder gave out")

    with pytest.raises(RuntimeError, match="decoder gave out"):
        write_video(tmp_path / "out.mp4", Broken("", [], [], []), (64, 64), OPTIONS, "cpu", ENCODING)
    assert not list(tmp_path.iterdir())


def test_a_killed_delivery_leaves_no_video_under_its_name(tmp_path):
    """SIGKILL (no clean-up runs) in the middle of a delivery: only a hidden temporary file may stay,
    which the next attempt removes."""
    script = textwrap.dedent(f"""
        import sys, numpy as np
        from fractions import Fraction
        from photostyle.video import video_writer
        with video_writer({str(tmp_path / "out.mp4")!r}, 640, 360, Fraction(25), None, 18, "veryfast") as video:
            for t in range(100000):
                video.write(np.random.default_rng(t).integers(0, 255, (360, 640, 3), dtype=np.uint8))
                if t == 5:
                    print("writing", flush=True)
    """)
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, start_new_session=True)
    assert process.stdout.readline().strip() == b"writing"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (tmp_path / "out.mp4").exists()
    assert [p.name.startswith(".out.") for p in tmp_path.iterdir()] == [True]
    from photostyle.video import video_writer

    with video_writer(tmp_path / "out.mp4", 64, 64, Fraction(25), None, 18, "veryfast") as video:
        video.write(np.zeros((64, 64, 3), np.uint8))
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]  # the next attempt cleared the temporary file
