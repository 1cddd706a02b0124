"""`fastseg data build`: bad inputs are flagged and skipped, a re-run changes nothing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

scipy_io = pytest.importorskip("scipy.io")
pytest.importorskip("tqdm")

from fastseg.cli import main  # noqa: E402
from test_data_readers import save_palette_png  # noqa: E402
from fastseg.data import layout  # noqa: E402
from fastseg.data.build import build  # noqa: E402
from fastseg.data.sources import open_source  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def photo(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 255, (h, w, 3), dtype=np.uint8)


def person_mask(h: int, w: int) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    mask[h // 4 :, w // 3 : 2 * w // 3] = 255
    return mask


def make_mask_folder(root: Path) -> Path:
    """Six good pairs and the bad inputs the issue names: a corrupt JPEG, a truncated PNG,
    a mask of the wrong size; and one mask smaller than its photo with the same aspect."""
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(6):
        Image.fromarray(photo(48, 64, i)).save(root / "images" / f"good{i}.jpg", quality=90)
        Image.fromarray(person_mask(48, 64)).save(root / "masks" / f"good{i}.png")
    Image.fromarray(photo(48, 64, 9)).save(root / "images" / "small.jpg")
    Image.fromarray(person_mask(24, 32)).save(root / "masks" / "small.png")
    (root / "images" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG at all" * 10)
    Image.fromarray(person_mask(48, 64)).save(root / "masks" / "corrupt.png")
    Image.fromarray(photo(48, 64, 10)).save(root / "images" / "truncated.jpg")
    Image.fromarray(person_mask(48, 64)).save(root / "masks" / "truncated.png")
    data = (root / "masks" / "truncated.png").read_bytes()
    (root / "masks" / "truncated.png").write_bytes(data[: len(data) // 2])
    Image.fromarray(photo(48, 64, 11)).save(root / "images" / "wrongsize.jpg")
    Image.fromarray(person_mask(40, 40)).save(root / "masks" / "wrongsize.png")
    Image.fromarray(photo(48, 64, 12)).save(root / "images" / "empty.jpg")
    Image.fromarray(np.zeros((48, 64), np.uint8)).save(root / "masks" / "empty.png")
    return root


def make_ccp_folder(root: Path) -> Path:
    (root / "photos").mkdir(parents=True)
    (root / "annotations" / "pixel-level").mkdir(parents=True)
    for i in (1, 2):
        Image.fromarray(photo(40, 30, i)).save(root / "photos" / f"{i:04d}.jpg")
        scipy_io.savemat(root / "annotations" / "pixel-level" / f"{i:04d}.mat", {"groundtruth": (person_mask(40, 30) > 0) * 7})
    Image.fromarray(photo(40, 30, 3)).save(root / "photos" / "0003.jpg")
    (root / "annotations" / "pixel-level" / "0003.mat").write_bytes(b"MATLAB 5.0 MAT-file, garbage" + bytes(100))
    return root


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def tree_mtimes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def sources(tmp_path):
    return make_mask_folder(tmp_path / "folder"), make_ccp_folder(tmp_path / "ccp")


def test_bad_inputs_are_flagged_and_skipped_and_sources_untouched(tmp_path, sources):
    before = {s: tree_digest(s) for s in sources}
    report = build([open_source(s) for s in sources], tmp_path / "out", progress=False)
    flags = {o.item_id: o.flag for o in report.flagged}
    assert flags == {
        "folder-corrupt": "unreadable", "folder-truncated": "unreadable", "folder-wrongsize": "mask_size_mismatch",
        "folder-empty": "empty_mask", "ccp-0003": "unreadable",
    }
    ids = [r["id"] for r in layout.read_manifest(tmp_path / "out")]
    assert ids == ["ccp-0001", "ccp-0002"] + [f"folder-good{i}" for i in range(6)] + ["folder-small"]
    assert {s: tree_digest(s) for s in sources} == before
    for item_id in flags:
        assert not layout.image_path(tmp_path / "out", item_id).exists()
    assert json.loads((tmp_path / "out" / "report.json").read_text())["counts"]["folder"]["flagged"] == 4


def test_manifest_records_and_written_files(tmp_path, sources):
    out = tmp_path / "out"
    build([open_source(s) for s in sources], out, progress=False)
    record = next(r for r in layout.read_manifest(out) if r["id"] == "folder-small")
    assert record["source"] == "folder" and record["source_id"] == "small" and record["split"] in ("train", "val")
    assert (record["width"], record["height"]) == (64, 48)  # the small mask was scaled up to the photo
    assert record["label_upscaled_from"] == [32, 24]
    image, mask, ignore = layout.load_item(out, record)
    assert image.shape == (48, 64, 3) and mask.shape == (48, 64) and ignore is None
    np.testing.assert_array_equal(mask, person_mask(24, 32).repeat(2, axis=0).repeat(2, axis=1))  # nearest
    assert record["person_fraction"] == pytest.approx(mask.mean() / 255, abs=1e-4)
    assert record["sha256"]["mask"] == hashlib.sha256(layout.mask_path(out, "folder-small").read_bytes()).hexdigest()
    good = next(r for r in layout.read_manifest(out) if r["id"] == "folder-good0")
    # without resizing the source JPEG is kept byte for byte: re-encoding would only lose quality
    assert layout.image_path(out, "folder-good0").read_bytes() == (sources[0] / "images" / "good0.jpg").read_bytes()
    assert good["licence"] == "unknown"


def test_rerun_changes_nothing_and_repairs_a_damaged_output(tmp_path, sources):
    out = tmp_path / "out"
    build([open_source(s) for s in sources], out, jobs=2, progress=False)
    mtimes = tree_mtimes(out)
    again = build([open_source(s) for s in sources], out, jobs=2, progress=False)
    assert {o.status for o in again.outcomes if o.status != "flagged"} == {"kept"}
    assert not again.manifest_changed and tree_mtimes(out) == mtimes
    layout.mask_path(out, "folder-good3").write_bytes(b"damaged")
    third = build([open_source(s) for s in sources], out, progress=False)
    assert [o.item_id for o in third.outcomes if o.status == "built"] == ["folder-good3"]
    assert layout.outputs_intact(out, next(r for r in layout.read_manifest(out) if r["id"] == "folder-good3"))


def test_max_side_shrinks_and_softens_mask_edges(tmp_path, sources):
    out = tmp_path / "out"
    build([open_source(sources[0])], out, max_side=20, progress=False)
    record = next(r for r in layout.read_manifest(out) if r["id"] == "folder-good1")
    assert (record["width"], record["height"]) == (20, 15)
    _, mask, _ = layout.load_item(out, record)
    assert ((mask > 0) & (mask < 255)).any()  # area averaging leaves soft edge values


def test_voc_ignore_written_and_recorded(tmp_path):
    root = tmp_path / "voc"
    (root / "JPEGImages").mkdir(parents=True)
    (root / "SegmentationClass").mkdir()
    Image.fromarray(photo(20, 30, 0)).save(root / "JPEGImages" / "x.jpg")
    index = np.zeros((20, 30), np.uint8)
    index[5:15, 10:20] = 15
    index[4, 10:20] = 255
    save_palette_png(root / "SegmentationClass" / "x.png", index)
    report = build([open_source(root)], tmp_path / "out", progress=False)
    assert not report.flagged, report.flagged
    record = report.records[0]
    assert record["licence"].startswith("Pascal VOC") and record["ignore_fraction"] == pytest.approx(10 / 600, abs=1e-4)
    _, mask, ignore = layout.load_item(tmp_path / "out", record)
    np.testing.assert_array_equal(ignore, index == 255)
    np.testing.assert_array_equal(mask > 0, index == 15)


def test_split_is_by_id_and_about_one_in_ten():
    splits = [layout.split_for("src", str(i)) for i in range(2000)]
    assert splits == [layout.split_for("src", str(i)) for i in range(2000)]
    assert 150 < splits.count("val") < 250


def test_cli_build_and_refusal_to_write_into_a_source(tmp_path, sources, capsys):
    assert main(["data", "build", str(sources[0]), "--out", str(tmp_path / "out"), "--jobs", "1"]) == 0
    printed = capsys.readouterr().out
    assert "folder: 11 listed, 7 in dataset" in printed and "flagged mask_size_mismatch: folder-wrongsize" in printed
    assert main(["data", "build", str(sources[0]), "--out", str(sources[0] / "converted")]) == 2
    assert "never written" in capsys.readouterr().err


@pytest.mark.shared
def test_real_sources_build_a_few_items_each(tmp_path):
    if not SHARED.is_dir():
        pytest.skip("../shared/data not present")
    names = ("ccp", "voc_person", "human_seg")
    report = build([open_source(SHARED / n) for n in names], tmp_path / "out", max_side=256, limit=8, progress=False)
    counts = report.counts()
    assert set(counts) == set(names) and all(sum(c.values()) == 8 for c in counts.values())
    assert all(c["built"] >= 7 for c in counts.values())
    assert all(max(r["width"], r["height"]) <= 256 for r in report.records)
