"""Frames through the segmenter and the compositor, one at a time or pipelined.

The stages are decode, segment (preprocess, inference, mask post-processing), and composite +
encode or display. Pipelined, a read-ahead thread decodes the next frames and a worker thread
segments frame n+1 while the caller composites and encodes frame n. Every stage spends its
time in OpenCV, ONNX Runtime and fastseg kernels, which release the GIL, so the threads share
the two cores. On a 960x540 clip decode, segment and composite + encode cost about 1.7, 2.0
and 3.0 ms alone; with decode and segment in one worker that 3.7 ms stage set the pace.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
from typing import Any, Dict, Iterator, Optional, Tuple, TypeVar

import cv2
import numpy as np

from ..effects import Compositor

T = TypeVar("T")
# Three busy threads share two cores. The decoder runs up to DECODE_AHEAD frames ahead at a
# lower priority, so the scheduler gives the cores to segmenting and encoding first and the
# decoder fills the gaps: on doctor.mp4 (960x540) 1.50x -> 1.61x the one-frame-at-a-time loop.
DECODE_AHEAD, DECODE_NICE = 4, 5
_END = object()


def segmented(frames: Iterator[np.ndarray], segmenter, *, pipelined: bool) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    """(frame, uint8 alpha) pairs. Close the iterator (contextlib.closing) before releasing the
    source of `frames`: in the pipeline a worker thread reads it."""
    return _pipelined(frames, segmenter) if pipelined else _masked(frames, segmenter)


def _masked(frames: Iterator[np.ndarray], segmenter) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    # A fresh alpha each frame: in the pipeline, the segmenter's own buffer is overwritten by
    # the next frame while the caller still composites this one.
    return ((frame, segmenter.process(frame, "mask")) for frame in frames)


def _pipelined(frames: Iterator[np.ndarray], segmenter) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    # Closed in this order: the segment worker stops first (it reads the decoded frames),
    # then the decode worker, so no thread is left reading the source.
    with contextlib.closing(prefetched(frames, depth=DECODE_AHEAD, nice=DECODE_NICE, name="fastseg-decode")) as decoded:
        with contextlib.closing(prefetched(_masked(decoded, segmenter))) as pairs:
            yield from pairs


def prefetched(items: Iterator[T], depth: int = 2, nice: int = 0, name: str = "fastseg-segment") -> Iterator[T]:
    """The items, made by a worker thread at most `depth` ahead of the caller. An exception in
    the worker is raised here; closing this iterator stops and joins the worker. `nice` > 0
    lowers the worker thread's scheduling priority (Linux)."""
    slots: "queue.Queue[Tuple[bool, Any]]" = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        lower_priority(nice)
        try:
            for item in items:
                if not _put(slots, (True, item), stop):
                    return
        except BaseException as err:  # handed to the caller, which raises it
            _put(slots, (False, err), stop)
            return
        _put(slots, (False, _END), stop)

    worker = threading.Thread(target=work, name=name, daemon=True)
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


def lower_priority(nice: int) -> None:
    """Raise the calling thread's nice value by `nice`. Only Linux schedules threads by their
    own nice value (elsewhere the id would name a process); a refusal changes nothing else."""
    if nice <= 0 or not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + nice)
    except OSError:
        pass
