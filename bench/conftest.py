"""Shared bench plumbing: single-threaded OpenCV, and a summary of fastseg-vs-reference lines
printed at the end of the run (ratios are only meaningful within one run on shared machines)."""

from __future__ import annotations

from typing import Callable, List

import cv2
import pytest

SUMMARY = pytest.StashKey[List[str]]()


def pytest_configure(config: pytest.Config) -> None:
    cv2.setNumThreads(1)
    config.stash[SUMMARY] = []


@pytest.fixture
def summary(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Add a line to the end-of-run summary."""
    return request.config.stash[SUMMARY].append


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    lines = config.stash.get(SUMMARY, [])
    if lines:
        terminalreporter.section("fastseg vs reference")
        for line in lines:
            terminalreporter.write_line(line)
