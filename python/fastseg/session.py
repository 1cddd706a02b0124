"""ONNX Runtime plumbing: opening a session with clear errors, and zero-copy IOBinding.

The ONNX Runtime wheel ships no C/C++ headers, so the session is driven from Python; every
tensor it reads or writes is a numpy array allocated once and bound by address, so
``run_with_iobinding`` copies nothing in or out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
import onnxruntime as ort

from .models import TensorInfo


def open_session(path: Path, threads: Optional[int]) -> ort.InferenceSession:
    """An InferenceSession on the CPU; a missing file or a file ONNX Runtime cannot read is
    reported naming the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a positive int or None (all cores), got {threads!r}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or 0
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # our own checks report problems; ORT's warnings are noise here
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as err:  # ORT raises its own exception types for unreadable models
        raise ValueError(f"{path} is not a loadable ONNX model: {err}") from err


def tensor_infos(nodes) -> List[TensorInfo]:
    return [TensorInfo(n.name, tuple(n.shape), n.type) for n in nodes]


def metadata(session: ort.InferenceSession) -> Dict[str, str]:
    return dict(session.get_modelmeta().custom_metadata_map)


class Binding:
    """One IOBinding whose tensors are numpy arrays owned here, bound by address.

    The arrays must outlive the binding (ORT keeps only their pointers), so they are held in
    ``arrays`` for as long as the binding exists.
    """

    def __init__(self, session: ort.InferenceSession) -> None:
        self._session = session
        self._io = session.io_binding()
        self.arrays: Dict[str, np.ndarray] = {}

    def input(self, name: str, array: np.ndarray) -> None:
        self._io.bind_input(name, "cpu", 0, array.dtype.type, array.shape, array.ctypes.data)
        self.arrays[name] = array

    def output(self, name: str, array: np.ndarray) -> None:
        self._io.bind_output(name, "cpu", 0, array.dtype.type, array.shape, array.ctypes.data)
        self.arrays[name] = array

    def run(self) -> None:
        self._session.run_with_iobinding(self._io)


def output_shapes(session: ort.InferenceSession, inputs: Dict[str, np.ndarray]) -> Dict[str, Tuple[int, ...]]:
    """The shape of every output for these inputs, learned by running once with outputs left
    to ONNX Runtime (needed for models whose output shapes are symbolic, e.g. RVM's states)."""
    io = session.io_binding()
    for name, array in inputs.items():
        io.bind_cpu_input(name, array)
    for node in session.get_outputs():
        io.bind_output(node.name, "cpu")
    session.run_with_iobinding(io)
    names = [node.name for node in session.get_outputs()]
    return {name: tuple(value.shape()) for name, value in zip(names, io.get_outputs())}
