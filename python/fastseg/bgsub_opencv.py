"""The background subtractor's algorithm written with OpenCV calls in Python: the reference
fastseg.BackgroundSubtractor is tested (masks) and benchmarked (speed, IoU) against.

With the default arguments it is the Portrait-Segmentation seed's naive algorithm: mean of
the first N frames, gray, GaussianBlur, absdiff, one global threshold, close then open, the
largest component. ``k_sigma`` and ``update`` add fastseg's per-pixel threshold and slow
background update, so it can also run exactly fastseg's configuration.
"""

from __future__ import annotations

import cv2
import numpy as np


class OpenCVBackgroundSubtractor:
    def __init__(self, learn_frames: int = 30, *, blur: int = 5, threshold: int = 10, k_sigma: float = 0.0,
                 close: int = 15, open: int = 5, min_area: int = 500, update: float = 0.0) -> None:
        self.learn_frames = learn_frames
        self.blur = blur
        self.threshold = threshold
        self.k_sigma = k_sigma
        self.close = cv2.getStructuringElement(cv2.MORPH_RECT, (close, close)) if close > 1 else None
        self.open = cv2.getStructuringElement(cv2.MORPH_RECT, (open, open)) if open > 1 else None
        self.min_area = max(1, min_area)
        self.update = update
        self.learned = 0

    def apply(self, frame: np.ndarray) -> np.ndarray:
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        blurred = cv2.GaussianBlur(gray, (self.blur, self.blur), 0) if self.blur > 1 else gray
        if self.learned < self.learn_frames:
            self._learn(blurred)
            return np.zeros(gray.shape, np.uint8)
        diff = cv2.absdiff(blurred, self.background)
        fg = cv2.compare(diff, self.thresholds, cv2.CMP_GT)
        if self.close is not None:
            fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, self.close)
        if self.open is not None:
            fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, self.open)
        mask = self._largest(fg)
        if self.update > 0:
            cv2.accumulateWeighted(blurred, self.mean, self.update, mask=cv2.bitwise_not(mask))
            self.background = np.floor(self.mean + np.float32(0.5)).astype(np.uint8)
        return mask

    def _learn(self, blurred: np.ndarray) -> None:
        if self.learned == 0:
            self.sum = np.zeros(blurred.shape, np.float64)
            self.sumsq = np.zeros(blurred.shape, np.float64)
        cv2.accumulate(blurred, self.sum)
        cv2.accumulateSquare(blurred, self.sumsq)
        self.learned += 1
        if self.learned == self.learn_frames:
            n = self.learn_frames
            self.mean = (self.sum / n).astype(np.float32)
            self.background = np.floor(self.mean + np.float32(0.5)).astype(np.uint8)
            sigma = np.sqrt(np.maximum(0.0, self.sumsq / n - (self.sum / n) ** 2))
            self.thresholds = np.minimum(255, np.floor(np.maximum(self.threshold, self.k_sigma * sigma))).astype(np.uint8)

    def _largest(self, fg: np.ndarray) -> np.ndarray:
        count, labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
        if count < 2:
            return np.zeros(fg.shape, np.uint8)
        best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        if stats[best, cv2.CC_STAT_AREA] < self.min_area:
            return np.zeros(fg.shape, np.uint8)
        return cv2.compare(labels, best, cv2.CMP_EQ)
