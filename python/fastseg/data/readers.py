"""Readers for the label formats people actually have, each turning one label into a `Label`.

Every reader returns a person mask as uint8 (0 = background, 255 = person, values between
= soft edge) and, where the format has one, an ignore mask (True = leave out of the loss).
Images are read separately by `read_image`, as BGR uint8 like the rest of fastseg.
"""

from __future__ import annotations

import base64
import io
import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Optional, Sequence

import cv2
import numpy as np

from . import require

if TYPE_CHECKING:  # pillow is the data extra's, imported when a photo is first read
    from PIL import Image

VOC_PERSON = 15
VOC_IGNORE = 255
SUPERVISELY_PERSON_CLASSES = ("person", "person_poly", "person_bmp", "human", "people")


@dataclass
class Label:
    mask: np.ndarray  # uint8 H x W, 0..255
    ignore: Optional[np.ndarray] = None  # bool H x W, or None when the format has no ignore region

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), the order PIL and the manifest use."""
        return self.mask.shape[1], self.mask.shape[0]


def to_alpha(person: np.ndarray) -> np.ndarray:
    """A boolean person map as a 0/255 uint8 mask."""
    return np.where(person, np.uint8(255), np.uint8(0))


def open_fully(path: Path) -> Image.Image:
    """Open and decode the whole file now, so a truncated or corrupt file raises here."""
    with require("PIL.Image", "pillow").open(path) as img:
        img.load()
        return img.copy()


def read_image(path: Path) -> np.ndarray:
    """A photo as BGR uint8, EXIF rotation applied (PIL refuses truncated JPEGs, cv2 does not)."""
    img = require("PIL.ImageOps", "pillow").exif_transpose(open_fully(path)).convert("RGB")
    return np.ascontiguousarray(np.asarray(img)[:, :, ::-1])


def read_ccp_mat(path: Path) -> Label:
    """Clothing Co-Parsing: variable `groundtruth`, 59 classes, 0 = null; every other class is worn
    or carried by the person, so it counts as person."""
    from scipy.io import loadmat

    groundtruth = loadmat(str(path))["groundtruth"]
    if groundtruth.ndim != 2:
        raise ValueError(f"groundtruth has shape {groundtruth.shape}, expected H x W")
    return Label(to_alpha(groundtruth != 0))


def read_voc_png(path: Path) -> Label:
    """Pascal VOC class-index PNG: the palette indices matter, not the colours they map to."""
    img = open_fully(path)
    if img.mode not in ("P", "L"):
        raise ValueError(f"VOC label has mode {img.mode}, expected a palette (P) image of class indices")
    index = np.asarray(img)
    return Label(to_alpha(index == VOC_PERSON), index == VOC_IGNORE)


def read_mask_image(path: Path) -> Label:
    """A binary or grayscale mask: 0/1, 0/255 or soft 0..255 (kept as soft edges)."""
    img = open_fully(path)
    if img.mode in ("RGBA", "LA"):
        img = img.convert("RGB")
    gray = np.asarray(img.convert("L"))
    if img.mode == "1" or gray.max() <= 1:
        return Label(to_alpha(gray > 0))
    return Label(np.ascontiguousarray(gray))


def read_instance_mask(path: Path) -> Label:
    """Instance ids (8 or 16 bit, or colour-coded): every id above 0 is a person."""
    ids = np.asarray(open_fully(path))
    person = ids.any(axis=2) if ids.ndim == 3 else ids > 0
    return Label(to_alpha(person))


def read_alpha_matte(path: Path) -> Label:
    """An alpha matte: the alpha channel of an RGBA/LA PNG, else the image itself as gray."""
    img = open_fully(path)
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        return Label(np.ascontiguousarray(np.asarray(img.getchannel("A"))))
    return Label(np.ascontiguousarray(np.asarray(img.convert("L"))))


# --- polygons and RLE, shared by Supervisely and COCO ------------------------------------------

SUBPIXEL_BITS = 4  # cv2.fillPoly fixed-point precision, so fractional vertices are not rounded


def fill_polygon(canvas: np.ndarray, points: Sequence, value: int = 255) -> None:
    pts = np.round(np.asarray(points, np.float64).reshape(-1, 2) * (1 << SUBPIXEL_BITS)).astype(np.int32)
    if len(pts) >= 3:
        cv2.fillPoly(canvas, [pts], value, lineType=cv2.LINE_8, shift=SUBPIXEL_BITS)


def rle_counts_from_string(s: str) -> list[int]:
    """Decode COCO's compressed RLE string (maskApi.c rleFrString): 6-bit groups, LEB128-like
    with a sign bit, each count after the second stored as a delta to the one two before."""
    counts: list[int] = []
    p = 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            c = ord(s[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def rle_decode(rle: dict) -> np.ndarray:
    """A COCO RLE ({"size": [h, w], "counts": list or string}) as a bool H x W mask.
    Runs alternate background/foreground, starting with background, in column-major order."""
    height, width = rle["size"]
    counts = rle["counts"]
    if isinstance(counts, (bytes, str)):
        counts = rle_counts_from_string(counts.decode("ascii") if isinstance(counts, bytes) else counts)
    counts = np.asarray(counts, np.int64)
    if counts.sum() != height * width or (counts < 0).any():
        raise ValueError(f"RLE counts sum to {counts.sum()}, expected {height} x {width}")
    values = np.zeros(len(counts), bool)
    values[1::2] = True
    flat = np.repeat(values, counts)
    return flat.reshape(width, height).T.copy()


# --- Supervisely ---------------------------------------------------------------------------------


def decode_supervisely_bitmap(data: str) -> np.ndarray:
    """A Supervisely bitmap: base64 of a zlib-compressed PNG; the mask is its alpha channel when
    it has one (RGBA), else the image itself."""
    png = zlib.decompress(base64.b64decode(data))
    img = require("PIL.Image", "pillow").open(io.BytesIO(png))
    img.load()
    if img.mode in ("RGBA", "LA"):
        return np.asarray(img.getchannel("A")) > 0
    return np.asarray(img.convert("L")) > 0


def read_supervisely(path: Path, classes: Iterable[str] = SUPERVISELY_PERSON_CLASSES) -> Label:
    """A Supervisely annotation JSON: person objects as bitmaps (at an origin) or polygons
    (exterior filled, interior holes cut out)."""
    ann = json.loads(Path(path).read_text())
    return supervisely_label(ann, classes)


def supervisely_label(ann: dict, classes: Iterable[str] = SUPERVISELY_PERSON_CLASSES) -> Label:
    wanted = {c.lower() for c in classes}
    height, width = ann["size"]["height"], ann["size"]["width"]
    person = np.zeros((height, width), np.uint8)
    for obj in ann.get("objects", []):
        if obj.get("classTitle", "").lower() not in wanted:
            continue
        kind = obj.get("geometryType")
        if kind == "bitmap":
            paste_bitmap(person, decode_supervisely_bitmap(obj["bitmap"]["data"]), obj["bitmap"]["origin"])
        elif kind == "polygon":
            piece = np.zeros_like(person)
            fill_polygon(piece, obj["points"]["exterior"])
            for hole in obj["points"].get("interior", []):
                fill_polygon(piece, hole, 0)
            person |= piece
        else:
            raise ValueError(f"unsupported Supervisely geometry {kind!r}")
    return Label(to_alpha(person > 0))


def paste_bitmap(canvas: np.ndarray, bitmap: np.ndarray, origin: Sequence[int]) -> None:
    """OR a bitmap into the canvas with its top-left at origin (x, y), clipped to the canvas."""
    x, y = int(origin[0]), int(origin[1])
    h = min(bitmap.shape[0], canvas.shape[0] - y)
    w = min(bitmap.shape[1], canvas.shape[1] - x)
    if h > 0 and w > 0:
        canvas[y : y + h, x : x + w] |= bitmap[:h, :w].astype(np.uint8)


# --- COCO ----------------------------------------------------------------------------------------


def coco_person_category_ids(coco: dict) -> set[int]:
    ids = {c["id"] for c in coco.get("categories", []) if c.get("name", "").lower() == "person"}
    if not ids:
        raise ValueError("COCO file has no category named 'person'")
    return ids


def coco_label(annotations: list[dict], height: int, width: int) -> Label:
    """Person annotations of one image as a Label: polygons and non-crowd RLEs are person;
    crowd regions (iscrowd = 1) are ignored, as COCO evaluation does."""
    person = np.zeros((height, width), np.uint8)
    crowd = np.zeros((height, width), bool)
    for ann in annotations:
        seg = ann["segmentation"]
        if isinstance(seg, list):
            for polygon in seg:
                fill_polygon(person, polygon)
        else:
            region = rle_decode(checked_rle_size(seg, height, width))
            if ann.get("iscrowd"):
                crowd |= region
            else:
                person[region] = 255
    return Label(to_alpha(person > 0), crowd & (person == 0) if crowd.any() else None)


def checked_rle_size(rle: dict, height: int, width: int) -> dict:
    if list(rle["size"]) != [height, width]:
        raise ValueError(f"RLE size {rle['size']} does not match image {height} x {width}")
    return rle
