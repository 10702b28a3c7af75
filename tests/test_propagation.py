"""Propagation of keyframes' local affine colour maps along the flow (photostyle.propagation)."""

import cv2
import numpy as np
import pytest

from photostyle.colour import apply_maps, local_affine_maps
from photostyle.delivery import apply_at
from photostyle.errors import InputError
from photostyle.keyframes import KeyframePlan, choose_keyframes
from photostyle.propagation import Keyframing, class_maps, propagate, stylize_keyframe

H, W = 64, 80
SHIFT = np.array([1.5, 0.75], np.float32)  # camera motion per frame (x, y), in pixels


def world(photo: np.ndarray) -> np.ndarray:
    return photo.astype(np.float32) / 255.0


def frame_at(scene: np.ndarray, t: int) -> np.ndarray:
    """Frame t of a camera moving across the scene by SHIFT per frame (bilinear, sub-pixel)."""
    x, y = 20 + SHIFT[0] * t, 30 + SHIFT[1] * t
    grid_x, grid_y = np.meshgrid(np.arange(W, dtype=np.float32) + x, np.arange(H, dtype=np.float32) + y)
    return cv2.remap(scene, grid_x, grid_y, cv2.INTER_LINEAR)


def recolour(scene: np.ndarray) -> np.ndarray:
    """A known look: per-pixel affine colour maps varying across the scene (gain and offset waves of
    30-40 px, a channel mix), applied in scene coordinates: carried to the wrong place, they are wrong."""
    h, w = scene.shape[:2]
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    wave = (0.5 + 0.5 * np.sin(2 * np.pi * x / 40) * np.cos(2 * np.pi * y / 30))[..., None]
    mix = np.array([[0.8, 0.1, 0.0], [0.1, 0.7, 0.1], [0.0, 0.2, 0.6]], np.float32)
    out = scene @ mix.T * (0.6 + 0.6 * wave) + np.array([0.1, 0.05, 0.0], np.float32) * wave
    return np.clip(out, 0.0, 1.0)


def test_the_guided_filter_maps_reproduce_an_affine_recolouring(photo):
    frame = world(photo[:H, :W])
    output = np.clip(frame @ np.array([[0.5, 0.3, 0.1], [0.0, 0.9, 0.0], [0.2, 0.0, 0.7]], np.float32) + 0.05, 0, 1)
    maps = local_affine_maps(frame, output, radius=3, eps=1e-6)
    assert maps.shape == (H, W, 4, 3)
    assert np.abs(apply_maps(maps, frame) - output).mean() * 255 < 0.5


