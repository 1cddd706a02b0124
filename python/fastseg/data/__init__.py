"""Training-data tools: read real label formats, build one dataset layout, composite, augment."""

import importlib
from types import ModuleType


def require(module: str, package: str) -> ModuleType:
    """Import one of the `data` extra's libraries when a tool first needs it, so the core
    install (and every `fastseg` command that never reads a label) works without them."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(f"this fastseg data tool needs {package}: pip install 'fastseg[data]'") from e
