import numpy as np
import pytest

from photostyle.errors import InputError
from photostyle.images import read_rgb
from photostyle.segmentation import LEGEND, assign_clusters, fit_clusters, frame_labels, snap_mask


def two_region_image(top, bottom, h=60, w=80, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = np.zeros((h, w, 3), np.float32)
    image[: h // 2] = top
    image[h // 2 :] = bottom
    return np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize(
    ("name", "colours"),
    [
        ("in1", {"green", "black", "white"}),
        ("tar26", {"blue", "green", "black", "white", "red"}),
        ("in30", {"blue", "green", "red", "yellow"}),
        ("tar43", {"white", "red", "yellow"}),
    ],
)
def test_hand_drawn_masks_snap_to_their_legend_colours(shared, name, colours):
    mask = read_rgb(shared / "style_pairs" / "segmentation" / f"{name}.png")
    labels = snap_mask(mask, name)
    names = list(LEGEND)
    counts = np.bincount(labels.ravel(), minlength=len(names))
    present = {names[k] for k in np.flatnonzero(counts)}
    assert present == colours
    exact = np.array([LEGEND[names[k]] for k in labels.ravel()]).reshape(mask.shape)
    assert (np.abs(exact.astype(int) - mask).max(axis=2) < 60).mean() > 0.97


def test_mask_with_colours_outside_the_legend_is_refused():
    orange = two_region_image((255, 128, 0), (255, 128, 0))
    with pytest.raises(InputError, match=r"mask my_mask.png.*snap_distance"):
        snap_mask(orange, "my_mask.png")


def test_kmeans_pairs_regions_by_tone_and_does_not_flicker():
    frame = two_region_image((90, 150, 230), (40, 110, 40))  # blue sky over grass
    reference = two_region_image((250, 150, 60), (60, 30, 70), seed=1)  # orange sky over dark ground
    clusters = fit_clusters(reference, frame, k=2)
    ref_labels = assign_clusters(reference, clusters, reference=True)
    frame_labels_ = assign_clusters(frame, clusters, reference=False)
    for labels in (ref_labels, frame_labels_):
        assert len(np.unique(labels[:30])) == 1 and len(np.unique(labels[30:])) == 1
    assert ref_labels[0, 0] == frame_labels_[0, 0] != frame_labels_[-1, -1]
    later = two_region_image((90, 150, 230), (40, 110, 40), seed=7)  # same scene, new noise
    np.testing.assert_array_equal(assign_clusters(later, clusters, reference=False), frame_labels_)


def test_none_gives_one_class():
    frame = two_region_image((0, 0, 0), (255, 255, 255))
    assert (frame_labels("none", frame, {}) == 0).all()
