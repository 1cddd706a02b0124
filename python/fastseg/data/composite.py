"""`fastseg data composite`: synthetic webcam-style frames from the people of a built dataset.

Each frame pastes one person onto a background (a people-free photo, or a people-free crop
cut from a dataset photo), framed as a webcam sees people: head and shoulders, half body or
full body in a 16:9 frame, cut off by the bottom edge. A share of frames (``far``) show a
whole person small instead, as across a room or a street: the photos of people in a busy
street are where a webcam-trained model fails. A share of frames (``empty``) keep the
background alone with an all-zero mask: a chair or a screen is not a person, and a frame
with nobody in it must give an empty mask. The person's colours are pulled
towards the background's (Reinhard transfer in CIELAB, `_core.harmonize`) so the model
cannot find people by their colour cast, and the edge is softened. The mask is the paste's
alpha, so label and image agree by construction. Frame i depends only on (seed, i).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from .. import _core
from . import layout
from .build import run_tasks
from .readers import read_image
from .sources import IMAGE_SUFFIXES

MIN_PERSON_FRACTION = 0.05  # smaller people are too few pixels to paste large
CROP_SHARE = 0.3  # share of backgrounds cut from dataset photos instead of the backgrounds folder
MIN_CROP_WIDTH = 160
FRAMINGS = (("head_and_shoulders", 0.5, (0.25, 0.4)), ("half_body", 0.3, (0.45, 0.65)), ("full_body", 0.2, (1.0, 1.0)))
FAR_FILL = (0.2, 0.5)  # a far person's height, as a share of the frame's
FAR_FEET = (0.65, 0.95)  # where a far person's feet stand, as a share of the frame's height


@dataclass(frozen=True)
class Job:
    index: int
    seed: int
    dataset: str
    out: str
    size: tuple[int, int]  # (width, height)
    split: str
    person: Optional[dict]  # manifest record of the person; None: the background alone
    background: str  # a background file, or "crop:<record id>"
    crop_from: Optional[dict]  # the record to cut a background from
    fallback: Optional[str]  # the background file used when that record has no people-free crop
    known: Optional[dict]
    far: bool = False  # framed small (when the photo cuts the person at no edge)


def make_jobs(dataset: Path, backgrounds: list[Path], out: Path, count: int, size: tuple[int, int], seed: int,
              split: str, known: dict[str, dict], empty: float = 0.0, far: float = 0.0) -> list[Job]:
    records = [r for r in layout.read_manifest(dataset) if r["split"] == split]
    people = [r for r in records if r["person_fraction"] >= MIN_PERSON_FRACTION]
    if not people:
        raise ValueError(f"{dataset} has no {split} items with a person fraction of at least {MIN_PERSON_FRACTION}")
    jobs = []
    for i in range(count):
        rng = np.random.default_rng([seed, i])
        person = people[rng.integers(len(people))]
        crop_from = records[rng.integers(len(records))] if not backgrounds or rng.random() < CROP_SHARE else None
        fallback = str(backgrounds[rng.integers(len(backgrounds))]) if backgrounds else None
        background = f"crop:{crop_from['id']}" if crop_from else str(fallback)
        if empty and rng.random() < empty:  # drawn last: the other frames of a seed stay as they were
            person = None
        is_far = bool(far and person and rng.random() < far)  # likewise
        jobs.append(Job(i, seed, str(dataset), str(out), size, split, person, background, crop_from, fallback,
                        known.get(item_id(seed, i)), is_far))
    return jobs


def item_id(seed: int, index: int) -> str:
    return f"composite-{seed}-{index:06d}"


def list_backgrounds(folder: Optional[Path]) -> list[Path]:
    if folder is None:
        return []
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


# --- one frame ----------------------------------------------------------------------------------------


def make_frame(job: Job) -> Optional[dict]:
    """Write frame job.index and return its manifest record (None when kept from a previous run)."""
    recipe = {"seed": job.seed, "index": job.index, "person": job.person and job.person["id"],
              "background": job.background, "size": list(job.size)}
    if job.far:  # only then, so frames made before `far` existed are still recognised
        recipe["far"] = True
    if job.known and job.known.get("recipe") == recipe and layout.outputs_intact(Path(job.out), job.known):
        return job.known
    rng = np.random.default_rng([job.seed, job.index, 1])
    width, height = job.size
    background = load_background(job, rng)
    frame, alpha = (paste_person(job, background, rng) if job.person
                    else (background, np.zeros(background.shape[:2], np.uint8)))
    files = {"image": layout.encode_jpeg(frame), "mask": layout.encode_png(alpha)}
    record_id = item_id(job.seed, job.index)
    for kind, data in files.items():
        layout.write_atomic(layout.OUTPUT_PATHS[kind](Path(job.out), record_id), data)
    crop_licence = job.crop_from and job.crop_from["licence"]
    person_licence = f"person: {job.person['licence']}; " if job.person else ""
    return {
        "id": record_id, "source": "composite", "source_id": f"{job.seed}-{job.index:06d}", "format": "composite",
        "licence": f"{person_licence}background: {crop_licence or 'unknown'}",
        "split": job.split, "width": width, "height": height,
        "person_fraction": round(layout.person_fraction(alpha), 5),
        "sha256": {kind: layout.sha256(data) for kind, data in files.items()}, "recipe": recipe,
    }


def paste_person(job: Job, background: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The frame with job.person framed, colour-matched and blended in, and its alpha."""
    height, width = background.shape[:2]
    image, mask, _ = layout.load_item(Path(job.dataset), job.person)
    if rng.random() < 0.5:
        image, mask = image[:, ::-1], mask[:, ::-1]
    matrix = framing_matrix(mask, width, height, rng, job.far)
    fg = cv2.warpAffine(np.ascontiguousarray(image), matrix, (width, height), flags=cv2.INTER_AREA if matrix[0, 0] < 1 else cv2.INTER_LINEAR)
    alpha = cv2.warpAffine(np.ascontiguousarray(mask), matrix, (width, height), flags=cv2.INTER_LINEAR)
    alpha = soften(alpha, rng)
    fg = _core.harmonize(fg, alpha, background, amount=float(rng.uniform(0.2, 0.6)))
    return blend(fg, background, alpha), alpha


