"""Looking at a dataset: `fastseg data stats DIR` and `fastseg data preview DIR -o grid.png`."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from . import layout

FRACTION_BINS = (0.0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)


def summarize(records: list[dict]) -> dict[tuple[str, str], dict]:
    """Per (source, split): count, size range, person-fraction histogram over FRACTION_BINS."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in records:
        groups[(r["source"], r["split"])].append(r)
    summary = {}
    for key, rs in sorted(groups.items()):
        fractions = np.array([r["person_fraction"] for r in rs])
        summary[key] = {
            "count": len(rs),
            "width": (min(r["width"] for r in rs), int(np.median([r["width"] for r in rs])), max(r["width"] for r in rs)),
            "height": (min(r["height"] for r in rs), int(np.median([r["height"] for r in rs])), max(r["height"] for r in rs)),
            "fraction_median": float(np.median(fractions)),
            "histogram": np.histogram(fractions, bins=FRACTION_BINS)[0].tolist(),
            "with_ignore": sum("ignore" in r["sha256"] for r in rs),
        }
    return summary


def format_summary(summary: dict[tuple[str, str], dict]) -> str:
    edges = [f"<{b:g}" for b in FRACTION_BINS[1:]]
    lines = [f"{'source':<22}{'split':<7}{'items':>6}  {'width min/med/max':<18}{'height min/med/max':<19}"
             f"{'median':>7}  person fraction: " + " ".join(f"{e:>5}" for e in edges)]
    for (source, split), s in summary.items():
        lines.append(f"{source:<22}{split:<7}{s['count']:>6}  {'/'.join(map(str, s['width'])):<18}"
                     f"{'/'.join(map(str, s['height'])):<19}{s['fraction_median']:>7.3f}  {'':17}"
                     + " ".join(f"{n:>5}" for n in s["histogram"]))
    total = sum(s["count"] for s in summary.values())
    val = sum(s["count"] for (_, split), s in summary.items() if split == "val")
    lines.append(f"{total} items, {val} in val ({val / max(total, 1):.1%})")
    return "\n".join(lines)


# --- preview ----------------------------------------------------------------------------------------

PERSON_TINT = np.array([60, 220, 60], np.float32)  # BGR green
IGNORE_TINT = np.array([60, 60, 230], np.float32)  # BGR red


def overlay(image: np.ndarray, mask: np.ndarray, ignore: Optional[np.ndarray]) -> np.ndarray:
    """The photo with the person tinted green (by its alpha, so soft edges show), the ignore
    region red, and the mask's outline in white: a misaligned label is obvious at a glance."""
    alpha = mask.astype(np.float32)[..., None] / 255.0 * 0.45
    out = image.astype(np.float32) * (1 - alpha) + PERSON_TINT * alpha
    if ignore is not None:
        out[ignore] = out[ignore] * 0.4 + IGNORE_TINT * 0.6
    out = out.astype(np.uint8)
    contours, _ = cv2.findContours((mask >= 128).astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(out, contours, -1, (255, 255, 255), max(1, round(max(image.shape[:2]) / 300)))
    return out


def tile(image: np.ndarray, cell: int, caption: str) -> np.ndarray:
    """Fit into a cell x cell square (letterboxed) with a caption along the bottom."""
    h, w = image.shape[:2]
    scale = cell / max(h, w)
    small = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    out = np.full((cell, cell, 3), 32, np.uint8)
    y, x = (cell - small.shape[0]) // 2, (cell - small.shape[1]) // 2
    out[y : y + small.shape[0], x : x + small.shape[1]] = small
    cv2.rectangle(out, (0, cell - 16), (cell, cell), (0, 0, 0), -1)
    cv2.putText(out, caption[: cell // 6], (3, cell - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def pick(records: list[dict], count: int, seed: int) -> list[dict]:
    """A random sample spread evenly over the sources, so a small source is not drowned out."""
    rng = np.random.default_rng(seed)
    by_source: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        by_source[r["source"]].append(r)
    queues = {s: [rs[i] for i in rng.permutation(len(rs))] for s, rs in sorted(by_source.items())}
    chosen: list[dict] = []
    while len(chosen) < count and any(queues.values()):
        for queue in queues.values():
            if queue and len(chosen) < count:
                chosen.append(queue.pop())
    return chosen


def preview_grid(root: Path, records: list[dict], columns: int = 6, cell: int = 220) -> np.ndarray:
    tiles = []
    for r in records:
        image, mask, ignore = layout.load_item(root, r)
        tiles.append(tile(overlay(image, mask, ignore), cell, f"{r['id']} {r['person_fraction']:.2f} {r['split']}"))
    while len(tiles) % columns:
        tiles.append(np.full((cell, cell, 3), 32, np.uint8))
    rows = [np.hstack(tiles[i : i + columns]) for i in range(0, len(tiles), columns)]
    return np.vstack(rows)
