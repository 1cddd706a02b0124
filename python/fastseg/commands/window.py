"""The webcam demo's window, drawn with Tk from Python's standard library.

OpenCV's own window (cv2.imshow) is not available: fastseg depends on
opencv-python-headless, which is built without highgui, and installing opencv-python next
to it leaves two packages owning the same cv2 module. Tk shows a frame given as PPM bytes,
so no imaging library is needed either.
"""

from __future__ import annotations

from collections import deque
from typing import Deque, List

import cv2
import numpy as np

from ..cli import CliError

ESCAPE = "\x1b"


class Window:
    """A window showing BGR frames; key presses are collected for the caller's loop."""

    def __init__(self, title: str) -> None:
        try:
            import tkinter
        except ImportError as err:
            raise CliError(
                "the webcam window needs tkinter (Debian/Ubuntu: apt install python3-tk); or run with --no-window"
            ) from err
        try:
            self._root = tkinter.Tk()
        except tkinter.TclError as err:
            raise CliError(f"cannot open a window ({err}): run with --no-window where there is no display") from err
        self._tk = tkinter
        self._root.title(title)
        self._label = tkinter.Label(self._root, borderwidth=0, highlightthickness=0)
        self._label.pack()
        self._photo = None
        self._keys: Deque[str] = deque()
        self.closed = False
        self._root.bind("<Key>", self._on_key)
        self._root.protocol("WM_DELETE_WINDOW", self.close)

    def show(self, frame: np.ndarray) -> None:
        """Draw the frame and handle pending window events (keys, close)."""
        if self.closed:
            return
        height, width = frame.shape[:2]
        ppm = b"P6 %d %d 255\n" % (width, height) + cv2.cvtColor(frame, cv2.COLOR_BGR2RGB).tobytes()
        if self._photo is not None and (self._photo.width(), self._photo.height()) == (width, height):
            # Loading into the shown image is three times faster than making a new one.
            self._photo.configure(data=ppm, format="PPM")
        else:
            # Tk holds the image by name only: keep the Python object alive while it is shown.
            self._photo = self._tk.PhotoImage(data=ppm, format="PPM")
            self._label.configure(image=self._photo)
        self._root.update()

    def keys(self) -> List[str]:
        """The keys pressed since the last call: characters, ESCAPE, or Tk key names."""
        pressed = list(self._keys)
        self._keys.clear()
        return pressed

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._root.destroy()

    def _on_key(self, event) -> None:
        self._keys.append(event.char or event.keysym)
