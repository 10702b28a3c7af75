import numpy as np
import pytest

from photostyle.config import defaults
from photostyle.errors import InputError
from photostyle.images import read_rgb
from photostyle.segmentation import (
    LEGEND,
    Classes,
    class_groups,
    colourise,
    fit_clusters,
    frame_scores,
    group_legend,
    kmeans_scores,
    labels_from_scores,
    reference_segmentation,
    snap_mask,
)

SETTINGS = defaults()["segmentation"]


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
    labels = snap_mask(mask, name, None, SETTINGS["snap_distance"], SETTINGS["max_unmatched"])
    names = list(LEGEND)
    counts = np.bincount(labels.ravel(), minlength=len(names))
    present = {names[k] for k in np.flatnonzero(counts)}
    assert present == colours
    exact = np.array([LEGEND[names[k]] for k in labels.ravel()]).reshape(mask.shape)
    assert (np.abs(exact.astype(int) - mask).max(axis=2) < 60).mean() > 0.97


def test_mask_with_colours_outside_the_legend_is_refused():
    orange = two_region_image((255, 128, 0), (255, 128, 0))
    with pytest.raises(
        InputError, match=r"mask my_mask.png: 4800 pixels .*snap_distance.*RGB \(255, 1\d\d, 0\) \(\d+ px\)"
    ):
        snap_mask(orange, "my_mask.png", None, SETTINGS["snap_distance"], SETTINGS["max_unmatched"])


def test_kmeans_pairs_regions_by_tone_and_does_not_flicker():
    frame = two_region_image((90, 150, 230), (40, 110, 40))  # blue sky over grass
    reference = two_region_image((250, 150, 60), (60, 30, 70), seed=1)  # orange sky over dark ground
    clusters = fit_clusters(reference, frame, k=2)
    ref_labels = labels_from_scores(kmeans_scores(reference, clusters, reference=True))
    scores = kmeans_scores(frame, clusters, reference=False)
    np.testing.assert_allclose(scores.sum(axis=0), 1.0, atol=1e-5)
    frame_labels = labels_from_scores(scores)
    for labels in (ref_labels, frame_labels):
        assert len(np.unique(labels[:30])) == 1 and len(np.unique(labels[30:])) == 1
    assert ref_labels[0, 0] == frame_labels[0, 0] != frame_labels[-1, -1]
    later = two_region_image((90, 150, 230), (40, 110, 40), seed=7)  # same scene, new noise
    np.testing.assert_array_equal(labels_from_scores(kmeans_scores(later, clusters, reference=False)), frame_labels)


def test_kmeans_reference_segmentation_and_its_colour_picture():
    frame = two_region_image((90, 150, 230), (40, 110, 40))
    reference = two_region_image((250, 150, 60), (60, 30, 70), seed=1)
    labels, classes = reference_segmentation("kmeans", reference, SETTINGS, first_frame=frame)
    picture = colourise(labels, classes.colours)
    assert picture.shape == (*labels.shape, 3) and len(np.unique(picture.reshape(-1, 3), axis=0)) == 2
    assert len(set(classes.colours)) == SETTINGS["classes"]
    again = Classes.of_run(SETTINGS, classes.to_json())
    assert (again.names, again.colours) == (classes.names, classes.colours)
    np.testing.assert_allclose(again.clusters.centres, classes.clusters.centres)


def test_none_gives_one_class():
    frame = two_region_image((0, 0, 0), (255, 255, 255))
    labels, classes = reference_segmentation("none", frame, SETTINGS)
    assert (labels == 0).all() and classes.names == ["all"]
    assert (frame_scores(frame, SETTINGS, classes) == 1).all()