def framing_matrix(mask: np.ndarray, width: int, height: int, rng: np.random.Generator, far: bool = False) -> np.ndarray:
    """Scale and place the person like a webcam frames one. A person the photo already cuts at
    its bottom edge stays cut there (the cut lands on the frame's bottom edge); a whole person
    is cut at a random body height, or shown whole with some floor below; with `far`, a whole
    person is shown small, standing anywhere across the frame."""
    x0, y0, x1, y1 = person_box(mask)
    photo_h, photo_w = mask.shape
    # Where the photo's own edges cut the person.
    cut_left, cut_right, cut_top, cut_by_photo = x0 <= 1, x1 >= photo_w - 1, y0 <= 1, y1 >= photo_h - 1
    if far and not (cut_left or cut_right or cut_top or cut_by_photo):  # only a whole person stands alone
        return far_matrix((x0, y0, x1, y1), width, height, rng)
    names, weights, ranges = zip(*FRAMINGS)
    choice = 0 if cut_by_photo else rng.choice(len(FRAMINGS), p=weights)
    visible = 1.0 if cut_by_photo else rng.uniform(*ranges[choice])
    cut_y = photo_h if cut_by_photo else y0 + visible * (y1 - y0)
    whole = not cut_by_photo and visible >= 1.0
    fill = rng.uniform(0.5, 0.85) if whole else rng.uniform(0.6, 0.95)
    scale = fill * height / max(cut_y - y0, 1)
    scale = min(scale, 1.3 * width / max(x1 - x0, 1))  # a very wide person still fits, roughly
    offset_y = height - cut_y * scale - (rng.uniform(0.02, 0.1) * height if whole else 0)
    offset_x = rng.uniform(0.3, 0.7) * width - (x0 + x1) / 2 * scale
    if cut_left:  # that cut must stay outside the frame
        offset_x = min(offset_x, 0)
    if cut_right:
        offset_x = max(offset_x, width - photo_w * scale)
    if cut_top and offset_y > 0:  # cut at the top too: fill the frame's height rather than float
        scale = max(scale, height / cut_y)
        offset_y = 0
    return np.array([[scale, 0, offset_x], [0, scale, offset_y]], np.float64)


