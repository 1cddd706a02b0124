"""fastseg: real-time person segmentation and background effects on an ordinary CPU."""

from importlib.metadata import PackageNotFoundError, version

from . import _core, models
from .bgsub import BackgroundSubtractor
from .segmenter import Segmenter

try:
    __version__ = version("fastseg")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"

__all__ = ["BackgroundSubtractor", "Segmenter", "_core", "models", "__version__"]
