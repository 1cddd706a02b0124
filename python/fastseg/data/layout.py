"""The one dataset layout every `fastseg data` tool writes and reads:

    DIR/images/ID.jpg     the photo
    DIR/masks/ID.png      uint8 alpha: 0 = background, 255 = person, values between = soft edge
    DIR/ignore/ID.png     255 where the loss must ignore the pixel (only where a source has such regions)
    DIR/manifest.jsonl    one JSON record per item, sorted by id
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Iterable, Optional

import cv2
import numpy as np

from .readers import read_image

JPEG_QUALITY = 95
VAL_EVERY = 10  # one item in ten is held out for validation


def image_path(root: Path, item_id: str) -> Path:
    return Path(root) / "images" / f"{item_id}.jpg"


def mask_path(root: Path, item_id: str) -> Path:
    return Path(root) / "masks" / f"{item_id}.png"


def ignore_path(root: Path, item_id: str) -> Path:
    return Path(root) / "ignore" / f"{item_id}.png"


def manifest_path(root: Path) -> Path:
    return Path(root) / "manifest.jsonl"


def split_for(source: str, item_id: str) -> str:
    """Held out by id: a hash of (source, id), so adding or losing other items never moves an
    item between train and val, and val never leaks into training."""
    digest = hashlib.sha256(f"{source}/{item_id}".encode()).digest()
    return "val" if int.from_bytes(digest[:4], "little") % VAL_EVERY == 0 else "train"


def write_atomic(path: Path, data: bytes) -> None:
    """Write next to the target, then rename over it: a reader sees the old file or the new one,
    never half of one, and a killed run leaves no truncated output."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def encode_jpeg(image_bgr: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", image_bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    assert ok, "JPEG encoding failed"
    return buf.tobytes()


def encode_png(gray: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(gray, np.uint8))
    assert ok, "PNG encoding failed"
    return buf.tobytes()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def person_fraction(mask: np.ndarray) -> float:
    """Share of the image that is person, soft edges counted by their alpha."""
    return float(mask.mean() / 255.0)


# --- manifest -------------------------------------------------------------------------------------


def read_manifest(root: Path) -> list[dict]:
    path = manifest_path(root)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_manifest(root: Path, records: Iterable[dict]) -> bool:
    """Write the manifest sorted by id; returns False (and leaves the file alone) when unchanged."""
    text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in sorted(records, key=lambda r: r["id"]))
    path = manifest_path(root)
    if path.is_file() and path.read_text() == text:
        return False
    write_atomic(path, text.encode())
    return True


def outputs_intact(root: Path, record: dict) -> bool:
    """Every file the record names exists with the checksum it had when written."""
    for kind, digest in record["sha256"].items():
        path = OUTPUT_PATHS[kind](root, record["id"])
        if not path.is_file() or sha256(path.read_bytes()) != digest:
            return False
    return True


OUTPUT_PATHS = {"image": image_path, "mask": mask_path, "ignore": ignore_path}


# --- reading the layout back ------------------------------------------------------------------------


def load_item(root: Path, record: dict) -> tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
    """(image BGR, mask uint8, ignore bool or None) of one manifest record."""
    image = read_image(image_path(root, record["id"]))
    mask = cv2.imread(str(mask_path(root, record["id"])), cv2.IMREAD_GRAYSCALE)
    ignore = None
    if "ignore" in record["sha256"]:
        ignore = cv2.imread(str(ignore_path(root, record["id"])), cv2.IMREAD_GRAYSCALE) > 127
    return image, mask, ignore
