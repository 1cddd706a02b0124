"""A synthetic fixed-camera video with exact ground truth, for testing and benchmarking
background subtraction.

A person cut-out (a real one from a Clothing Co-Parsing photo and its label, or a drawn
figure when the shared data is absent) walks across a static background photo, left to right
and back, with stretches in which nobody is in the frame. Every frame gets Gaussian sensor
noise and a slow global brightness drift. The ground truth of a frame is exactly the pasted
cut-out's mask: the person is composited with a hard edge, so no pixel is ambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Tuple, Union

import cv2
import numpy as np

Size = Tuple[int, int]  # (height, width)


@dataclass
class Scene:
    background: np.ndarray  # uint8 H x W x 3 at the video's size
    person: np.ndarray  # uint8 h x w x 3 cut-out
    person_mask: np.ndarray  # bool h x w: the pixels of the cut-out that are person


@dataclass(frozen=True)
class Timeline:
    """Frame counts: the empty scene to learn, a walk, nobody, the walk back, nobody."""

    learn: int = 30
    walk: int = 60
    gap: int = 20

    def __len__(self) -> int:
        return self.learn + 2 * (self.walk + self.gap)

    def position(self, t: int) -> Union[float, None]:
        """How far across the frame the person is at frame t (0 = entering on the left, 1 =
        leaving on the right), or None when nobody is in it."""
        t -= self.learn
        if t < 0:
            return None
        for forward in (True, False):
            if t < self.walk:
                u = t / max(1, self.walk - 1)
                return u if forward else 1.0 - u
            t -= self.walk
            if t < self.gap:
                return None
            t -= self.gap
        return None


class SyntheticVideo:
    """Indexable frames (BGR uint8) with their exact ground truth (bool H x W).

    noise: sensor noise sigma in 0..255 units; drift: total relative brightness change from
    the first frame to the last (0.2 = 20% brighter at the end); person_height: the person's
    height as a fraction of the frame's.
    """

    def __init__(self, scene: Scene, timeline: Timeline = Timeline(), *, noise: float = 3.0, drift: float = 0.2,
                 seed: int = 0) -> None:
        self.scene = scene
        self.timeline = timeline
        self.noise = noise
        self.drift = drift
        self.seed = seed
        self._background = scene.background.astype(np.float32)

    @property
    def size(self) -> Size:
        return self.scene.background.shape[:2]

    def __len__(self) -> int:
        return len(self.timeline)

    def __getitem__(self, t: int) -> Tuple[np.ndarray, np.ndarray]:
        if not 0 <= t < len(self):
            raise IndexError(t)
        image = self._background.copy()
        truth = np.zeros(self.size, bool)
        where = self.timeline.position(t)
        if where is not None:
            self._paste(image, truth, where)
        image *= 1.0 + self.drift * t / max(1, len(self) - 1)
        rng = np.random.default_rng((self.seed, t))
        image += rng.standard_normal(image.shape, dtype=np.float32) * np.float32(self.noise)
        return np.clip(image + 0.5, 0, 255).astype(np.uint8), truth

    def __iter__(self) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
        return (self[t] for t in range(len(self)))

    def _paste(self, image: np.ndarray, truth: np.ndarray, where: float) -> None:
        """The cut-out at `where` across the frame (half outside at both ends), feet on the bottom."""
        height, width = self.size
        ph, pw = self.scene.person_mask.shape
        x0 = int(round(-pw / 2 + where * width))
        y0 = height - ph
        xs, xe = max(0, x0), min(width, x0 + pw)
        if xe <= xs:
            return
        mask = self.scene.person_mask[:, xs - x0 : xe - x0]
        region = image[y0:, xs:xe]
        region[mask] = self.scene.person[:, xs - x0 : xe - x0][mask]
        truth[y0:, xs:xe] = mask


def iou(mask: np.ndarray, truth: np.ndarray) -> float:
    """Intersection over union of mask != 0 and truth; 1.0 when both are empty."""
    pred = mask != 0
    union = np.count_nonzero(pred | truth)
    return 1.0 if union == 0 else np.count_nonzero(pred & truth) / union


# --- scenes -----------------------------------------------------------------------------------


def fit_person(photo: np.ndarray, person: np.ndarray, height: int) -> Tuple[np.ndarray, np.ndarray]:
    """The person's bounding box of the photo, scaled to `height` pixels tall."""
    ys, xs = np.nonzero(person)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    scale = height / (y1 - y0)
    size = (max(1, int(round((x1 - x0) * scale))), height)
    cut = cv2.resize(photo[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA)
    mask = cv2.resize(person[y0:y1, x0:x1].astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    return cut, mask


def shared_scene(data: Path, size: Size = (720, 1280), background: str = "IMG_20250319_023048_025.jpg",
                 person: str = "0007", person_height: float = 0.8) -> Scene:
    """A background photo of ../shared/data/backgrounds and a Clothing Co-Parsing person."""
    from .data.readers import read_ccp_mat, read_image

    height, width = size
    photo = cv2.imread(str(data / "backgrounds" / background))
    if photo is None:
        raise FileNotFoundError(data / "backgrounds" / background)
    backdrop = cv2.resize(photo, (width, height), interpolation=cv2.INTER_LINEAR)
    image = read_image(data / "ccp" / "photos" / f"{person}.jpg")
    label = read_ccp_mat(data / "ccp" / "annotations" / "pixel-level" / f"{person}.mat").mask > 127
    cut, mask = fit_person(image, label, int(round(person_height * height)))
    return Scene(backdrop, cut, mask)


def drawn_scene(size: Size = (360, 640), person_height: float = 0.8, seed: int = 0) -> Scene:
    """A scene made from nothing: a textured room and a figure (head, body, arms, legs) in
    colours and textures of its own, for when the shared data is absent."""
    height, width = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    room = np.dstack([90 + 60 * xx / width, 110 + 40 * yy / height, 140 - 50 * xx / width])
    room += 12 * np.sin(xx / 9)[..., None]  # wallpaper stripes
    room = np.clip(room, 0, 255).astype(np.uint8)
    for _ in range(12):  # furniture
        x, y = int(rng.integers(0, width)), int(rng.integers(height // 3, height))
        w, h = int(rng.integers(width // 20, width // 5)), int(rng.integers(height // 20, height // 4))
        cv2.rectangle(room, (x, y), (x + w, y + h), tuple(int(c) for c in rng.integers(30, 226, 3)), -1)
    ph = int(round(person_height * height))
    pw = ph // 2
    mask = np.zeros((ph, pw), np.uint8)
    cx = pw // 2
    cv2.ellipse(mask, (cx, ph // 10), (ph // 14, ph // 11), 0, 0, 360, 1, -1)  # head
    cv2.rectangle(mask, (cx - ph // 8, ph // 5), (cx + ph // 8, ph * 6 // 10), 1, -1)  # body
    cv2.rectangle(mask, (cx - ph // 8 - ph // 18, ph // 5), (cx - ph // 8, ph // 2), 1, -1)  # arms
    cv2.rectangle(mask, (cx + ph // 8, ph // 5), (cx + ph // 8 + ph // 18, ph // 2), 1, -1)
    cv2.rectangle(mask, (cx - ph // 9, ph * 6 // 10), (cx - ph // 60, ph - 1), 1, -1)  # legs
    cv2.rectangle(mask, (cx + ph // 60, ph * 6 // 10), (cx + ph // 9, ph - 1), 1, -1)
    py, px = np.mgrid[0:ph, 0:pw].astype(np.float32)
    clothes = np.dstack([40 + 30 * np.sin(px / 4), 60 + 20 * np.cos(py / 6), 170 + 40 * np.sin((px + py) / 7)])
    figure = np.clip(clothes, 0, 255).astype(np.uint8)
    figure[: ph // 5] = (120, 150, 200)  # skin
    return Scene(room, figure, mask.astype(bool))


def hd_video(data: Union[Path, None], timeline: Timeline = Timeline(), **options) -> SyntheticVideo:
    """The 1280 x 720 video of the benchmark: the shared scene when `data` holds it, else drawn."""
    size = (720, 1280)
    scene = shared_scene(data, size) if data is not None and (data / "ccp").is_dir() else drawn_scene(size)
    return SyntheticVideo(scene, timeline, **options)

