"""Every reader on tiny fixtures made here, and the three real sources read as they are."""

from __future__ import annotations

import base64
import io
import json
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

scipy_io = pytest.importorskip("scipy.io")

from fastseg.data import readers  # noqa: E402
from fastseg.data.sources import detect_format, load_label, open_source  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def save_palette_png(path: Path, index: np.ndarray) -> None:
    img = Image.fromarray(index.astype(np.uint8), mode="P")
    img.putpalette([v for i in range(256) for v in (i, 255 - i, (7 * i) % 256)])
    img.save(path)


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_ccp_mat_any_nonzero_class_is_person(tmp_path):
    groundtruth = np.zeros((6, 4), np.uint8)
    groundtruth[1:3, 1] = 41  # skin
    groundtruth[4, 2] = 2  # a bag counts as person too
    scipy_io.savemat(tmp_path / "0001.mat", {"groundtruth": groundtruth})
    label = readers.read_ccp_mat(tmp_path / "0001.mat")
    assert label.mask.dtype == np.uint8 and label.mask.shape == (6, 4)
    np.testing.assert_array_equal(label.mask, np.where(groundtruth != 0, 255, 0))
    assert label.ignore is None


def test_ccp_mat_without_groundtruth_is_an_error(tmp_path):
    scipy_io.savemat(tmp_path / "bad.mat", {"something_else": np.zeros((2, 2))})
    with pytest.raises(KeyError):
        readers.read_ccp_mat(tmp_path / "bad.mat")


def test_voc_reads_indices_not_palette_colours(tmp_path):
    index = np.array([[0, 15, 15, 255], [7, 15, 255, 0], [0, 0, 3, 15]])
    save_palette_png(tmp_path / "a.png", index)
    label = readers.read_voc_png(tmp_path / "a.png")
    np.testing.assert_array_equal(label.mask, np.where(index == 15, 255, 0))
    np.testing.assert_array_equal(label.ignore, index == 255)


def test_voc_refuses_an_rgb_rendering(tmp_path):
    Image.fromarray(np.zeros((3, 3, 3), np.uint8)).save(tmp_path / "rgb.png")
    with pytest.raises(ValueError, match="palette"):
        readers.read_voc_png(tmp_path / "rgb.png")


@pytest.mark.parametrize("scale", [1, 255])
def test_binary_mask_0_1_or_0_255(tmp_path, scale):
    person = np.eye(5, dtype=bool)
    Image.fromarray((person * scale).astype(np.uint8)).save(tmp_path / "m.png")
    np.testing.assert_array_equal(readers.read_mask_image(tmp_path / "m.png").mask, np.where(person, 255, 0))


def test_grayscale_mask_keeps_soft_values(tmp_path):
    gray = np.array([[0, 64, 128, 255]], np.uint8)
    Image.fromarray(gray).save(tmp_path / "m.png")
    np.testing.assert_array_equal(readers.read_mask_image(tmp_path / "m.png").mask, gray)


def test_instance_ids_any_positive_id_is_person(tmp_path):
    ids = np.array([[0, 1, 2], [300, 0, 7]], np.uint16)  # 16-bit: more than 255 instances
    Image.fromarray(ids).save(tmp_path / "i.png")
    label = readers.read_instance_mask(tmp_path / "i.png")
    np.testing.assert_array_equal(label.mask, np.where(ids > 0, 255, 0))


def test_alpha_matte_from_rgba_and_from_gray(tmp_path):
    alpha = np.array([[0, 10, 200], [255, 128, 0]], np.uint8)
    rgba = np.dstack([np.full((2, 3, 3), 90, np.uint8), alpha])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(alpha).save(tmp_path / "gray.png")
    np.testing.assert_array_equal(readers.read_alpha_matte(tmp_path / "rgba.png").mask, alpha)
    np.testing.assert_array_equal(readers.read_alpha_matte(tmp_path / "gray.png").mask, alpha)


def supervisely_bitmap(mask: np.ndarray) -> str:
    """Supervisely's encoding: a PNG (mask in alpha), zlib-compressed, base64."""
    rgba = np.zeros((*mask.shape, 4), np.uint8)
    rgba[..., 3] = mask * 255
    return base64.b64encode(zlib.compress(png_bytes(Image.fromarray(rgba, "RGBA")))).decode()


def test_supervisely_bitmap_at_origin_and_polygon_with_hole(tmp_path):
    blob = np.array([[1, 1, 0], [1, 1, 1]], bool)
    ann = {
        "size": {"height": 12, "width": 16},
        "objects": [
            {"classTitle": "person_bmp", "geometryType": "bitmap", "bitmap": {"data": supervisely_bitmap(blob), "origin": [10, 2]}},
            {"classTitle": "person_poly", "geometryType": "polygon",
             "points": {"exterior": [[1, 5], [8, 5], [8, 11], [1, 11]], "interior": [[[3, 7], [5, 7], [5, 9], [3, 9]]]}},
            {"classTitle": "car", "geometryType": "polygon", "points": {"exterior": [[12, 8], [15, 8], [15, 11]], "interior": []}},
        ],
    }
    (tmp_path / "a.jpg.json").write_text(json.dumps(ann))
    mask = readers.read_supervisely(tmp_path / "a.jpg.json").mask
    assert mask.shape == (12, 16)
    np.testing.assert_array_equal(mask[2:4, 10:13] > 0, blob)
    assert mask[6, 2] == 255 and mask[10, 8] == 255  # polygon interior and its edge
    assert mask[8, 4] == 0  # the hole
    assert mask[10, 14] == 0  # the car is not a person
    assert mask[0:2].sum() == 0


