"""fastseg: real-time person segmentation and background effects on an ordinary CPU."""

from importlib.metadata import PackageNotFoundError, version

from . import _core

try:
    __version__ = version("fastseg")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"

__all__ = ["_core", "__version__"]
