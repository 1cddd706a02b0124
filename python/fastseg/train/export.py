"""ONNX export of a trained checkpoint, float and INT8, each carrying its `fastseg.spec`.

The float model is traced with the TorchScript exporter (no onnxscript needed), BatchNorm
folded into the convolutions by constant folding. The INT8 model is ONNX Runtime's static
quantisation (QDQ, per-channel weights) calibrated on training images fed exactly as
`Segmenter` feeds them (`_core.preprocess`), so the calibration ranges are the real ones.
With ``half_weights`` the float model stores its convolution weights as float16, each behind a
Cast to float32: ONNX Runtime folds those casts when it loads the file, so it runs the same
float32 graph as fast as before from a file half the size (the weights rounded to float16).
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Iterator, Optional, Sequence

import cv2
import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from .. import _core
from ..data import layout
from ..data.augment import synthesize_prior
from ..models import SPEC_METADATA_KEY, ModelSpec
from . import checkpoint
from .dataset import MEAN, STD
from .model import FastSegNet, ModelConfig

OPSET = 17
INPUT, OUTPUT = "input", "logits"
PRIOR_IN, PRIOR_OUT = "prior", "prior_next"  # the recurrent stride-2 mask of prior_stride-2 models


class ExportGraph(torch.nn.Module):
    """What the ONNX file computes. A ``prior_stride=2`` model emits stride-2 logits and their
    probability, which `Segmenter` feeds back as the next frame's prior (a recurrent state);
    any other model, full-resolution logits. ``logit_scale`` > 1 sharpens the mask without
    moving its 0.5 boundary."""

    def __init__(self, model: FastSegNet, logit_scale: float = 1.0) -> None:
        super().__init__()
        self.model, self.logit_scale = model, float(logit_scale)

    def forward(self, image: torch.Tensor, prior: Optional[torch.Tensor] = None):
        logits = self.model(image) if prior is None else self.model.forward_stride2(image, prior)
        if self.logit_scale != 1.0:
            logits = logits * self.logit_scale
        return logits if prior is None else (logits, torch.sigmoid(logits))


def load_checkpoint(*paths: Path) -> tuple[FastSegNet, dict]:
    """The model of a checkpoint, or of several's averaged weights (`checkpoint.averaged`),
    and the first one's state."""
    weights, state = checkpoint.averaged(paths)
    model = FastSegNet(ModelConfig.from_dict(state["model_config"]))
    model.load_state_dict(weights)
    return model.eval(), state


def spec_for(name: str, config: ModelConfig, size: tuple[int, int], first_looks: int = 1) -> ModelSpec:
    recurrent = config.prior_after_stem
    return ModelSpec(name=name, input=INPUT, output=OUTPUT, layout="nchw", size=tuple(size), color="rgb",
                     mean=(MEAN,) * 3, std=(STD,) * 3, output_kind="logits", prev_mask=config.prev_mask and not recurrent,
                     output_stride=2 if recurrent else 1, recurrent=((PRIOR_OUT, PRIOR_IN),) if recurrent else (),
                     first_looks=first_looks)


