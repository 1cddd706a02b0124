"""Tiny ONNX segmentation models built with the onnx helper API, so tests need no shared data.

The models compute a person logit from the frame's brightness, gain * (mean(rgb)/255 - 0.5):
a bright block on a dark background is "a person".
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from fastseg.models import ModelSpec

GAIN = 8.0
SIZE = (24, 32)  # model (h, w)


# --- tiny models ----------------------------------------------------------------------------


def build_model(
    path: Path,
    *,
    layout: str = "nchw",
    size: Optional[Tuple[int, int]] = SIZE,
    kind: str = "prob",
    prev_mask: bool = False,
    recurrent: bool = False,
    spec: Optional[ModelSpec] = None,
) -> Path:
    """A one-convolution segmentation model; with `spec`, the spec is stored as fastseg.spec."""
    channels = 4 if prev_mask else 3
    h, w = size if size is not None else ("h", "w")
    in_shape = [1, channels, h, w] if layout == "nchw" else [1, h, w, channels]
    out_channels = 2 if kind in ("logits2", "softmax2") else 1
    out_shape = [1, out_channels, h, w] if layout == "nchw" else [1, h, w, out_channels]
    nodes, inits, inputs = [], [], [helper.make_tensor_value_info("image", TensorProto.FLOAT, in_shape)]
    outputs = [helper.make_tensor_value_info("mask", TensorProto.FLOAT, out_shape)]

    x = "image"
    if layout == "nhwc":
        nodes.append(helper.make_node("Transpose", ["image"], ["x_nchw"], perm=[0, 3, 1, 2]))
        x = "x_nchw"
    weight = np.zeros((out_channels, channels, 1, 1), np.float32)
    weight[-1, :3] = GAIN / 3  # the last output channel is the person
    if prev_mask:
        weight[-1, 3] = 2.0
    bias = np.zeros(out_channels, np.float32)
    bias[-1] = -GAIN / 2
    if out_channels == 2:
        weight[0], bias[0] = -weight[1], -bias[1]
    inits += [numpy_helper.from_array(weight, "W"), numpy_helper.from_array(bias, "B")]
    nodes.append(helper.make_node("Conv", [x, "W", "B"], ["logit"]))
    logit = "logit"
    if recurrent:
        logit = _add_recurrence(nodes, inits, inputs, outputs)
    final = {"prob": "Sigmoid", "softmax2": "Softmax", "logits": "Identity", "logits2": "Identity"}[kind]
    attrs = {"axis": 1} if final == "Softmax" else {}
    nodes.append(helper.make_node(final, [logit], ["y_nchw" if layout == "nhwc" else "mask"], **attrs))
    if layout == "nhwc":
        nodes.append(helper.make_node("Transpose", ["y_nchw"], ["mask"], perm=[0, 2, 3, 1]))

    graph = helper.make_graph(nodes, "tiny", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    if spec is not None:
        helper.set_model_props(model, {"fastseg.spec": spec.to_json()})
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _add_recurrence(nodes, inits, inputs, outputs) -> str:
    """RVM-like: a state input (zeros [1,1,1,1] at first) that the model returns plus one,
    added to the logit, and a scalar `ratio` input that must be fed downsample_ratio (1.0)."""
    inputs += [
        helper.make_tensor_value_info("state_in", TensorProto.FLOAT, ["b", "c", "sh", "sw"]),
        helper.make_tensor_value_info("ratio", TensorProto.FLOAT, [1]),
    ]
    outputs.append(helper.make_tensor_value_info("state_out", TensorProto.FLOAT, ["b", 1, "oh", "ow"]))
    inits += [numpy_helper.from_array(np.array([1.0], np.float32), "one"),
              numpy_helper.from_array(np.array([10.0], np.float32), "ten")]
    nodes += [
        helper.make_node("Mul", ["logit", "ratio"], ["scaled"]),  # a ratio of 0 would hide the person
        helper.make_node("Add", ["scaled", "state_in"], ["logit_r"]),
        helper.make_node("Mul", ["logit", "one"], ["shape_like"]),
        helper.make_node("Sub", ["shape_like", "shape_like"], ["zeros"]),
        helper.make_node("Add", ["zeros", "state_in"], ["state_full"]),
        helper.make_node("Add", ["state_full", "one"], ["state_out"]),
    ]
    return "logit_r"


def tiny_spec(**overrides) -> ModelSpec:
    fields = dict(name="tiny", input="image", output="mask", size=SIZE, multiple=8, short_side=24)
    fields.update(overrides)
    return ModelSpec(**fields)


def recurrent_spec(**overrides) -> ModelSpec:
    return tiny_spec(recurrent=(("state_out", "state_in"),), extra_inputs={"ratio": "downsample_ratio"}, **overrides)
