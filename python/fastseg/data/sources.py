"""Sources: a folder (or COCO JSON) of labelled photos, listed as items that a worker can load.

`open_source(path, fmt)` detects the format from the folder's layout unless told, and lists
every (photo, label) pair by id. Items are plain data so they can cross to worker processes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from . import readers
from .readers import Label

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
IMAGE_DIRS = ("images", "Training_Images", "JPEGImages", "img", "imgs", "photos")
MASK_DIRS = ("masks", "Ground_Truth", "mattes", "alpha", "instances", "labels", "SegmentationObject")
FORMATS = ("ccp", "voc", "masks", "instances", "alpha", "supervisely", "coco")
LICENCE_BY_FORMAT = {"voc": "Pascal VOC terms (Flickr photos, research use)"}


@dataclass(frozen=True)
class Item:
    source: str  # the source's name, e.g. "ccp"; output ids are "<source>-<id>"
    id: str
    format: str
    image: str  # path of the photo
    label: Optional[str] = None  # path of the label file; None when the label lives in `annotation`
    annotation: Optional[dict] = field(default=None, hash=False, compare=False)  # JSON-borne labels

    @property
    def out_id(self) -> str:
        return f"{self.source}-{self.id}"


@dataclass
class Source:
    name: str
    format: str
    licence: str
    items: list[Item]
    resize_small_masks: bool  # masks smaller than the photo with its aspect ratio are upscaled


LABEL_READERS: dict[str, Callable[[Path], Label]] = {
    "ccp": readers.read_ccp_mat,
    "voc": readers.read_voc_png,
    "masks": readers.read_mask_image,
    "instances": readers.read_instance_mask,
    "alpha": readers.read_alpha_matte,
    "supervisely": readers.read_supervisely,
}


def load_label(item: Item) -> Label:
    if item.format == "coco":
        ann = item.annotation
        return readers.coco_label(ann["annotations"], ann["height"], ann["width"])
    if item.label is None:  # an RGBA photo carrying its own matte
        return readers.read_alpha_matte(Path(item.image))
    return LABEL_READERS[item.format](Path(item.label))


def label_checksum(item: Item) -> str:
    """What the label is made of: the label file, or the image's annotations as canonical JSON."""
    if item.label is not None:
        return file_sha256(Path(item.label))
    return hashlib.sha256(json.dumps(item.annotation, sort_keys=True).encode()).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- detection -----------------------------------------------------------------------------------


def detect_format(path: Path) -> str:
    if path.is_file() and path.suffix == ".json":
        return "coco"
    if (path / "annotations" / "pixel-level").is_dir() and (path / "photos").is_dir():
        return "ccp"
    if (path / "SegmentationClass").is_dir() and (path / "JPEGImages").is_dir():
        return "voc"
    if (path / "meta.json").is_file() or any(path.glob("ann/*.json")) or any(path.glob("*/ann/*.json")):
        return "supervisely"
    if find_dir(path, IMAGE_DIRS) and find_dir(path, MASK_DIRS):
        return "masks"
    raise ValueError(
        f"cannot tell the format of {path}: expected CCP (photos/ + annotations/pixel-level/), VOC "
        f"(JPEGImages/ + SegmentationClass/), Supervisely (ann/ + img/), a COCO .json, or an image "
        f"folder ({'/'.join(IMAGE_DIRS)}) next to a mask folder ({'/'.join(MASK_DIRS)}); use --format"
    )


def find_dir(root: Path, names: tuple[str, ...]) -> Optional[Path]:
    return next((root / n for n in names if (root / n).is_dir()), None)


def files_by_stem(folder: Path, suffixes: tuple[str, ...] = IMAGE_SUFFIXES) -> dict[str, Path]:
    return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in suffixes}


def detect_licence(root: Path, fmt: str) -> str:
    for name in ("LICENSE", "LICENSE.txt", "LICENCE"):
        if (root / name).is_file():
            head = (root / name).read_text(errors="replace")[:400]
            if "Apache License" in head:
                return "Apache-2.0"
            if "MIT License" in head:
                return "MIT"
            return f"see {name}"
    return LICENCE_BY_FORMAT.get(fmt, "unknown")


