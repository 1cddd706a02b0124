"""Frames through the segmenter and the compositor, optionally as a two-stage pipeline.

The two stages are (1) decode + segment (preprocess, inference, mask post-processing) and
(2) composite + encode or display. In the pipeline a worker thread runs stage 1 for frame n+1
while the caller runs stage 2 for frame n; both spend their time in OpenCV, ONNX Runtime and
fastseg kernels, which release the GIL, so on two cores the stages overlap.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Dict, Iterator, Optional, Tuple, TypeVar

import cv2
import numpy as np

from ..effects import Compositor

T = TypeVar("T")
_END = object()


def segmented(frames: Iterator[np.ndarray], segmenter, *, pipelined: bool) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    """(frame, uint8 alpha) pairs. Close the iterator (contextlib.closing) before releasing the
    source of `frames`: in the pipeline a worker thread reads it."""
    # A fresh alpha each frame: in the pipeline, the segmenter's own buffer is overwritten by
    # the next frame while the caller still composites this one.
    pairs = ((frame, segmenter.process(frame, "mask")) for frame in frames)
    return prefetched(pairs) if pipelined else pairs


def prefetched(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """The items, made by a worker thread at most `depth` ahead of the caller. An exception in
    the worker is raised here; closing this iterator stops and joins the worker."""
    slots: "queue.Queue[Tuple[bool, Any]]" = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        try:
            for item in items:
                if not _put(slots, (True, item), stop):
                    return
        except BaseException as err:  # handed to the caller, which raises it
            _put(slots, (False, err), stop)
            return
        _put(slots, (False, _END), stop)

    worker = threading.Thread(target=work, name="fastseg-segment", daemon=True)
    worker.start()
    try:
        while True:
            ok, value = slots.get()
            if ok:
                yield value
            elif value is _END:
                return
            else:
                raise value
    finally:
        stop.set()
        worker.join()


def _put(slots: queue.Queue, entry: Tuple[bool, Any], stop: threading.Event) -> bool:
    """Put unless the caller has gone away (then the queue may never drain)."""
    while not stop.is_set():
        try:
            slots.put(entry, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


class FrameCompositor:
    """A frame and its alpha -> the BGR frame to encode or show, in a buffer reused while the
    frame size stays. The mask effect comes out as a grey BGR frame: video files and windows
    want three channels."""

    def __init__(self) -> None:
        self._compositor: Optional[Compositor] = None
        self._out: Optional[np.ndarray] = None

    def __call__(self, frame: np.ndarray, alpha: np.ndarray, effect: str, options: Dict[str, Any]) -> np.ndarray:
        if self._out is None or self._out.shape != frame.shape:
            self._compositor, self._out = Compositor(frame.shape), np.empty(frame.shape, np.uint8)
        if effect == "mask":
            return cv2.cvtColor(alpha, cv2.COLOR_GRAY2BGR, dst=self._out)
        return self._compositor.apply(effect, frame, alpha, self._out, options)