def far_matrix(box: tuple[int, int, int, int], width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A whole person FAR_FILL of the frame's height tall, feet at FAR_FEET of it, inside the frame."""
    x0, y0, x1, y1 = box
    scale = rng.uniform(*FAR_FILL) * height / max(y1 - y0, 1)
    scale = min(scale, 0.9 * width / max(x1 - x0, 1))
    offset_y = rng.uniform(*FAR_FEET) * height - y1 * scale
    offset_y = max(offset_y, -y0 * scale)  # the head stays in the frame
    person_w = (x1 - x0) * scale
    offset_x = rng.uniform(0, max(width - person_w, 0)) - x0 * scale
    return np.array([[scale, 0, offset_x], [0, scale, offset_y]], np.float64)


def person_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) around the person's real parts: stray specks of label far away
    (which some sources have) would otherwise shrink the person to fit them in."""
    count, _, stats, _ = cv2.connectedComponentsWithStats((mask >= 128).astype(np.uint8))
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = stats[1:][areas >= 0.02 * areas.sum()]
    x0, y0 = keep[:, cv2.CC_STAT_LEFT].min(), keep[:, cv2.CC_STAT_TOP].min()
    x1 = (keep[:, cv2.CC_STAT_LEFT] + keep[:, cv2.CC_STAT_WIDTH]).max()
    y1 = (keep[:, cv2.CC_STAT_TOP] + keep[:, cv2.CC_STAT_HEIGHT]).max()
    return int(x0), int(y0), int(x1), int(y1)


def soften(alpha: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A slightly blurred edge, as a camera's optics and compression blur real ones."""
    return cv2.GaussianBlur(alpha, (0, 0), float(rng.uniform(0.5, 1.5)))


def blend(fg: np.ndarray, bg: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha.astype(np.float32)[..., None] / 255.0
    return (fg.astype(np.float32) * a + bg.astype(np.float32) * (1 - a) + 0.5).astype(np.uint8)


def load_background(job: Job, rng: np.random.Generator) -> np.ndarray:
    width, height = job.size
    photo = None
    if job.crop_from is not None:
        image, mask, ignore = layout.load_item(Path(job.dataset), job.crop_from)
        photo = people_free_crop(image, mask, ignore, width / height, rng)
    if photo is None and job.fallback:
        photo = read_image(Path(job.fallback))
    if photo is None:  # no people-free crop and no backgrounds folder: a plain wall
        photo = np.full((height, width, 3), rng.integers(60, 200, 3), np.uint8)
    if rng.random() < 0.5:
        photo = photo[:, ::-1]
    return cover(np.ascontiguousarray(photo), width, height, rng)


def people_free_crop(image: np.ndarray, mask: np.ndarray, ignore: Optional[np.ndarray], aspect: float,
                     rng: np.random.Generator, tries: int = 40) -> Optional[np.ndarray]:
    """A box of the given aspect ratio with no person (and no ignore region) in or near it:
    the mask is grown first, as labels often miss hair and fingers."""
    busy = (mask > 0) | (ignore if ignore is not None else False)
    busy = cv2.dilate(busy.astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
    integral = cv2.integral(busy.astype(np.uint8))
    h, w = mask.shape
    max_w = min(w, int(h * aspect))
    if max_w < MIN_CROP_WIDTH:
        return None
    for _ in range(tries):
        cw = int(rng.uniform(MIN_CROP_WIDTH, max_w + 1))
        ch = int(cw / aspect)
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        if integral[y + ch, x + cw] - integral[y, x + cw] - integral[y + ch, x] + integral[y, x] == 0:
            return image[y : y + ch, x : x + cw]
    return None


def cover(photo: np.ndarray, width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """Scale to cover the frame (with a little random zoom), then crop at a random place."""
    scale = max(width / photo.shape[1], height / photo.shape[0]) * rng.uniform(1.0, 1.25)
    size = (max(width, round(photo.shape[1] * scale)), max(height, round(photo.shape[0] * scale)))
    big = cv2.resize(photo, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    x, y = int(rng.integers(0, size[0] - width + 1)), int(rng.integers(0, size[1] - height + 1))
    return np.ascontiguousarray(big[y : y + height, x : x + width])


# --- the run --------------------------------------------------------------------------------------


def composite(dataset: Path, out: Path, count: int, backgrounds: Optional[Path] = None, size: tuple[int, int] = (640, 360),
              seed: int = 0, split: str = "train", jobs: int = 1, progress: bool = True, empty: float = 0.0,
              far: float = 0.0) -> list[dict]:
    for share, what in ((empty, "empty"), (far, "far")):
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"the share of {what} frames must be in [0, 1], got {share}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    known = {r["id"]: r for r in layout.read_manifest(out)}
    work = make_jobs(Path(dataset), list_backgrounds(backgrounds), out, count, size, seed, split, known, empty, far)
    records = [r for r in run_tasks(make_frame, work, jobs, progress) if r is not None]
    made = {r["id"] for r in records}
    layout.write_manifest(out, [r for r in known.values() if r["id"] not in made] + records)
    return records