def test_maps_fitted_at_half_size_bring_a_look_to_full_size_with_the_frames_detail(photo):
    frame = world(photo)
    h, w = frame.shape[:2]
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    gain = (0.7 + 0.3 * np.sin(2 * np.pi * x / 256) * np.cos(2 * np.pi * y / 256))[..., None]  # a smooth look
    mix = np.array([[0.8, 0.1, 0.0], [0.1, 0.7, 0.1], [0.0, 0.2, 0.6]], np.float32)
    output = np.clip(frame @ mix * gain + 0.05, 0, 1)
    half = [cv2.resize(image, (w // 2, h // 2), interpolation=cv2.INTER_AREA) for image in (frame, output)]
    full = apply_at(local_affine_maps(*half, radius=3, eps=1e-4), np.round(frame * 255).astype(np.uint8))
    assert full.shape == (h, w, 3) and full.dtype == np.uint8
    assert np.abs(full - output * 255).mean() < 1.0
    resized = cv2.resize(half[1], (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 1)
    assert np.abs(resized - output).mean() * 255 > 3.0  # the half-size output itself has lost the detail


def test_a_known_camera_path_and_recolouring_are_reproduced_from_two_keyframes(photo):
    scene = world(photo)
    styled = recolour(scene)
    keys = (0, 8)
    maps = [local_affine_maps(frame_at(scene, k), frame_at(styled, k), radius=2, eps=1e-4) for k in keys]
    labels = np.zeros((H, W), np.int64)
    fallback = class_maps(frame_at(scene, 0), frame_at(styled, 0), labels, 1)
    inner = (slice(8, -8), slice(8, -8))  # away from where the camera brings in new content

    def error(image: np.ndarray, t: int) -> float:
        return float(np.abs(image - frame_at(styled, t))[inner].mean() * 255)  # grey levels (0-255)

    def carried(t: int, sign: float = 1.0) -> np.ndarray:
        flows = [np.broadcast_to(sign * (t - k) * SHIFT, (H, W, 2)).astype(np.float32) for k in keys]
        reliable = [np.ones((H, W), np.float32) for _ in keys]
        return propagate(frame_at(scene, t), labels, maps, flows, reliable, [abs(t - k) for k in keys], fallback)

    fit = error(apply_maps(maps[0], frame_at(scene, 0)), 0)  # what the window fit loses on this look
    errors = [error(carried(t), t) for t in range(1, 8)]
    assert max(errors) < 1.3 * fit + 0.5, (fit, errors)
    assert error(carried(4, sign=-1.0), 4) > 5 * max(errors)  # carried the wrong way: wrong colours
    assert error(apply_maps(fallback[labels], frame_at(scene, 4)), 4) > 5 * max(errors)  # one map for all: wrong
    assert error(frame_at(styled, 0), 4) > 5 * max(errors)  # the keyframe's output reused: wrong


def test_a_region_no_keyframe_sees_takes_its_class_map(photo):
    frame = world(photo[:H, :W])
    labels = np.zeros((H, W), np.int64)
    labels[:, W // 2 :] = 1
    gains = np.array([[0.6, 0.9, 1.2], [1.1, 0.8, 0.5]], np.float32)  # a different recolouring per class
    output = np.clip(frame * gains[labels], 0.0, 1.0)
    wrong = np.zeros((H, W, 4, 3), np.float32)  # what the flow would carry there: nothing sensible
    reliable = np.ones((H, W), np.float32)
    reliable[16:48, 48:72] = 0.0  # disoccluded
    fallback = class_maps(frame, output, labels, 2)
    ours = propagate(frame, labels, [wrong], [np.zeros((H, W, 2), np.float32)], [reliable], [1], fallback)
    assert np.abs(ours - output)[16:48, 48:72].mean() * 255 < 1.0
    assert np.abs(ours[reliable > 0] - 0.0).max() == pytest.approx(0.0)  # elsewhere the (here black) carried maps


def test_keyframes_start_each_shot_then_every_n_or_where_the_flow_gives_out():
    assert choose_keyframes(20, [], 8) == [0, 8, 16]
    assert choose_keyframes(20, [5, 11], 8) == [0, 5, 11, 19]  # a cut restarts the count
    lost = {13}  # the content has moved on by frame 13: little of it is carried from keyframe 8
    share = lambda t, k: 0.2 if t in lost else 0.9  # noqa: E731
    assert choose_keyframes(20, [], 8, share, min_reliable=0.5) == [0, 8, 13]
    assert choose_keyframes(20, [], 8, share, min_reliable=0.0) == [0, 8, 16]  # the check off


def test_the_maps_are_opencvs_guided_filter(photo):
    import cv2

    frame = world(photo[:H, :W])
    output = np.clip(frame[..., ::-1] * 0.8 + 0.1 + np.random.default_rng(0).normal(0, 0.05, frame.shape), 0, 1)
    ours = apply_maps(local_affine_maps(frame, output, radius=3, eps=1e-4), frame)
    guide, source = (np.ascontiguousarray(image * 255, dtype=np.float32) for image in (frame, output))
    theirs = cv2.ximgproc.guidedFilter(guide, source, 3, 1e-4 * 255.0**2) / 255.0
    assert np.abs(ours - theirs).max() * 255 < 1.0
    assert np.abs(ours - output).mean() * 255 > 5  # the noise is filtered out


def test_a_clip_with_a_cut_optimises_its_keyframes_and_carries_their_look_within_each_shot(photo):
    import torch
    import torchvision

    from photostyle.config import changed
    from photostyle.flow import warp
    from photostyle.sequence import prepare, propagate_clip
    from photostyle.stylize import Settings
    from photostyle.vgg import VGGFeatures

    pan = [np.ascontiguousarray(photo[40 + 2 * t : 40 + 2 * t + H, 40 : 40 + W]) for t in range(4)]
    other = [np.ascontiguousarray(255 - photo[160 + 2 * t : 160 + 2 * t + H, 10 : 10 + W, ::-1]) for t in range(3)]
    clip = prepare(pan + other, np.ascontiguousarray(photo[:H, :W, ::-1]), changed({"temporal.offsets": [1]}))
    assert clip.cuts.starts == [5]  # 1-based
    torch.manual_seed(0)  # random weights: this checks which frames are optimised and what is carried where
    extractor = VGGFeatures(torchvision.models.vgg19(weights=None).features, ["relu1_1", "relu2_1"])
    settings = Settings.defaults(iterations=5, style_layers=("relu1_1", "relu2_1"), content_layers=("relu2_1",))
    cpu = torch.device("cpu")
    result = propagate_clip(extractor, clip, cpu, every=3, min_reliable=0.0, scale=0.5, settings=settings)
    assert sorted(result.keyframes) == [0, 3, 4]  # every 3rd frame, and the cut
    assert len(result.images) == 7 and all(image.shape == (H, W, 3) for image in result.images)
    for key in result.keyframes.values():  # optimised at half size, brought to full size by their maps
        assert key.image.shape == key.optimised.shape == (H, W, 3)
        assert {record["scale"] for record in key.history} == {0.5}
    assert (6, 3) not in clip.backward and (5, 3) not in clip.backward  # nothing carried across the cut
    for t, k in ((1, 0), (2, 3), (5, 4)):  # each frame against its nearest keyframe, warped onto it
        flow, reliable = clip.pair(t, k)
        mask = reliable > 0
        carried = warp(result.images[k].astype(np.float32), flow)
        stylised = np.abs(result.images[t] - carried)[mask].mean()
        look = np.abs(result.images[t].astype(np.float32) - clip.frames[t])[mask].mean()
        assert stylised < 0.05 * look, (t, stylised, look)  # it took the keyframe's look, not its own colours


def test_keyframes_stop_by_their_own_tolerance_where_the_chain_runs_on(photo):
    """stylize.keyframe_tolerance replaces stylize.tolerance for keyframes only: with a loose one a
    keyframe stops long before the cap that a chain frame with the same settings runs to."""
    import torch
    import torchvision

    from photostyle.sequence import frame_inputs, prepare
    from photostyle.stylize import Settings, stylize
    from photostyle.vgg import VGGFeatures

    frame = np.ascontiguousarray(photo[40 : 40 + H, 40 : 40 + W])
    clip = prepare([frame], np.ascontiguousarray(photo[:H, :W, ::-1]))
    inputs = frame_inputs(clip, 0, [], [])
    torch.manual_seed(0)
    extractor = VGGFeatures(torchvision.models.vgg19(weights=None).features, ["relu1_1", "relu2_1"])
    layers = {"style_layers": ("relu1_1", "relu2_1"), "content_layers": ("relu2_1",)}
    settings = Settings.defaults(iterations=40, tolerance=0.0, window=3, **layers)  # the chain: every iteration
    cpu = torch.device("cpu")
    chain = stylize(extractor, inputs, settings, cpu)
    loose = stylize_keyframe(extractor, inputs, settings, cpu, Keyframing(1.0, 0.05, (0.03, 1e-4)))
    strict = stylize_keyframe(extractor, inputs, settings, cpu, Keyframing(1.0, 0.0, (0.03, 1e-4)))
    assert len(chain.history) == len(strict.history) == 40  # one evaluation per iteration, to the cap
    assert 4 < len(loose.history) < 30, len(loose.history)  # 19 here
    assert loose.history[-1]["total"] < 0.9 * loose.history[0]["total"]  # it did descend before stopping


def test_the_keyframe_plan_ties_keyframes_within_shots_and_ends_blocks_at_cuts(tmp_path):
    plan = KeyframePlan(keys=(1, 9, 12, 17), shot_starts=(12,), last=20)  # 1-based, as the workflow counts
    assert [plan.previous(k) for k in plan.keys] == [None, 1, None, 12]  # 12 starts a shot: a cold start
    assert [plan.block(k) for k in plan.keys] == [(9, True), (11, False), (17, True), (20, False)]
    assert [plan.key_of(i) for i in (1, 8, 9, 11, 12, 20)] == [1, 1, 9, 9, 12, 17]
    plan.write(tmp_path / "keyframes.json")
    assert KeyframePlan.read(tmp_path / "keyframes.json") == plan
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(InputError, match="bad.json"):
        KeyframePlan.read(tmp_path / "bad.json")


def test_refinement_makes_an_untrusted_region_locally_affine_and_keeps_the_trusted_ones(photo):
    import torch

    from photostyle.matting import MattingLaplacian, matting_coefficients
    from photostyle.propagation import Refinement, refine

    frame = photo[:H, :W]
    truth = np.clip(
        world(frame) @ np.array([[0.7, 0.2, 0.0], [0.1, 0.8, 0.1], [0.0, 0.3, 0.6]], np.float32) + 0.05, 0, 1
    )
    propagated = truth.copy()
    hole = np.s_[20:40, 30:50]
    propagated[hole] += np.random.default_rng(0).normal(0, 0.08, propagated[hole].shape).astype(np.float32)
    trust = np.ones((H, W), np.float32)
    trust[hole] = 0.0  # no keyframe saw it: its colours are a guess
    coefficients = matting_coefficients(frame, 1e-4, 1)
    refined = refine(coefficients, [(propagated, trust)], Refinement(1e-4, 1, 1000.0, 10000.0, 50), torch.device("cpu"))
    operator = MattingLaplacian(coefficients, torch.device("cpu"))

    def roughness(image: np.ndarray) -> float:
        values = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))
        return float((values * operator(values)).sum())

    assert roughness(refined) < 0.05 * roughness(propagated)
    assert np.abs(refined - truth)[hole].mean() < 0.2 * np.abs(propagated - truth)[hole].mean()
    outside = trust > 0
    assert np.abs(refined - truth)[outside].mean() * 255 < 0.5  # what the flow carried stays


def test_refinement_ties_a_frame_to_the_previous_output_where_the_short_flow_holds(photo):
    import torch

    from photostyle.matting import matting_coefficients
    from photostyle.propagation import Refinement, refine

    frame = photo[:H, :W]
    previous = np.clip(world(frame) * np.array([1.1, 0.9, 0.7], np.float32) + 0.03, 0, 1)  # warped, here in place
    propagated = np.clip(previous + np.array([0.06, 0.02, -0.04], np.float32), 0, 1)  # this frame's maps: shifted
    trust = np.full((H, W), 0.6, np.float32)  # the maps' confidence far from the keyframes
    holds = np.ones((H, W), np.float32)
    holds[:, : W // 2] = 0.0  # the short flow fails on the left half (e.g. a limb moved)
    coefficients = matting_coefficients(frame, 1e-4, 1)
    settings, cpu = Refinement(1e-4, 1, 1000.0, 10000.0, 30), torch.device("cpu")
    refined = refine(coefficients, [(propagated, trust), (previous, holds)], settings, cpu)
    alone = refine(coefficients, [(propagated, trust)], settings, cpu)
    right, left = np.s_[:, W // 2 + 8 :], np.s_[:, : W // 2 - 8]
    jump = np.abs(propagated - previous)[right].mean()
    assert np.abs(refined - previous)[right].mean() < 0.5 * jump  # where the flow holds: closer to the previous
    assert np.abs(alone - previous)[right].mean() > 0.9 * jump  # without the term: the frame's own maps
    assert np.abs(refined - propagated)[left].mean() * 255 < 2.0  # where it fails: the maps alone


def test_a_keyframe_is_shown_tied_to_the_frame_before_it_in_its_shot(photo):
    import torch

    from photostyle.propagation import Refinement, propagate_block

    frame = photo[:H, :W]
    n = 6  # keyframe, five frames after it; a still scene
    look_a = np.round(np.clip(world(frame) * 0.8 + 0.05, 0, 1) * 255).astype(np.uint8)  # the block before ended so
    look_b = np.round(np.clip(world(frame) * 0.8 + 0.20, 0, 1) * 255).astype(np.uint8)  # this keyframe's look
    still = (np.zeros((H, W, 2), np.float32), np.ones((H, W), np.float32))
    post, cpu = (0.05, 1e-4), torch.device("cpu")

    def block(before: np.ndarray | None, iterations: int = 30) -> list[np.ndarray]:
        settings = Refinement(1e-4, 1, 1.0, 10.0, iterations)
        return propagate_block(
            [frame] * n, [np.zeros((H, W), np.int64)] * n, look_b, None, lambda t, k: still, post, settings, cpu, before
        )

    def step(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.abs(a.astype(np.float32) - b).mean())

    alone, tied = block(None), block(look_a)
    assert step(alone[0], look_b) < 1.0  # a shot's first keyframe: its own look, as its maps give it
    assert step(tied[0], look_a) < 0.6 * step(alone[0], look_a)  # after a block: no step from its last frame
    assert step(tied[-1], look_b) < step(tied[0], look_b)  # then on to its own look
    assert step(block(look_a, iterations=0)[0], alone[0]) == 0.0  # without refinement: the maps alone