# COCO RLE literals produced by pycocotools.mask.encode (not a dependency; recorded once).
COCO_RLE_SMALL = {"size": [7, 9], "counts": "6183K00000006MM"}
COCO_RLE_SMALL_MASK = np.zeros((7, 9), bool)
COCO_RLE_SMALL_MASK[1:5, 2:7] = True
COCO_RLE_SMALL_MASK[6, 0] = COCO_RLE_SMALL_MASK[0, 8] = True
COCO_RLE_BIG = {"size": [40, 60], "counts": "c<a05K15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OK15OKV6"}


def test_coco_compressed_rle_matches_pycocotools():
    np.testing.assert_array_equal(readers.rle_decode(COCO_RLE_SMALL), COCO_RLE_SMALL_MASK)
    big = np.zeros((40, 60), bool)
    big[3:37, 10:55] = True
    big[20:25, :] = False
    np.testing.assert_array_equal(readers.rle_decode(COCO_RLE_BIG), big)


def test_coco_uncompressed_rle_is_column_major():
    # runs: 1 background, 2 person, 3 background over a 2 x 3 image, read down the columns
    mask = readers.rle_decode({"size": [2, 3], "counts": [1, 2, 3]})
    np.testing.assert_array_equal(mask, [[False, True, False], [True, False, False]])


def test_coco_rle_with_wrong_total_is_refused():
    with pytest.raises(ValueError, match="sum"):
        readers.rle_decode({"size": [2, 3], "counts": [1, 2]})


def write_coco(tmp_path: Path) -> Path:
    (tmp_path / "images").mkdir()
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        Image.fromarray(np.full((7, 9, 3), 100, np.uint8)).save(tmp_path / "images" / name)
    coco = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 9, "height": 7},
                   {"id": 2, "file_name": "b.jpg", "width": 9, "height": 7},
                   {"id": 3, "file_name": "c.jpg", "width": 9, "height": 7}],
        "categories": [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}],
        "annotations": [
            {"id": 10, "image_id": 1, "category_id": 1, "iscrowd": 0, "segmentation": [[0, 0, 4, 0, 4, 3, 0, 3]]},
            {"id": 11, "image_id": 1, "category_id": 3, "iscrowd": 0, "segmentation": [[5, 5, 8, 5, 8, 6]]},
            {"id": 12, "image_id": 2, "category_id": 1, "iscrowd": 0, "segmentation": COCO_RLE_SMALL},
            {"id": 13, "image_id": 2, "category_id": 1, "iscrowd": 1,
             "segmentation": {"size": [7, 9], "counts": [56, 7]}},  # the last column: a crowd
            {"id": 14, "image_id": 3, "category_id": 3, "iscrowd": 0, "segmentation": [[0, 0, 2, 0, 2, 2]]},
        ],
    }
    path = tmp_path / "instances_val.json"
    path.write_text(json.dumps(coco))
    return path


def test_coco_person_polygons_rle_and_crowd_as_ignore(tmp_path):
    source = open_source(write_coco(tmp_path))
    assert source.format == "coco"
    assert [i.id for i in source.items] == ["a", "b"]  # c has no person
    a, b = (load_label(i) for i in source.items)
    assert a.mask[1, 2] == 255 and a.mask[5, 6] == 0  # person polygon yes, car no
    np.testing.assert_array_equal(b.mask > 0, COCO_RLE_SMALL_MASK)
    expected_ignore = np.zeros((7, 9), bool)
    expected_ignore[:, 8] = True
    expected_ignore[0, 8] = False  # a person pixel is person, not ignore
    np.testing.assert_array_equal(b.ignore, expected_ignore)


def test_mask_folder_detection_and_pairing(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    for name in ("1", "2", "3"):
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "images" / f"{name}.jpg")
    for name in ("1", "3", "9"):  # 2 has no mask, 9 no photo
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "masks" / f"{name}.png")
    source = open_source(tmp_path)
    assert source.format == "masks" and [i.id for i in source.items] == ["1", "3"]


def test_unknown_folder_asks_for_format(tmp_path):
    with pytest.raises(ValueError, match="--format"):
        detect_format(tmp_path)


@pytest.mark.shared
@pytest.mark.parametrize("name, fmt, count", [("ccp", "ccp", 1004), ("voc_person", "voc", 794), ("human_seg", "masks", 290)])
def test_real_sources_are_detected_and_read(name, fmt, count):
    if not (SHARED / name).is_dir():
        pytest.skip("../shared/data not present")
    source = open_source(SHARED / name)
    assert source.format == fmt and len(source.items) == count
    label = load_label(source.items[0])
    assert label.mask.dtype == np.uint8 and set(np.unique(label.mask)) <= {0, 255}
    assert 0.001 < label.mask.mean() / 255 < 0.95
    if fmt == "voc":
        assert label.ignore is not None and label.ignore.any()
    if name == "ccp":
        assert source.licence == "Apache-2.0"
