"""fastseg.Segmenter: frames in, person masks and background effects out.

One call runs the frame pipeline of DESIGN.md: C++ preprocess straight into the tensor bound
to ONNX Runtime, zero-copy inference, C++ mask post-processing at model resolution, C++
upsampling (or guided refinement) to a uint8 alpha, then a C++ composite. Every buffer is
sized on the first frame of a given size and reused, so steady state allocates nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any, List, Optional, Tuple, Union

import numpy as np

from . import _core, models
from .effects import EFFECTS, Compositor
from .models import ModelSpec
from .session import Binding, metadata, open_session, output_shapes, tensor_infos

Threshold = Union[None, float, Tuple[float, float]]
_UNCHANGED: Any = object()  # configure()'s "leave this option alone"


@dataclass
class StageTimes:
    """Seconds spent in each stage of the last frame (only filled with profile=True)."""

    preprocess: float = 0.0
    inference: float = 0.0
    postprocess: float = 0.0
    composite: float = 0.0


class Segmenter:
    """Person segmentation and background effects for frames of any size.

    model: a registry name (``fastseg.models.list()``), a :class:`ModelSpec`, or None for a file
    (``path=``) that carries its spec in its metadata. color: the frames' channel order,
    ``"bgr"`` (OpenCV) or ``"rgb"``. temporal: smoothing strength in [0, 1) against the
    previous frames' mask (0 = off). refine: ``True``/``"guided"`` upsamples with a guided
    filter so the edge follows the frame; otherwise a model that outputs logits has them
    upsampled (the contour where they cross zero, a hard sigmoid after) unless a threshold or
    feather shapes its mask, and a probability is upsampled bilinearly. threshold: a float is a
    hard threshold, a pair (lo, hi) a smooth-step. feather: box-blur radius at model resolution. short_side: the model
    input's short side for dynamic-size models. profile: record per-stage times in ``timings``.
    """

    def __init__(
        self,
        model: Union[str, ModelSpec, None] = None,
        *,
        path: Union[str, Path, None] = None,
        threads: Optional[int] = None,
        color: str = "bgr",
        temporal: float = 0.0,
        refine: Union[bool, str] = False,
        threshold: Threshold = None,
        feather: int = 0,
        short_side: Optional[int] = None,
        profile: bool = False,
    ) -> None:
        spec, model_path = models.resolve(model, path)
        self._session = open_session(model_path, threads)
        if spec is None:
            spec = models.spec_from_metadata(metadata(self._session), model_path)
        models.check(spec, tensor_infos(self._session.get_inputs()), tensor_infos(self._session.get_outputs()), model_path)
        self.spec = spec
        self._swap_rb = _check_color(color) != spec.color
        self._temporal = _check_temporal(temporal)
        self._refine = _check_refine(refine)
        self._smoothstep = _check_threshold(threshold)
        self._feather = _check_feather(feather)
        self._short_side = _check_short_side(short_side, spec)
        self._buffers: Optional[_Buffers] = None
        self._closed = False
        self.timings: Optional[StageTimes] = StageTimes() if profile else None

    # --- public API -------------------------------------------------------------------------

    def mask(self, frame: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
        """float32 H x W person probability at the frame's size (after temporal smoothing,
        threshold and feathering). Written into ``out`` when given (no allocation)."""
        alpha = self._alpha(frame)
        if out is None:
            out = np.empty(alpha.shape, np.float32)
        elif not (isinstance(out, np.ndarray) and out.dtype == np.float32):
            raise TypeError(f"out must be a float32 array, got {_describe(out)}")
        elif out.shape != alpha.shape:
            raise ValueError(f"out must have shape {alpha.shape}, got {out.shape}")
        return np.multiply(alpha, np.float32(1.0 / 255.0), out=out)

    def process(self, frame: np.ndarray, effect: str = "blur", out: Optional[np.ndarray] = None, **options: Any) -> np.ndarray:
        """The frame with an effect applied to its background, written into ``out`` when given.

        Effects and their options: ``blur`` (strength=0.5), ``replace`` (background=image),
        ``color`` (color=(0, 255, 0) in the frame's order), ``transparent`` (H x W x 4, the
        frame's order plus alpha), ``mask`` (the uint8 alpha), ``harmonize`` (background=image,
        amount=1.0). A background of another size is resized once and cached while the same
        array is passed.
        """
        if effect not in EFFECTS:
            raise ValueError(f"unknown effect {effect!r}; effects: {', '.join(EFFECTS)}")
        alpha = self._alpha(frame)
        if self.timings is None:
            return self._buffers.compositor.apply(effect, frame, alpha, out, options)
        start = perf_counter()
        result = self._buffers.compositor.apply(effect, frame, alpha, out, options)
        self.timings.composite = perf_counter() - start
        return result

    def configure(
        self,
        *,
        temporal: Any = _UNCHANGED,
        refine: Any = _UNCHANGED,
        threshold: Any = _UNCHANGED,
        feather: Any = _UNCHANGED,
    ) -> None:
        """Change mask options between frames without reloading the model (the webcam's keys do);
        each is checked as in the constructor, and those not given stay as they are."""
        if temporal is not _UNCHANGED:
            self._temporal = _check_temporal(temporal)
        if refine is not _UNCHANGED:
            self._refine = _check_refine(refine)
        if threshold is not _UNCHANGED:
            self._smoothstep = _check_threshold(threshold)
        if feather is not _UNCHANGED:
            self._feather = _check_feather(feather)

    def reset(self) -> None:
        """Forget the previous frames (temporal state, previous mask, recurrent state)."""
        if self._buffers is not None:
            self._buffers.reset()

    def close(self) -> None:
        """Release the model and every buffer; the Segmenter cannot be used afterwards."""
        self._buffers = None
        self._session = None
        self._closed = True

    def __enter__(self) -> "Segmenter":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Segmenter({self.spec.name!r}{', closed' if self._closed else ''})"

    # --- the pipeline -----------------------------------------------------------------------

    def _alpha(self, frame: np.ndarray) -> np.ndarray:
        """The frame's uint8 H x W alpha (255 = person)."""
        buffers = self._buffers_for(frame)
        if self.timings is None:
            self._preprocess(frame, buffers)
            buffers.infer()
            return self._postprocess(frame, buffers)
        t0 = perf_counter()
        self._preprocess(frame, buffers)
        t1 = perf_counter()
        buffers.infer()
        t2 = perf_counter()
        alpha = self._postprocess(frame, buffers)
        t3 = perf_counter()
        self.timings.preprocess, self.timings.inference, self.timings.postprocess = t1 - t0, t2 - t1, t3 - t2
        return alpha

    def _buffers_for(self, frame: np.ndarray) -> "_Buffers":
        if self._closed:
            raise RuntimeError("this Segmenter is closed")
        if self._buffers is None or not isinstance(frame, np.ndarray) or frame.shape != self._buffers.frame_shape:
            _check_frame(frame)
            self._buffers = None  # release the old size's memory before allocating the new
            size = self.spec.input_size(frame.shape[0], frame.shape[1], self._short_side)
            self._buffers = _Buffers(self._session, self.spec, frame.shape, size)
        return self._buffers

    def _preprocess(self, frame: np.ndarray, buffers: "_Buffers") -> None:
        spec = self.spec
        prev_mask = buffers.state if spec.prev_mask else None
        _core.preprocess(
            frame, buffers.input, mean=spec.mean, std=spec.std, swap_rb=self._swap_rb, layout=spec.layout, prev_mask=prev_mask
        )

    def _postprocess(self, frame: np.ndarray, buffers: "_Buffers") -> np.ndarray:
        smoothed = self._temporal > 0.0 or self.spec.prev_mask
        # A threshold or a feather shapes the probability itself, which the hard sigmoid of
        # `upsample_logits` would undo, and refinement filters a probability: those masks are
        # upsampled as probabilities. Otherwise a logits model's mask is upsampled as logits, so
        # the contour lies where they cross zero instead of half way between two sharp pixels.
        as_logits = self.spec.output_kind == "logits" and self._smoothstep is None and not self._feather and not self._refine
        if as_logits and not smoothed:  # the model's own logits: no probability plane needed
            return _core.upsample_logits(buffers.logits, buffers.alpha)
        mask = buffers.activate()
        if smoothed:
            # Strength 0 on the first frame starts the average at the current mask.
            _core.temporal_ema(mask, buffers.state, self._temporal if buffers.started else 0.0)
            buffers.started = True
            mask = buffers.state
        if as_logits:  # the temporal average, back to logits
            return _core.upsample_logits(buffers.logits_of(mask), buffers.alpha)
        if self._smoothstep is not None:
            mask = _core.smoothstep(mask, self._smoothstep[0], self._smoothstep[1], out=buffers.work)
        if self._feather:
            mask = _core.feather(mask, self._feather, out=buffers.work)
        if self._refine:
            return _core.refine_mask(mask, frame, out=buffers.alpha)
        return _core.upsample_mask(mask, buffers.alpha)


class _Buffers:
    """Everything sized for one frame shape: the bound tensors, the mask planes, the alpha."""

    def __init__(self, session, spec: ModelSpec, frame_shape: Tuple[int, ...], size: Tuple[int, int]) -> None:
        self.frame_shape = frame_shape
        self._spec = spec
        self.input = np.zeros(spec.input_shape(*size), np.float32)
        extras = _extra_inputs(session, spec, size)
        states = {i: np.zeros(_declared_shape(session, i), np.float32) for _, i in spec.recurrent}
        shapes = output_shapes(session, {spec.input: self.input, **extras, **states})
        outputs = {name: np.zeros(shape, np.float32) for name, shape in shapes.items()}
        self.bindings = _bind(session, spec, self.input, extras, outputs)
        self._fg, self._bg = _person_planes(spec, outputs[spec.output])
        plane = self._fg.shape
        if spec.prev_mask and plane != tuple(size):
            raise ValueError(f"model {spec.name!r}: a previous-mask input needs the output at the input size")
        self.prob = np.zeros(plane, np.float32)
        self.state = np.zeros(plane, np.float32)
        self.work = np.zeros(plane, np.float32)
        self._logit_work = (np.zeros(plane, np.float32), np.zeros(plane, np.float32))
        self.alpha = np.zeros(frame_shape[:2], np.uint8)
        self.compositor = Compositor(tuple(frame_shape))
        self.started = False
        self._looked = False
        self._parity = 0

    def infer(self) -> None:
        """One run, or on the first frame after a reset the spec's `first_looks` runs."""
        for _ in range(1 if self._looked else self._spec.first_looks):
            self.bindings[self._parity].run()
            if len(self.bindings) == 2:  # recurrent: this run's outputs are the next run's inputs
                self._parity ^= 1
        self._looked = True

    def activate(self) -> np.ndarray:
        """The person probability plane at model resolution."""
        kind = self._spec.output_kind
        if kind == "logits":
            return _core.sigmoid(self._fg, out=self.prob)
        if kind == "logits2":
            return _core.softmax2(self._fg, self._bg, out=self.prob)
        return self._fg  # prob / softmax2: already a probability, read in place

    @property
    def logits(self) -> np.ndarray:
        """The person logits of a "logits" model, which `activate` turns into probabilities."""
        return self._fg

    def logits_of(self, mask: np.ndarray) -> np.ndarray:
        """log(p / (1 - p)) of a probability plane, p clamped to [1e-6, 1 - 1e-6] (logits of
        +-13.8), into buffers of its own: nothing is allocated."""
        p, out = self._logit_work
        np.clip(mask, 1e-6, 1.0 - 1e-6, out=p)
        np.log(p, out=out)
        np.log1p(np.negative(p, out=p), out=p)
        return np.subtract(out, p, out=out)

    def reset(self) -> None:
        self.state.fill(0.0)
        self.started = False
        for binding in self.bindings:
            for name in (i for _, i in self._spec.recurrent):
                binding.arrays[name].fill(0.0)
        self._looked = False
        self._parity = 0


def _bind(session, spec: ModelSpec, tensor: np.ndarray, extras, outputs) -> List[Binding]:
    """One binding, or for recurrent models two that swap state buffers: binding 0 reads states
    A and writes B, binding 1 reads B and writes A, so feeding states back copies nothing."""
    parities = 2 if spec.recurrent else 1
    state_a = {o: outputs[o] for o, _ in spec.recurrent}
    state_b = {o: np.zeros_like(a) for o, a in state_a.items()}
    bindings = []
    for parity in range(parities):
        binding = Binding(session)
        binding.input(spec.input, tensor)
        for name, array in extras.items():
            binding.input(name, array)
        for name, array in outputs.items():
            if name not in state_a:
                binding.output(name, array)
        read, write = (state_a, state_b) if parity == 0 else (state_b, state_a)
        for state_out, state_in in spec.recurrent:
            binding.input(state_in, read[state_out])
            binding.output(state_out, write[state_out])
        bindings.append(binding)
    return bindings


def _extra_inputs(session, spec: ModelSpec, size: Tuple[int, int]) -> dict:
    extras = {}
    for name, value in spec.extra_inputs.items():
        if value == "downsample_ratio":
            value = models.downsample_ratio(*size)
        extras[name] = np.full(_declared_shape(session, name), value, np.float32)
    return extras


def _declared_shape(session, name: str) -> Tuple[int, ...]:
    """The input's declared shape with every free dimension set to 1 (RVM's initial states are
    zeros of shape [1, 1, 1, 1])."""
    node = next(n for n in session.get_inputs() if n.name == name)
    return tuple(d if isinstance(d, int) else 1 for d in node.shape)


def _person_planes(spec: ModelSpec, output: np.ndarray) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Contiguous (h, w) views of the person plane and, for two-class outputs, the other one."""
    if spec.out_layout == "nhwc":  # one channel (checked by the spec): a reshape is a view
        return output.reshape(output.shape[1], output.shape[2]), None
    person = output[0, spec.person_channel]
    other = output[0, 1 - spec.person_channel] if spec.out_channels == 2 else None
    return person, other


# --- argument checks --------------------------------------------------------------------------


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array of shape {value.shape}"
    return type(value).__name__


def _check_frame(frame: Any) -> None:
    # Only run when the frame size changes; in steady state the C++ kernels check every call.
    if not isinstance(frame, np.ndarray):
        raise TypeError(f"frame must be a uint8 numpy array (H, W, 3), got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise TypeError(f"frame must be a uint8 array (H, W, 3), got {frame.dtype}")
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame must have shape (H, W, 3), got {frame.shape}")
    if frame.size == 0:
        raise ValueError(f"frame is empty: shape {frame.shape}")


def _check_color(color: Any) -> str:
    if color not in ("bgr", "rgb"):
        raise ValueError(f"color must be 'bgr' or 'rgb', got {color!r}")
    return color


def _check_temporal(temporal: Any) -> float:
    if not isinstance(temporal, (int, float)) or not 0.0 <= temporal < 1.0:
        raise ValueError(f"temporal must be a strength in [0, 1), got {temporal!r}")
    return float(temporal)


def _check_refine(refine: Any) -> bool:
    if refine not in (False, True, "guided"):
        raise ValueError(f"refine must be False, True or 'guided', got {refine!r}")
    return bool(refine)


def _check_threshold(threshold: Threshold) -> Optional[Tuple[float, float]]:
    """(lo, hi) for _core.smoothstep; hi == lo is a hard threshold."""
    if threshold is None:
        return None
    if isinstance(threshold, (int, float)) and 0.0 < threshold < 1.0:
        return (float(threshold), float(threshold))
    if isinstance(threshold, tuple) and len(threshold) == 2 and 0.0 <= threshold[0] < threshold[1] <= 1.0:
        return (float(threshold[0]), float(threshold[1]))
    raise ValueError(f"threshold must be None, a float in (0, 1) or a pair lo < hi in [0, 1], got {threshold!r}")


def _check_feather(feather: Any) -> int:
    if not isinstance(feather, int) or feather < 0:
        raise ValueError(f"feather must be a radius >= 0 (int), got {feather!r}")
    return feather


def _check_short_side(short_side: Any, spec: ModelSpec) -> Optional[int]:
    if short_side is None:
        return None
    if spec.size is not None:
        raise ValueError(f"short_side applies to dynamic-size models; {spec.name!r} has a fixed size {spec.size}")
    if not isinstance(short_side, int) or short_side < spec.multiple:
        raise ValueError(f"short_side must be an int >= {spec.multiple}, got {short_side!r}")
    return short_side