def prior_shape(spec: ModelSpec) -> tuple[int, int, int, int]:
    """The recurrent prior: the model's own output plane."""
    return (1, 1, spec.size[0] // spec.output_stride, spec.size[1] // spec.output_stride)


def export_onnx(model: FastSegNet, spec: ModelSpec, out: Path, logit_scale: float = 1.0) -> Path:
    """Write the float model with its spec in the metadata; returns `out`."""
    model = model.to(memory_format=torch.contiguous_format).eval()
    inputs: tuple = (torch.zeros(spec.input_shape(*spec.size)),)
    names = dict(input_names=[INPUT], output_names=[OUTPUT])
    if spec.recurrent:
        inputs += (torch.zeros(prior_shape(spec)),)
        names = dict(input_names=[INPUT, PRIOR_IN], output_names=[OUTPUT, PRIOR_OUT])
    with warnings.catch_warnings():
        # The TorchScript exporter announces its own deprecation; the graph it writes is fine.
        warnings.simplefilter("ignore")
        torch.onnx.export(ExportGraph(model, logit_scale).eval(), inputs, str(out), dynamo=False, opset_version=OPSET,
                          do_constant_folding=True, **names)
    write_spec(out, spec)
    return out


def store_half_weights(path: Path) -> Path:
    """Rewrite the ONNX file with every convolution's weight and bias stored as float16 behind
    a Cast to float32 (folded back to float32 constants when ONNX Runtime loads it)."""
    model = onnx.load(str(path))
    graph = model.graph
    conv_inputs = {name for node in graph.node if node.op_type in ("Conv", "ConvTranspose") for name in node.input[1:]}
    casts = []
    for init in list(graph.initializer):
        if init.name not in conv_inputs or init.data_type != TensorProto.FLOAT:
            continue
        half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), f"{init.name}_float16")
        graph.initializer.remove(init)
        graph.initializer.append(half)
        casts.append(helper.make_node("Cast", [half.name], [init.name], name=f"{init.name}_cast", to=TensorProto.FLOAT))
    nodes = casts + list(graph.node)  # the casts first: nodes stay in topological order
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def write_spec(path: Path, spec: ModelSpec) -> None:
    model = onnx.load(str(path))
    del model.metadata_props[:]
    model.metadata_props.add(key=SPEC_METADATA_KEY, value=spec.to_json())
    model.producer_name = "fastseg.train"
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def calibration_feeds(spec: ModelSpec, dataset: Path, count: int, seed: int = 0) -> list[dict]:
    """Inputs of `count` train images (a fixed random pick), made by Segmenter's preprocess,
    with a synthesized previous mask where the model takes one."""
    records = [r for r in layout.read_manifest(dataset) if r["split"] == "train"]
    picks = np.random.default_rng(seed).choice(len(records), size=min(count, len(records)), replace=False)
    rng = np.random.default_rng(seed)
    feeds = []
    for i in sorted(picks):
        image, mask, _ = layout.load_item(dataset, records[i])
        tensor = np.empty(spec.input_shape(*spec.size), np.float32)
        prev = calibration_prior(mask, spec.size, rng) if spec.prev_mask else None
        # Images are BGR, the model RGB: swap, as Segmenter(color="bgr") does.
        _core.preprocess(np.ascontiguousarray(image), tensor, mean=spec.mean, std=spec.std, swap_rb=True,
                         layout=spec.layout, prev_mask=prev)
        feeds.append({spec.input: tensor})
        if spec.recurrent:
            feeds[-1][PRIOR_IN] = calibration_prior(mask, prior_shape(spec)[2:], rng)[None, None]
    return feeds


def calibration_prior(mask: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A previous-frame mask as training makes them: calibrated on zeros alone, INT8 would
    clip every real prior to 0."""
    small = cv2.resize(mask, (size[1], size[0]), interpolation=cv2.INTER_AREA)
    return synthesize_prior(small, rng).astype(np.float32) / 255.0


def float_nodes(model: Path, spec: ModelSpec) -> list[str]:
    """Nodes INT8 must leave in float. A previous-mask model's stem: its prior weights grow far
    larger than its colour weights, and int8 steps sized for the prior erase the colour ones
    (the stage-2 landscape model's INT8 agreed with float on 86% of pixels, 99% with this)."""
    if not spec.prev_mask:
        return []
    graph = onnx.load(str(model)).graph
    return [node.name for node in graph.node if node.op_type == "Conv" and spec.input in node.input][:1]


def quantize_int8(float_model: Path, out: Path, spec: ModelSpec, dataset: Path, count: int = 200) -> Path:
    """Static INT8 (QDQ) copy of `float_model`, calibrated on `count` train images of `dataset`."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quant_pre_process, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self, feeds: list[dict]) -> None:
            self.items: Iterator[dict] = iter(feeds)

        def get_next(self) -> Optional[dict]:
            return next(self.items, None)

    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(float_model), str(prepared), skip_symbolic_shape=True)
        quantize_static(str(prepared), str(out), Reader(calibration_feeds(spec, Path(dataset), count)),
                        quant_format=QuantFormat.QDQ, per_channel=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, nodes_to_exclude=float_nodes(prepared, spec))
    write_spec(out, spec.__class__(**{**spec.__dict__, "name": f"{spec.name}_int8"}))
    return out


def export_checkpoint(checkpoints: Sequence[Path], out: Path, name: Optional[str] = None, int8_out: Optional[Path] = None,
                      calibration: Optional[Path] = None, calibration_count: int = 200, logit_scale: float = 1.0,
                      half_weights: bool = False, first_looks: int = 1) -> list[Path]:
    """The float ONNX (and optionally the INT8 one, quantised from the float32 weights) of a
    checkpoint, or of the average of several (`load_checkpoint`); returns the files written.
    `first_looks` goes into the spec (a ValueError, before anything is written, for a model
    without a recurrent prior)."""
    model, state = load_checkpoint(*checkpoints)
    spec = spec_for(name or Path(out).stem, model.config, tuple(state["size"]), first_looks)
    for path in (out, int8_out or out):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    written = [export_onnx(model, spec, Path(out), logit_scale)]
    if int8_out is not None:
        if calibration is None:
            raise ValueError("INT8 export needs calibration images: a dataset built by `fastseg data build`")
        written.append(quantize_int8(Path(out), Path(int8_out), spec, Path(calibration), calibration_count))
    if half_weights:
        store_half_weights(Path(out))
    return written
