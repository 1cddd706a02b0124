"""`fastseg data build`: convert sources into the dataset layout, checking every pair.

Each item is built by a worker: read the photo and its label, check that they fit, validate
the mask, resize to --max-side, write the files atomically and return the manifest record.
A bad item becomes a flag in the report, never an exception that stops the run. A re-run
keeps every item whose source files and written files still have their recorded checksums.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional, TypeVar

import cv2
import numpy as np

from . import layout, require
from .readers import Label, read_image, to_alpha
from .sources import Item, Source, file_sha256, label_checksum, load_label

NEAR_EMPTY = 0.001  # person fraction below this: no usable person (a stray label or none)
NEARLY_FULL = 0.95  # above this the label is most likely inverted or the whole frame
ASPECT_TOLERANCE = 0.02  # a smaller mask counts as "same aspect ratio" within this relative error
OUTLIER_Z = 3.5  # robust z-score (median/MAD of logit fraction) beyond which a fraction is unusual
JOURNAL = "manifest.jsonl.partial"
T = TypeVar("T")
R = TypeVar("R")


class Flag(Exception):
    """An item that cannot go into the dataset; `name` is what the report calls it."""

    def __init__(self, name: str, detail: str):
        super().__init__(f"{name}: {detail}")
        self.name, self.detail = name, detail


@dataclass
class Outcome:
    item_id: str  # the output id
    source: str
    status: str  # "kept" (already built and intact), "built", or "flagged"
    record: Optional[dict] = None
    flag: Optional[str] = None
    detail: str = ""


@dataclass(frozen=True)
class Task:
    item: Item
    out: str
    licence: str
    resize_small_masks: bool
    max_side: Optional[int]
    known: Optional[dict] = field(default=None, hash=False, compare=False)


# --- one item -------------------------------------------------------------------------------------


def build_item(task: Task) -> Outcome:
    item, out = task.item, Path(task.out)
    try:
        source_sums = {"image": file_sha256(Path(item.image)), "label": label_checksum(item)}
        if is_still_valid(task, source_sums):
            return Outcome(item.out_id, item.source, "kept", task.known)
        record = convert(task, source_sums)
        return Outcome(item.out_id, item.source, "built", record)
    except Flag as f:
        remove_outputs(out, item.out_id)
        return Outcome(item.out_id, item.source, "flagged", flag=f.name, detail=f.detail)
    except Exception as e:  # noqa: BLE001 - any failure to read a source is that item's flag, not the run's end
        remove_outputs(out, item.out_id)
        return Outcome(item.out_id, item.source, "flagged", flag="unreadable", detail=f"{type(e).__name__}: {e}")


def is_still_valid(task: Task, source_sums: dict) -> bool:
    known = task.known
    return (known is not None and known.get("source_sha256") == source_sums
            and known.get("max_side") == task.max_side and layout.outputs_intact(Path(task.out), known))


def convert(task: Task, source_sums: dict) -> dict:
    item = task.item
    image = read_image(Path(item.image))
    raw = load_label(item)
    upscaled = raw.mask.shape != image.shape[:2]
    label = fit_label(raw, image.shape[:2], task.resize_small_masks)
    check_person_fraction(label.mask)
    image, label, resized = limit_size(image, label, task.max_side)
    files = {"image": (jpeg_as_is(Path(item.image)) if not resized else None) or layout.encode_jpeg(image),
             "mask": layout.encode_png(label.mask)}
    if label.ignore is not None and label.ignore.any():
        files["ignore"] = layout.encode_png(to_alpha(label.ignore))
    root = Path(task.out)
    for kind, data in files.items():
        layout.write_atomic(layout.OUTPUT_PATHS[kind](root, item.out_id), data)
    if "ignore" not in files:
        layout.ignore_path(root, item.out_id).unlink(missing_ok=True)
    height, width = label.mask.shape
    record = {
        "id": item.out_id, "source": item.source, "source_id": item.id, "format": item.format,
        "licence": task.licence, "split": layout.split_for(item.source, item.id),
        "width": width, "height": height, "person_fraction": round(layout.person_fraction(label.mask), 5),
        "sha256": {kind: layout.sha256(data) for kind, data in files.items()},
        "source_sha256": source_sums, "max_side": task.max_side,
    }
    if upscaled:  # upscaled labels are coarser: worth knowing when training
        record["label_upscaled_from"] = list(raw.size)
    if "ignore" in files:
        record["ignore_fraction"] = round(float(label.ignore.mean()), 5)
    return record


def fit_label(label: Label, image_hw: tuple[int, int], resize_small: bool) -> Label:
    """The label at the photo's size. A smaller mask with the photo's aspect ratio is scaled up
    (nearest, no invented edges) where the source is known to ship such masks; any other size
    is a mismatch: the label belongs to some other picture or was cropped."""
    mh, mw = label.mask.shape
    ih, iw = image_hw
    if (mh, mw) == (ih, iw):
        return label
    same_aspect = abs((mw / mh) / (iw / ih) - 1) < ASPECT_TOLERANCE
    if resize_small and same_aspect and mh <= ih and mw <= iw:
        mask = cv2.resize(label.mask, (iw, ih), interpolation=cv2.INTER_NEAREST)
        ignore = None
        if label.ignore is not None:
            ignore = cv2.resize(label.ignore.astype(np.uint8), (iw, ih), interpolation=cv2.INTER_NEAREST) > 0
        return Label(mask, ignore)
    raise Flag("mask_size_mismatch", f"mask is {mw}x{mh}, photo is {iw}x{ih}")


def check_person_fraction(mask: np.ndarray) -> None:
    fraction = layout.person_fraction(mask)
    if fraction == 0:
        raise Flag("empty_mask", "no person pixel")
    if fraction < NEAR_EMPTY:
        raise Flag("near_empty_mask", f"person fraction {fraction:.5f} < {NEAR_EMPTY}")
    if fraction > NEARLY_FULL:
        raise Flag("nearly_full_mask", f"person fraction {fraction:.3f} > {NEARLY_FULL} (inverted label?)")


def limit_size(image: np.ndarray, label: Label, max_side: Optional[int]) -> tuple[np.ndarray, Label, bool]:
    """Shrink so the longer side is at most max_side. Area averaging turns a hard mask edge
    into a soft one, which is what the layout's soft-edge values are for."""
    h, w = image.shape[:2]
    if not max_side or max(h, w) <= max_side:
        return image, label, False
    scale = max_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    mask = cv2.resize(label.mask, size, interpolation=cv2.INTER_AREA)
    ignore = None
    if label.ignore is not None:
        ignore = cv2.resize(label.ignore.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    return image, Label(mask, ignore), True


def jpeg_as_is(path: Path) -> Optional[bytes]:
    """The source JPEG's own bytes when they can be kept: re-encoding would only lose quality.
    Not when EXIF says to rotate, since the layout's images are stored upright."""
    if path.suffix.lower() not in (".jpg", ".jpeg"):
        return None
    with require("PIL.Image", "pillow").open(path) as img:
        if img.format != "JPEG" or img.getexif().get(0x0112, 1) != 1:
            return None
    return path.read_bytes()


def remove_outputs(root: Path, item_id: str) -> None:
    for path_of in layout.OUTPUT_PATHS.values():
        path_of(root, item_id).unlink(missing_ok=True)


# --- the run ----------------------------------------------------------------------------------------


@dataclass
class BuildReport:
    outcomes: list[Outcome]
    seconds: float
    manifest_changed: bool

    def counts(self) -> dict[str, Counter]:
        per_source: dict[str, Counter] = {}
        for o in self.outcomes:
            per_source.setdefault(o.source, Counter())[o.status] += 1
        return per_source

    @property
    def flagged(self) -> list[Outcome]:
        return sorted((o for o in self.outcomes if o.status == "flagged"), key=lambda o: o.item_id)

    @property
    def records(self) -> list[dict]:
        return [o.record for o in self.outcomes if o.record is not None]

    def unusual_fractions(self) -> list[dict]:
        return unusual_person_fractions(self.records)

    def as_json(self) -> dict:
        """Deterministic (no timings), so an unchanged re-run writes an identical report."""
        return {
            "counts": {s: {"listed": sum(c.values()), "in_dataset": c["built"] + c["kept"], "flagged": c["flagged"]}
                       for s, c in sorted(self.counts().items())},
            "flagged": [{"id": o.item_id, "flag": o.flag, "detail": o.detail} for o in self.flagged],
            "unusual_person_fraction": self.unusual_fractions(),
        }


def unusual_person_fractions(records: list[dict]) -> list[dict]:
    """Items whose person fraction is far from their source's typical one (robust z-score of the
    log-odds): kept in the dataset, but worth a look, as a label may cover the wrong thing."""
    found = []
    for source in sorted({r["source"] for r in records}):
        mine = [r for r in records if r["source"] == source]
        p = np.clip([r["person_fraction"] for r in mine], 1e-4, 1 - 1e-4)
        logit = np.log(p / (1 - p))
        median = np.median(logit)
        mad = np.median(np.abs(logit - median))
        if mad == 0:
            continue
        z = 0.6745 * (logit - median) / mad
        found += [{"id": r["id"], "person_fraction": r["person_fraction"], "z": round(float(zi), 2)}
                  for r, zi in zip(mine, z) if abs(zi) > OUTLIER_Z]
    return sorted(found, key=lambda f: f["id"])


def build(sources: Iterable[Source], out: Path, max_side: Optional[int] = None, jobs: int = 1,
          limit: Optional[int] = None, progress: bool = True) -> BuildReport:
    start = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sources = list(sources)
    known = {r["id"]: r for r in load_previous_records(out)}
    tasks = [Task(item, str(out), s.licence, s.resize_small_masks, max_side, known.get(item.out_id))
             for s in sources for item in s.items[:limit]]
    outcomes = []
    with open(out / JOURNAL, "a") as journal:
        for outcome in run_tasks(build_item, tasks, jobs, progress):
            outcomes.append(outcome)
            if outcome.status == "built":  # an interrupted run resumes from here
                journal.write(json.dumps(outcome.record) + "\n")
                journal.flush()
    names = {s.name for s in sources}
    others = [r for r in known.values() if r["source"] not in names]
    report = BuildReport(outcomes, 0.0, False)
    report.manifest_changed = layout.write_manifest(out, others + report.records)
    write_report(out, report)
    (out / JOURNAL).unlink(missing_ok=True)
    report.seconds = time.perf_counter() - start
    return report


def load_previous_records(out: Path) -> list[dict]:
    """The manifest, then the journal of an interrupted run on top of it."""
    records = layout.read_manifest(out)
    journal = out / JOURNAL
    if journal.is_file():
        for line in journal.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:  # the line being written when the run was killed
                pass
    return records


def write_report(out: Path, report: BuildReport) -> None:
    text = json.dumps(report.as_json(), indent=1, sort_keys=True) + "\n"
    path = out / "report.json"
    if not path.is_file() or path.read_text() != text:
        layout.write_atomic(path, text.encode())


def run_tasks(work: Callable[[T], R], tasks: list[T], jobs: int, progress: bool) -> Iterator[R]:
    """work(task) for every task, in worker processes when jobs > 1, results as they finish."""
    bar = make_progress(len(tasks), progress)
    try:
        if jobs <= 1 or len(tasks) < 2:
            for task in tasks:
                yield work(task)
                bar.update()
            return
        # spawn, not fork: a forked child inherits locks held by the parent's threads (OpenCV's
        # and OpenMP's pools) and can hang on its first resize; a fresh interpreter cannot
        context = multiprocessing.get_context("spawn")
        with context.Pool(jobs, initializer=single_threaded_worker) as pool:
            for result in pool.imap_unordered(work, tasks, chunksize=4):
                yield result
                bar.update()
    finally:
        bar.close()


def single_threaded_worker() -> None:
    cv2.setNumThreads(1)  # parallelism comes from the processes; threads would only contend


def make_progress(total: int, enabled: bool):
    try:
        from tqdm import tqdm
    except ImportError as e:
        raise ImportError("fastseg data build needs tqdm: pip install 'fastseg[data]'") from e
    return tqdm(total=total, unit="item", disable=not enabled, dynamic_ncols=True)
