"""`fastseg webcam`: headless on a looped file source, the keys, the virtual camera through a
stand-in pyvirtualcam, and the real window under Xvfb with a screenshot of it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import types
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("onnx")
from cli_helpers import (  # noqa: E402
    SHARED_MODEL,
    SHARED_VIDEOS,
    assert_one_line_error,
    person_box,
    person_frames,
    read_clip,
    run_cli,
    write_clip,
)

import fastseg  # noqa: E402
from fastseg.commands.common import Look, MaskOptions  # noqa: E402
from fastseg.commands.webcam import KEYS, Controls, built_in_backgrounds  # noqa: E402

FRAMES = 10


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return write_clip(tmp_path_factory.mktemp("clip") / "walk.avi", person_frames(FRAMES))


# --- headless ---------------------------------------------------------------------------------


def test_headless_file_source_loops_and_prints_the_frame_rate(capsys, tmp_path, tiny, clip):
    recording = tmp_path / "rec.avi"
    code, out, _ = run_cli(capsys, "webcam", "--source", clip, "--model", tiny, "--no-window", "--frames", "25",
                           "-o", recording, "--background", "green", "--temporal", "0")
    assert code == 0
    count, rate = out.strip().splitlines()[-1].split(" frames: ")
    assert int(count) == 25 and float(rate.split()[0]) > 0
    frames, _ = read_clip(recording)
    source, _ = read_clip(clip)
    assert len(frames) == 25  # 2.5 times through the 10-frame clip
    for i in (0, FRAMES, 2 * FRAMES):  # the same source frame each time round
        np.testing.assert_allclose(frames[i], frames[0], atol=12)
    rows, cols = person_box(96, 128, 3, margin=6)
    assert np.abs(frames[3][rows, cols].astype(int) - source[3][rows, cols]).mean() < 12
    assert np.abs(frames[3][:8].astype(int) - (64, 177, 0)).mean() < 12  # green above the person


def test_headless_with_background_subtraction(capsys, clip):
    code, out, err = run_cli(capsys, "webcam", "--source", clip, "--method", "bgsub", "--no-window", "--frames", "5")
    if not hasattr(fastseg, "BackgroundSubtractor"):
        assert_one_line_error(code, err, "BackgroundSubtractor")
        return
    assert code == 0 and out.strip().endswith("(bgsub, no window)") and out.startswith("5 frames")


def test_no_camera_is_one_line(capsys, tiny):
    code, _, err = run_cli(capsys, "webcam", "--source", "97", "--model", tiny, "--no-window", "--frames", "1")
    assert_one_line_error(code, err, "cannot open camera 97")


@pytest.mark.shared
@pytest.mark.skipif(not SHARED_MODEL.is_file() or not SHARED_VIDEOS.is_dir(), reason="../shared models or videos absent")
def test_headless_on_a_real_clip(capsys):
    clip = SHARED_VIDEOS / "asl_gestures" / "again.mkv"  # 77 frames: 100 loops round once
    code, out, _ = run_cli(capsys, "webcam", "--source", clip, "--model", SHARED_MODEL, "--no-window", "--frames", "100")
    assert code == 0 and out.startswith("100 frames: ")


# --- keys -------------------------------------------------------------------------------------


@pytest.fixture
def controls() -> Controls:
    look = Look.from_args(None, None, 0.5, built_in=built_in_backgrounds())
    return Controls(look, MaskOptions(temporal=0.5), temporal_on=0.5)


def test_keys_cycle_effects_and_backgrounds(controls):
    seen = []
    for _ in range(4):
        controls.press("e")
        seen.append(controls.look.effect)
    assert seen == ["replace", "color", "mask", "blur"]
    assert controls.look.background.label == "green"  # the color effect took the first colour
    labels = []
    for _ in range(4):
        controls.press("b")
        labels.append((controls.look.background.label, controls.look.effect))
    assert labels == [("blue", "color"), ("studio", "replace"), ("green", "color"), ("blue", "color")]
    controls.press("b")
    assert controls.look.options()["background"].shape == (360, 640, 3)


def test_keys_change_the_mask_options_and_ask_for_a_rebuild(controls):
    controls.press("+")
    assert controls.mask.threshold == 0.5 and controls.rebuild
    controls.press("+")
    controls.press("=")
    assert controls.mask.threshold == 0.6
    for _ in range(20):
        controls.press("-")
    assert controls.mask.threshold == 0.05  # clamped
    controls.press("t")
    assert controls.mask.temporal == 0.0
    controls.press("T")
    assert controls.mask.temporal == 0.5
    controls.press("r")
    assert controls.mask.refine and "refine on" in controls.message


def test_help_snapshot_and_quit_keys(controls, capsys):
    controls.press("h")
    printed = capsys.readouterr().out
    assert controls.show_help and all(f"  {key}  " in printed for key, _ in KEYS)
    controls.press("s")
    assert controls.snapshot
    controls.press("x")  # not a key: nothing happens
    assert not controls.quit
    controls.press("\x1b")
    assert controls.quit


def test_background_subtraction_has_no_mask_keys(controls):
    controls.adjustable = False
    controls.press("+")
    assert controls.mask.threshold is None and not controls.rebuild and "bgsub" in controls.message


# --- virtual camera ---------------------------------------------------------------------------


class FakeCamera:
    """Records what fastseg sends, as pyvirtualcam.Camera would take it."""

    opened = []

    def __init__(self, width, height, fps, *, fmt):
        self.width, self.height, self.fps, self.fmt, self.frames, self.closed = width, height, fps, fmt, [], False
        self.device = "/dev/video-fake"
        FakeCamera.opened.append(self)

    def send(self, frame):
        assert frame.shape == (self.height, self.width, 3) and frame.dtype == np.uint8
        self.frames.append(frame.copy())

    def close(self):
        self.closed = True


def test_virtual_camera_gets_every_frame_in_bgr(capsys, monkeypatch, tiny, clip):
    fake = types.SimpleNamespace(Camera=FakeCamera, PixelFormat=types.SimpleNamespace(BGR="BGR"))
    monkeypatch.setitem(sys.modules, "pyvirtualcam", fake)
    FakeCamera.opened.clear()
    code, out, _ = run_cli(capsys, "webcam", "--source", clip, "--model", tiny, "--no-window", "--frames", "6",
                           "--virtual-camera")
    assert code == 0 and "virtual camera: /dev/video-fake" in out
    (camera,) = FakeCamera.opened
    assert (camera.width, camera.height, camera.fps, camera.fmt) == (128, 96, 12, "BGR")
    assert len(camera.frames) == 6 and camera.closed
    source, _ = read_clip(clip)
    assert np.abs(camera.frames[0].astype(int) - source[0]).mean() > 3  # the effect, not the raw frame


def test_virtual_camera_without_pyvirtualcam_says_how_to_install(capsys, monkeypatch, tiny, clip):
    monkeypatch.setitem(sys.modules, "pyvirtualcam", None)  # import raises ImportError
    code, _, err = run_cli(capsys, "webcam", "--source", clip, "--model", tiny, "--no-window", "--frames", "1",
                           "--virtual-camera")
    assert_one_line_error(code, err, "pip install 'fastseg[webcam]'")


# --- the window under Xvfb --------------------------------------------------------------------

X_TOOLS = ("Xvfb", "xdotool", "import")
WINDOW_TITLE = "fastseg webcam"


@pytest.fixture
def display():
    """A private X display from Xvfb (Debian packages xvfb, xdotool, imagemagick)."""
    pytest.importorskip("tkinter", reason="the window is drawn with Tk (Debian package python3-tk)")
    missing = [tool for tool in X_TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (apt-get install xvfb xdotool imagemagick)")
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "640x480x24", "-nolisten", "tcp"],
                              pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()  # Xvfb writes its display number once it is ready
    try:
        assert number, "Xvfb did not start"
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def x_command(display: str, *argv: str, timeout: float = 20) -> str:
    env = dict(os.environ, DISPLAY=display)
    return subprocess.run(argv, env=env, check=True, capture_output=True, text=True, timeout=timeout).stdout


def screenshot(display: str, window: str, path: Path) -> np.ndarray:
    x_command(display, "import", "-window", window, str(path))
    image = cv2.imread(str(path))
    assert image is not None, f"no screenshot at {path}"
    return image


def test_window_shows_the_blurred_background_and_takes_keys(display, tmp_path, tiny):
    frame = person_frames(1, 240, 320)[0]  # a still clip: what the window shows is known
    clip = write_clip(tmp_path / "still.avi", [frame] * 5)
    shown = read_clip(clip)[0][0]
    with fastseg.Segmenter(path=tiny) as segmenter:
        expected = segmenter.process(shown, "blur", strength=1.0)
    env = dict(os.environ, DISPLAY=display)
    demo = subprocess.Popen(
        [sys.executable, "-m", "fastseg.cli", "webcam", "--source", str(clip), "--model", str(tiny), "--strength", "1",
         "--snapshots", str(tmp_path)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        window = x_command(display, "xdotool", "search", "--sync", "--name", WINDOW_TITLE).split()[0]
        image = wait_for_frames(display, window, tmp_path / "window.png", expected)
        assert image.shape == expected.shape
        below_overlay = slice(60, None)  # the fps line is drawn at the top
        assert np.abs(image[below_overlay].astype(int) - expected[below_overlay]).mean() < 3
        rows, cols = person_box(240, 320, margin=6)
        assert np.abs(image[rows, cols].astype(int) - shown[rows, cols]).mean() < 3  # the person is sharp
        smooth = np.abs(np.diff(image[200:, :, 1].astype(int), axis=1)).mean()
        sharp = np.abs(np.diff(shown[200:, :, 1].astype(int), axis=1)).mean()
        assert smooth < 0.3 * sharp  # the background under the person is blurred
        top = slice(0, 20)
        assert np.abs(image[top].astype(int) - expected[top]).mean() > 10  # the overlay panel and text
        x_command(display, "xdotool", "windowfocus", "--sync", window)
        x_command(display, "xdotool", "key", "--delay", "100", "h", "s", "q")  # typed, as a person would
        out, err = demo.communicate(timeout=30)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.communicate()
    assert demo.returncode == 0, err
    assert "keys:" in out and "q  quit" in out and "snapshot: " in out and "(model, window)" in out
    (snapshot,) = tmp_path.glob("fastseg-*.png")
    # The snapshot is the clean result, without the overlay.
    saved = cv2.imread(str(snapshot)).astype(int)
    assert np.abs(saved - expected).mean() < 3 and np.abs(saved[top] - expected[top]).mean() < 3


def wait_for_frames(display: str, window: str, path: Path, expected: np.ndarray, seconds: float = 20) -> np.ndarray:
    """The window's screenshot once it shows a frame (before that it is blank)."""
    deadline = time.monotonic() + seconds
    while True:
        image = screenshot(display, window, path)
        if image.shape == expected.shape and image[60:].std() > 10:
            return image
        if time.monotonic() > deadline:
            return image
        time.sleep(0.2)
