"""Composites from a tiny built dataset; stats and preview of the layout."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("tqdm")

from fastseg.cli import main  # noqa: E402
from fastseg.data import layout  # noqa: E402
from fastseg.data.build import build  # noqa: E402
from fastseg.data.composite import composite, framing_matrix, people_free_crop  # noqa: E402
from fastseg.data.sources import open_source  # noqa: E402


@pytest.fixture
def dataset(tmp_path):
    """Twenty 'people': a red figure standing in a blue photo, whole (head at a third)."""
    src = tmp_path / "src"
    (src / "images").mkdir(parents=True)
    (src / "masks").mkdir()
    for i in range(20):
        image = np.zeros((120, 90, 3), np.uint8)
        image[:] = (200, 60, 20)  # RGB: blue-ish room
        mask = np.zeros((120, 90), np.uint8)
        mask[20 + i % 5 : 110, 30:60] = 255
        image[mask > 0] = (220, 40, 40)
        Image.fromarray(image).save(src / "images" / f"p{i:02d}.png")
        Image.fromarray(mask).save(src / "masks" / f"p{i:02d}.png")
    out = tmp_path / "data"
    build([open_source(src)], out, progress=False)
    backgrounds = tmp_path / "backgrounds"
    backgrounds.mkdir()
    for i in range(3):
        Image.fromarray(np.full((90, 160, 3), 40 + 60 * i, np.uint8)).save(backgrounds / f"bg{i}.jpg")
    return out, backgrounds


def test_composites_are_16_9_with_the_person_where_the_mask_says(tmp_path, dataset):
    data, backgrounds = dataset
    records = composite(data, tmp_path / "comp", 12, backgrounds, size=(160, 90), seed=3, progress=False)
    assert len(records) == 12 and {(r["width"], r["height"]) for r in records} == {(160, 90)}
    assert all(r["split"] == "train" for r in records)  # val people never become training frames
    for r in records:
        image, mask, _ = layout.load_item(tmp_path / "comp", r)
        assert r["person_fraction"] > 0.01
        red = (image[..., 2].astype(int) - image[..., 0]) > 60  # BGR: the red figure
        assert ((mask > 200) & red).sum() / max((mask > 200).sum(), 1) > 0.8  # the mask covers the figure
        assert ((mask < 30) & red).sum() / max((mask < 30).sum(), 1) < 0.05  # and nothing outside it
        assert ((mask > 0) & (mask < 255)).any()  # soft edge


def test_composite_rerun_keeps_every_frame(tmp_path, dataset):
    data, backgrounds = dataset
    composite(data, tmp_path / "comp", 5, backgrounds, size=(160, 90), progress=False)
    mtimes = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "comp").rglob("*.*")}
    composite(data, tmp_path / "comp", 5, backgrounds, size=(160, 90), progress=False)
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "comp").rglob("*.*")} == mtimes


def test_empty_frames_are_the_background_alone_and_leave_the_other_frames_unchanged(tmp_path, dataset):
    data, backgrounds = dataset
    plain = composite(data, tmp_path / "plain", 12, backgrounds, size=(160, 90), seed=3, progress=False)
    mixed = composite(data, tmp_path / "mixed", 12, backgrounds, size=(160, 90), seed=3, progress=False, empty=0.5)
    empty = [r for r in mixed if r["recipe"]["person"] is None]
    assert 0 < len(empty) < 12
    for r in empty:
        image, mask, _ = layout.load_item(tmp_path / "mixed", r)
        red = (image[..., 2].astype(int) - image[..., 0]) > 60
        assert r["person_fraction"] == 0 and not mask.any() and not red.any() and r["split"] == "train"
    # Frames with a person are the ones the same seed makes without empty frames.
    by_id = {r["id"]: r for r in plain}
    assert all(r["sha256"] == by_id[r["id"]]["sha256"] for r in mixed if r["recipe"]["person"] is not None)
    with pytest.raises(ValueError, match="empty frames"):
        composite(data, tmp_path / "bad", 2, backgrounds, size=(160, 90), progress=False, empty=1.5)


def test_whole_person_cut_at_the_frame_bottom_for_head_and_shoulders():
    mask = np.zeros((200, 100), np.uint8)
    mask[20:180, 40:60] = 255
    cuts = []
    for seed in range(30):
        m = framing_matrix(mask, 320, 180, np.random.default_rng(seed))
        head_y = 20 * m[1, 1] + m[1, 2]
        feet_y = 180 * m[1, 1] + m[1, 2]
        assert 0 <= head_y < 180 * 0.5  # the head is in the upper part of the frame
        cuts.append(feet_y > 180)
    assert 0.5 < np.mean(cuts) < 1.0  # mostly head-and-shoulders or half body, sometimes whole


def test_far_frames_show_the_whole_person_small_and_leave_the_other_frames_unchanged(tmp_path, dataset):
    data, backgrounds = dataset
    plain = composite(data, tmp_path / "plain", 12, backgrounds, size=(160, 90), seed=3, progress=False)
    mixed = composite(data, tmp_path / "mixed", 12, backgrounds, size=(160, 90), seed=3, progress=False, far=0.5)
    far = [r for r in mixed if r["recipe"].get("far")]
    assert 0 < len(far) < 12
    for r in far:
        _, mask, _ = layout.load_item(tmp_path / "mixed", r)
        rows = np.flatnonzero((mask > 127).any(axis=1))
        # Whole (neither the top nor the bottom edge cuts it) and 20-50% of the frame's height.
        assert rows[0] > 0 and rows[-1] < 89 and 0.15 * 90 <= rows[-1] - rows[0] + 1 <= 0.55 * 90
    by_id = {r["id"]: r for r in plain}
    assert all(r["sha256"] == by_id[r["id"]]["sha256"] for r in mixed if not r["recipe"].get("far"))
    with pytest.raises(ValueError, match="far frames"):
        composite(data, tmp_path / "bad", 2, backgrounds, size=(160, 90), progress=False, far=-0.1)


def test_far_framing_keeps_a_person_the_photo_cuts_at_the_bottom_edge():
    mask = np.zeros((200, 100), np.uint8)
    mask[40:, 30:70] = 255  # cut by the photo's bottom edge: showing it small would float a torso
    for seed in range(10):
        m = framing_matrix(mask, 320, 180, np.random.default_rng(seed), far=True)
        assert 200 * m[1, 1] + m[1, 2] >= 180 - 1e-6  # the cut still lands on the frame's bottom edge


def test_far_framing_shows_small_only_a_person_no_photo_edge_cuts():
    whole, side_cut = np.zeros((200, 100), np.uint8), np.zeros((200, 100), np.uint8)
    whole[40:180, 30:70] = 255
    side_cut[40:180, 0:40] = 255  # the photo's left edge cuts this one: small, it would show a straight cut
    for seed in range(10):
        assert framing_matrix(whole, 320, 180, np.random.default_rng(seed), far=True)[0, 0] * 140 <= 0.5 * 180 + 1e-6
        assert framing_matrix(side_cut, 320, 180, np.random.default_rng(seed), far=True)[1, 1] * 140 > 0.5 * 180


def test_people_free_crop_avoids_the_person():
    mask = np.zeros((300, 800), np.uint8)
    mask[:, 390:410] = 255
    image = np.dstack([mask] * 3)  # white where the person is
    rng = np.random.default_rng(0)
    crops = [people_free_crop(image, mask, None, 16 / 9, rng) for _ in range(10)]
    assert all(c is not None and abs(c.shape[1] / c.shape[0] - 16 / 9) < 0.05 for c in crops)
    assert all(c.max() == 0 for c in crops)
    assert people_free_crop(image, np.full_like(mask, 255), None, 16 / 9, rng) is None


def test_stats_and_preview_cli(tmp_path, dataset, capsys):
    data, _ = dataset
    assert main(["data", "stats", str(data)]) == 0
    printed = capsys.readouterr().out
    assert "src" in printed and "20 items" in printed
    assert main(["data", "preview", str(data), "-o", str(tmp_path / "grid.png"), "-n", "7", "--columns", "4"]) == 0
    grid = np.asarray(Image.open(tmp_path / "grid.png"))
    assert grid.shape == (2 * 220, 4 * 220, 3)
    assert main(["data", "stats", str(tmp_path / "nothing")]) == 2
