"""Mask quality measures shared by training validation and `fastseg eval` (numpy/OpenCV only,
no torch): intersection over union and the boundary F-score."""

from __future__ import annotations

from typing import Optional

import cv2
import numpy as np

BOUNDARY_TOLERANCE = 0.0075  # of the image diagonal, as in the DAVIS benchmark


def iou(pred: np.ndarray, truth: np.ndarray, valid: Optional[np.ndarray] = None) -> float:
    """Person IoU of two bool masks over the valid pixels; 1.0 when both are empty."""
    if valid is not None:
        pred, truth = pred & valid, truth & valid
    union = np.count_nonzero(pred | truth)
    return 1.0 if union == 0 else np.count_nonzero(pred & truth) / union


def outline(mask: np.ndarray) -> np.ndarray:
    """The mask's one-pixel inner outline."""
    mask_u8 = mask.astype(np.uint8)
    return (mask_u8 - cv2.erode(mask_u8, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REPLICATE)) > 0


def boundary_f(pred: np.ndarray, truth: np.ndarray, valid: Optional[np.ndarray] = None) -> float:
    """F-score of the outlines: an outline pixel counts as found when the other outline passes
    within a tolerance of 0.75% of the image diagonal (at least one pixel)."""
    radius = max(1, round(BOUNDARY_TOLERANCE * float(np.hypot(*pred.shape))))
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    pred_edge, truth_edge = outline(pred), outline(truth)
    if valid is not None:
        pred_edge, truth_edge = pred_edge & valid, truth_edge & valid
    n_pred, n_truth = np.count_nonzero(pred_edge), np.count_nonzero(truth_edge)
    if n_pred == 0 and n_truth == 0:
        return 1.0
    if n_pred == 0 or n_truth == 0:
        return 0.0
    precision = np.count_nonzero(pred_edge & (cv2.dilate(truth_edge.astype(np.uint8), disk) > 0)) / n_pred
    recall = np.count_nonzero(truth_edge & (cv2.dilate(pred_edge.astype(np.uint8), disk) > 0)) / n_truth
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def mask_scores(prob: np.ndarray, truth_u8: np.ndarray, ignore: Optional[np.ndarray] = None) -> tuple[float, float]:
    """(IoU, boundary F) of a float probability against a uint8 label of the same size, both at 0.5."""
    pred, truth = prob >= 0.5, truth_u8 >= 128
    valid = None if ignore is None else ~ignore
    return iou(pred, truth, valid), boundary_f(pred, truth, valid)


DECISIVE_BAND = (0.1, 0.9)


def decisive_share(prob: np.ndarray) -> float:
    """Share of a probability mask's pixels outside (0.1, 0.9): how close it is to a hard matte.
    A composite shows the background through wherever the mask is in between."""
    low, high = DECISIVE_BAND
    return float(np.count_nonzero((prob <= low) | (prob >= high)) / prob.size)


def frame_change(previous: np.ndarray, current: np.ndarray) -> float:
    """Mean absolute change of a probability mask between two frames (flicker)."""
    return float(np.mean(np.abs(current.astype(np.float32) - previous.astype(np.float32))))