def test_default_groups_and_their_checks():
    legend = group_legend(SETTINGS)
    assert list(legend)[:3] == ["sky", "building", "vegetation"] and len(legend) == 10
    id2label = {0: "wall", 1: "sky", 2: "bed ", 3: "tree", 4: "spaceship"}  # "bed " as in the hub's ADE20K labels
    groups = class_groups(id2label, SETTINGS)
    names = list(legend)
    assert [names[g] for g in groups] == ["building", "sky", "indoor", "vegetation", "other"]
    with pytest.raises(InputError, match="segmentation.default_group: 'sea'"):
        group_legend({**SETTINGS, "default_group": "sea"})
    twice = [*SETTINGS["groups"], {"name": "trees", "colour": [1, 2, 3], "classes": ["tree"]}]
    with pytest.raises(InputError, match="'tree' is in both vegetation and trees"):
        class_groups(id2label, {**SETTINGS, "groups": twice})
    same_colour = [*SETTINGS["groups"], {"name": "snow", "colour": [255, 255, 255], "classes": []}]
    with pytest.raises(InputError, match="share a colour"):
        group_legend({**SETTINGS, "groups": same_colour})


def test_edited_reference_mask_replaces_the_network_and_round_trips():
    """reference_colour.png, touched up and given back as the style mask, gives the same labels."""
    labels = np.zeros((40, 60), np.uint8)
    labels[:15] = 0  # sky
    labels[15:30, :30] = 2  # vegetation
    labels[15:30, 30:] = 1  # building
    labels[30:] = 5  # ground
    legend = group_legend(SETTINGS)
    picture = colourise(labels, list(legend.values()))
    style = np.zeros((40, 60, 3), np.uint8)
    result, classes = reference_segmentation("network", style, SETTINGS, style_mask=(picture, "edited.png"))
    np.testing.assert_array_equal(result, labels)
    assert classes.names == list(legend)
    assert Classes.from_json(classes.to_json()) == classes
    picture[:5, :5] = (128, 0, 64)  # a colour outside the legend, on 25 pixels (over max_unmatched of 0)
    with pytest.raises(InputError, match=r"edited.png: 25 pixels .*RGB \(128, 0, 64\) \(25 px\)"):
        reference_segmentation("network", style, {**SETTINGS, "max_unmatched": 0.0}, style_mask=(picture, "edited.png"))


def test_adjusted_rand_index_ignores_label_ids_and_scores_chance_near_zero():
    from photostyle.metrics import adjusted_rand_index

    truth = np.repeat(np.arange(4), 250).reshape(40, 25)
    assert adjusted_rand_index(3 - truth, truth) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    assert abs(adjusted_rand_index(rng.integers(0, 4, truth.shape), truth)) < 0.01
    merged = np.minimum(truth, 2)  # two of four regions merged
    assert 0.5 < adjusted_rand_index(merged, truth) < 1.0


def test_position_makes_kmeans_follow_hand_drawn_regions(shared):
    """Mean adjusted Rand index over Luan et al.'s 10 pairs rises with the default position weight."""
    from photostyle.images import resize_longest
    from photostyle.metrics import adjusted_rand_index
    from photostyle.segmentation import resize_labels

    scores = {0.0: [], SETTINGS["position_weight"]: []}
    for pair in (1, 4, 11, 14, 17, 26, 30, 43, 53, 59):
        photos, masks = [], []
        for kind, name in (("style", f"tar{pair}"), ("input", f"in{pair}")):
            photo = resize_longest(
                read_rgb(shared / "style_pairs" / kind / f"{name}.png"), 384
            )  # as benchmarks/segmentation.py
            mask = snap_mask(
                read_rgb(shared / "style_pairs" / "segmentation" / f"{name}.png"),
                name,
                None,
                SETTINGS["snap_distance"],
                SETTINGS["max_unmatched"],
            )
            photos.append(photo)
            masks.append(resize_labels(mask, photo.shape[1], photo.shape[0]))
        k = len(set(np.unique(masks[0])) | set(np.unique(masks[1])))
        for weight, values in scores.items():
            clusters = fit_clusters(*photos, k, weight)
            for photo, mask, is_reference in zip(photos, masks, (True, False), strict=True):
                labels = labels_from_scores(kmeans_scores(photo, clusters, is_reference))
                values.append(adjusted_rand_index(labels, mask))
    before, after = (np.mean(values) for values in scores.values())
    assert after > before + 0.03, (before, after)