def open_source(path: Path, fmt: Optional[str] = None, name: Optional[str] = None,
                licence: Optional[str] = None) -> Source:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"source {path} does not exist")
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    name = name or (path.stem if path.is_file() else path.name)
    root = path.parent if path.is_file() else path
    items = LISTERS[fmt](path, name)
    return Source(name, fmt, licence or detect_licence(root, fmt), items, resize_small_masks=fmt in ("masks", "alpha", "instances"))


def pair_items(name: str, fmt: str, images: dict[str, Path], labels: dict[str, Path]) -> list[Item]:
    """Pairs by id; a photo without a label (or the reverse) is not an item."""
    return [Item(name, i, fmt, str(images[i]), str(labels[i])) for i in sorted(images.keys() & labels.keys())]


def list_ccp(root: Path, name: str) -> list[Item]:
    return pair_items(name, "ccp", files_by_stem(root / "photos"),
                      files_by_stem(root / "annotations" / "pixel-level", (".mat",)))


def list_voc(root: Path, name: str) -> list[Item]:
    return pair_items(name, "voc", files_by_stem(root / "JPEGImages"), files_by_stem(root / "SegmentationClass", (".png",)))


def list_mask_folder(fmt: str) -> Callable[[Path, str], list[Item]]:
    def lister(root: Path, name: str) -> list[Item]:
        image_dir = find_dir(root, IMAGE_DIRS)
        mask_dir = find_dir(root, MASK_DIRS)
        if image_dir is None:
            raise ValueError(f"{root} has no image folder ({'/'.join(IMAGE_DIRS)})")
        images = files_by_stem(image_dir)
        if mask_dir is None and fmt == "alpha":  # RGBA photos carrying their own matte
            return [Item(name, i, fmt, str(p)) for i, p in images.items() if p.suffix.lower() == ".png"]
        if mask_dir is None:
            raise ValueError(f"{root} has no mask folder ({'/'.join(MASK_DIRS)})")
        return pair_items(name, fmt, images, files_by_stem(mask_dir))

    return lister


def list_supervisely(root: Path, name: str) -> list[Item]:
    """A project (datasets as subfolders) or one dataset: ann/NAME.json describes img/NAME."""
    items = []
    for ann_dir in sorted([root / "ann"] if (root / "ann").is_dir() else root.glob("*/ann")):
        prefix = "" if ann_dir.parent == root else f"{ann_dir.parent.name}_"
        for ann in sorted(ann_dir.glob("*.json")):
            image = ann_dir.parent / "img" / ann.name[: -len(".json")]
            if image.is_file():
                items.append(Item(name, prefix + image.stem, "supervisely", str(image), str(ann)))
    return items


def list_coco(json_path: Path, name: str) -> list[Item]:
    """Every image with at least one person annotation; photos are looked up next to the JSON,
    in images/, or in a folder named after the JSON (train2017.json -> train2017/)."""
    coco = json.loads(json_path.read_text())
    person_ids = readers.coco_person_category_ids(coco)
    by_image: dict[int, list[dict]] = {}
    for ann in coco["annotations"]:
        if ann["category_id"] in person_ids:
            by_image.setdefault(ann["image_id"], []).append(ann)
    folders = [json_path.parent, json_path.parent / "images", json_path.parent / json_path.stem.split("_")[-1]]
    items = []
    for info in sorted(coco["images"], key=lambda i: str(i["file_name"])):
        if info["id"] not in by_image:
            continue
        image = next((f / info["file_name"] for f in folders if (f / info["file_name"]).is_file()), folders[0] / info["file_name"])
        annotation = {"width": info["width"], "height": info["height"],
                      "annotations": [{k: a[k] for k in ("segmentation", "iscrowd") if k in a} for a in by_image[info["id"]]]}
        items.append(Item(name, Path(info["file_name"]).stem, "coco", str(image), None, annotation))
    return items


LISTERS: dict[str, Callable[[Path, str], list[Item]]] = {
    "ccp": list_ccp,
    "voc": list_voc,
    "masks": list_mask_folder("masks"),
    "instances": list_mask_folder("instances"),
    "alpha": list_mask_folder("alpha"),
    "supervisely": list_supervisely,
    "coco": list_coco,
}
