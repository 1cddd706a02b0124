"""Model specs: how fastseg feeds a segmentation model and reads its person mask.

Every model fastseg runs is described by a :class:`ModelSpec`. fastseg's own ONNX files
(installed next to this module) carry their spec as JSON in the model metadata under the key
``fastseg.spec``; third-party models get an entry in :data:`REGISTRY` keyed by name, so
``Segmenter("sinet", path="sinet.onnx")`` just works. :func:`check` compares a loaded
session against a spec and refuses a mismatch, saying what was expected and what was found.
"""

from __future__ import annotations

import builtins
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple

SPEC_METADATA_KEY = "fastseg.spec"
LAYOUTS = ("nchw", "nhwc")
COLORS = ("rgb", "bgr")
OUTPUT_KINDS = ("prob", "logits", "logits2", "softmax2")
# Extra scalar inputs whose value fastseg computes per input size (the rest are constants).
COMPUTED_INPUTS = ("downsample_ratio",)
PACKAGE_DIR = Path(__file__).resolve().parent
# What Segmenter() with no model runs: fastseg's own model, installed next to this module.
DEFAULT_MODEL: Optional[str] = "fastseg_landscape"


@dataclass(frozen=True)
class ModelSpec:
    """How to feed one model and read its person mask.

    ``size`` is a fixed (height, width); ``None`` means the model takes any size that is a
    multiple of ``multiple``: the frame's aspect is kept and its short side scaled to
    ``short_side``. ``mean`` and ``std`` are per model channel, in 0..255 pixel units:
    tensor = (pixel - mean) / std. ``output_kind``: ``prob`` (probability), ``logits`` (one
    logit channel, sigmoid), ``logits2`` (two-class logits, softmax of ``person_channel``
    against the other), ``softmax2`` (two-class probabilities). ``prev_mask``: the input has
    a 4th channel that receives the previous frame's mask. ``recurrent``: (output, input)
    pairs fed back every frame, starting from zeros. ``output_stride``: the output plane is
    the input's size divided by this (fastseg upsamples it to the frame). ``extra_inputs``: scalar inputs, each a
    constant or the name of a value computed per input size (see ``COMPUTED_INPUTS``).
    ``first_looks``: how many times a recurrent model runs on the first frame after a reset,
    each run's state fed to the next, the last run's output being the mask: a state of zeros
    is no frame the model ever followed, and its own first look is a better start.
    """

    name: str
    input: str
    output: str
    layout: str = "nchw"
    size: Optional[Tuple[int, int]] = None
    multiple: int = 32
    short_side: int = 256
    color: str = "rgb"
    mean: Tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: Tuple[float, float, float] = (255.0, 255.0, 255.0)
    output_kind: str = "prob"
    output_layout: Optional[str] = None  # None: the same as `layout`
    person_channel: int = 0
    output_stride: int = 1
    prev_mask: bool = False
    recurrent: Tuple[Tuple[str, str], ...] = ()
    extra_inputs: Dict[str, Any] = field(default_factory=dict)
    first_looks: int = 1

    def __post_init__(self) -> None:
        # JSON gives lists; normalise to tuples so specs compare and hash predictably.
        object.__setattr__(self, "mean", tuple(float(v) for v in self.mean))
        object.__setattr__(self, "std", tuple(float(v) for v in self.std))
        object.__setattr__(self, "recurrent", tuple((str(o), str(i)) for o, i in self.recurrent))
        if self.size is not None:
            object.__setattr__(self, "size", (int(self.size[0]), int(self.size[1])))
        _validate_fields(self)

    @property
    def channels(self) -> int:
        return 4 if self.prev_mask else 3

    @property
    def out_layout(self) -> str:
        return self.output_layout or self.layout

    @property
    def out_channels(self) -> int:
        return 2 if self.output_kind in ("logits2", "softmax2") else 1

    def input_size(self, frame_height: int, frame_width: int, short_side: Optional[int] = None) -> Tuple[int, int]:
        """Model (height, width) for a frame: the fixed size, or the aspect-keeping dynamic one."""
        if self.size is not None:
            return self.size
        # Never larger than the frame: upscaling adds no detail, only inference time.
        side = min(short_side or self.short_side, frame_height, frame_width)
        scale = side / min(frame_height, frame_width)
        return (_round_down(frame_height * scale, self.multiple), _round_down(frame_width * scale, self.multiple))

    def input_shape(self, height: int, width: int) -> Tuple[int, int, int, int]:
        if self.layout == "nchw":
            return (1, self.channels, height, width)
        return (1, height, width, self.channels)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "ModelSpec":
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fastseg.spec field(s) {unknown}; known: {sorted(known)}")
        return cls(**data)


def _round_down(value: float, multiple: int) -> int:
    return max(multiple, int(value) // multiple * multiple)


def _validate_fields(spec: ModelSpec) -> None:
    def need(ok: bool, message: str) -> None:
        if not ok:
            raise ValueError(f"model spec {spec.name!r}: {message}")

    need(spec.layout in LAYOUTS, f"layout must be one of {LAYOUTS}, got {spec.layout!r}")
    need(spec.out_layout in LAYOUTS, f"output_layout must be one of {LAYOUTS}, got {spec.output_layout!r}")
    need(spec.color in COLORS, f"color must be one of {COLORS}, got {spec.color!r}")
    need(spec.output_kind in OUTPUT_KINDS, f"output_kind must be one of {OUTPUT_KINDS}, got {spec.output_kind!r}")
    need(len(spec.mean) == 3 and len(spec.std) == 3, "mean and std need 3 values")
    need(all(s > 0 for s in spec.std), f"std must be positive, got {spec.std}")
    need(0 <= spec.person_channel < spec.out_channels, f"person_channel must be < {spec.out_channels}")
    need(spec.multiple >= 1 and spec.short_side >= spec.multiple, "short_side must be >= multiple >= 1")
    stride = spec.output_stride
    need(isinstance(stride, int) and stride >= 1 and spec.multiple % stride == 0,
         f"output_stride must be a positive integer dividing multiple ({spec.multiple}), got {stride!r}")
    need(spec.size is None or (spec.size[0] % stride == 0 and spec.size[1] % stride == 0),
         f"output_stride {stride} must divide the size {spec.size}")
    # The previous-mask channel is the model's own last output at the input's size.
    need(not spec.prev_mask or stride == 1, "a previous-mask input needs output_stride 1")
    # The mask kernels read one contiguous plane: an interleaved two-channel output has none.
    need(spec.out_layout == "nchw" or spec.out_channels == 1, "a two-channel output must be nchw")
    need(type(spec.first_looks) is int and spec.first_looks >= 1, f"first_looks must be an int >= 1, got {spec.first_looks!r}")
    # Without a recurrent state every look at a frame gives the same mask.
    need(spec.first_looks == 1 or bool(spec.recurrent), "first_looks > 1 needs a recurrent state")
    for name, value in spec.extra_inputs.items():
        need(
            isinstance(value, (int, float)) or value in COMPUTED_INPUTS,
            f"extra input {name!r} must be a number or one of {COMPUTED_INPUTS}, got {value!r}",
        )


def _selfie(name: str, input_name: str, output: str, size: Tuple[int, int]) -> ModelSpec:
    return ModelSpec(name=name, input=input_name, output=output, layout="nhwc", size=size)


# Facts from ../shared/models/README.md, checked by loading each model with onnxruntime.
REGISTRY: Dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        _selfie("mediapipe_selfie", "input_1:0", "activation_10", (256, 256)),
        # Its output is called segment_back but holds the PERSON probability.
        _selfie("mediapipe_selfie_landscape", "input_1", "segment_back", (144, 256)),
        ModelSpec(
            name="sinet",
            input="data",
            output="classifier/1",
            size=(320, 320),
            color="bgr",
            mean=(102.890434, 111.25247, 126.91212),
            std=(62.93292 * 255, 62.82138 * 255, 66.355705 * 255),
            output_kind="logits2",
            person_channel=1,
        ),
        ModelSpec(name="prisma_net", input="input_3", output="permute_2", size=(256, 256)),
        ModelSpec(
            name="modnet",
            input="input",
            output="output",
            short_side=512,
            mean=(127.5, 127.5, 127.5),
            std=(127.5, 127.5, 127.5),
        ),
        ModelSpec(
            name="rvm_mobilenetv3",
            input="src",
            output="pha",
            short_side=288,
            recurrent=(("r1o", "r1i"), ("r2o", "r2i"), ("r3o", "r3i"), ("r4o", "r4i")),
            extra_inputs={"downsample_ratio": "downsample_ratio"},
        ),
    )
}


def downsample_ratio(height: int, width: int) -> float:
    """RVM's own rule: run its backbone at about 512 px on the long side, never upscaled."""
    return min(1.0, 512.0 / max(height, width))


def packaged() -> Dict[str, Path]:
    """fastseg's own models installed next to this module, by name."""
    return {p.stem: p for folder in _model_folders() for p in sorted(folder.glob("*.onnx"))}


def _model_folders() -> builtins.list:
    folders = [PACKAGE_DIR]
    # An editable install (pip install -e .) imports this module from the source tree, where
    # the models are in the repository's models/ folder, not next to this file.
    checkout = PACKAGE_DIR.parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / "models").is_dir():
        folders.append(checkout / "models")
    return folders


def list() -> Dict[str, str]:  # noqa: A001 - the public name is fastseg.models.list()
    """Every model name fastseg knows, with where it comes from."""
    names = {name: f"fastseg model ({path.name})" for name, path in packaged().items()}
    for name in REGISTRY:
        names.setdefault(name, "third-party spec: pass path= to its .onnx file")
    return names


def resolve(model: Any, path: Optional[Path]) -> Tuple[Optional[ModelSpec], Path]:
    """(spec or None when it must come from the file's metadata, path to the .onnx file)."""
    if isinstance(model, ModelSpec):
        if path is None:
            raise ValueError(f"a ModelSpec needs path= to its .onnx file (spec {model.name!r})")
        return model, Path(path)
    own = packaged()
    if model is None:
        if path is not None:
            return None, Path(path)
        if DEFAULT_MODEL not in own:
            raise ValueError(_no_default_message())
        model = DEFAULT_MODEL
    if not isinstance(model, str):
        raise TypeError(f"model must be a name, a ModelSpec or None, got {type(model).__name__}")
    if model in own:  # fastseg's own: the spec is in the file (path= may point at another copy)
        return None, Path(path) if path is not None else own[model]
    if model in REGISTRY:
        if path is None:
            raise ValueError(
                f"{model!r} is a third-party model that fastseg does not ship: "
                f"pass its file, e.g. Segmenter({model!r}, path='{model}.onnx')"
            )
        return REGISTRY[model], Path(path)
    raise ValueError(f"unknown model {model!r}; known models: {', '.join(builtins.list(list()))}")


def _no_default_message() -> str:
    return (
        "fastseg has no built-in model yet: pass one, e.g. "
        "Segmenter('mediapipe_selfie_landscape', path='selfie_landscape.onnx'), "
        "or Segmenter(path='model.onnx') for a file carrying fastseg.spec metadata. "
        f"Known models: {', '.join(builtins.list(list()))}"
    )


def spec_from_metadata(metadata: Dict[str, str], path: Path) -> ModelSpec:
    text = metadata.get(SPEC_METADATA_KEY)
    if text is None:
        raise ValueError(
            f"{path} carries no {SPEC_METADATA_KEY!r} metadata: name its spec, "
            f"e.g. Segmenter('sinet', path='{path}'); registry: {', '.join(REGISTRY)}"
        )
    try:
        return ModelSpec.from_json(text)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: bad {SPEC_METADATA_KEY!r} metadata: {err}") from err


# --- checking a loaded model against its spec -------------------------------------------------


@dataclass(frozen=True)
class TensorInfo:
    """Name, shape (ints, or strings/None for free dimensions) and type of a model tensor."""

    name: str
    shape: Tuple[Any, ...]
    type: str

    def __str__(self) -> str:
        return f"{self.name} {builtins.list(self.shape)} {self.type}"


def check(spec: ModelSpec, inputs: Sequence[TensorInfo], outputs: Sequence[TensorInfo], path: Path) -> None:
    """Raise ValueError naming expected vs found when the model does not fit the spec."""
    problems = _input_problems(spec, {t.name: t for t in inputs}) + _output_problems(
        spec, {t.name: t for t in outputs}
    )
    if problems:
        found = "inputs: " + "; ".join(map(str, inputs)) + " | outputs: " + "; ".join(map(str, outputs))
        raise ValueError(f"{path} does not match spec {spec.name!r}: " + "; ".join(problems) + f". Found {found}")


def _input_problems(spec: ModelSpec, inputs: Dict[str, TensorInfo]) -> builtins.list:
    problems = []
    expected_input = _expected_image_shape(spec, spec.layout, spec.channels, spec.size)
    problems += _tensor_problems("input", spec.input, expected_input, inputs)
    for _, state_in in spec.recurrent:
        problems += _tensor_problems("recurrent input", state_in, None, inputs)
    for name in spec.extra_inputs:
        problems += _tensor_problems("extra input", name, None, inputs)
    fed = {spec.input, *spec.extra_inputs, *(i for _, i in spec.recurrent)}
    unfed = sorted(set(inputs) - fed)
    if unfed:
        problems.append(f"the spec feeds no value to input(s) {unfed}")
    return problems


def _output_problems(spec: ModelSpec, outputs: Dict[str, TensorInfo]) -> builtins.list:
    plane = None if spec.size is None else (spec.size[0] // spec.output_stride, spec.size[1] // spec.output_stride)
    expected = _expected_image_shape(spec, spec.out_layout, spec.out_channels, plane)
    problems = _tensor_problems("output", spec.output, expected, outputs)
    for state_out, _ in spec.recurrent:
        problems += _tensor_problems("recurrent output", state_out, None, outputs)
    return problems


def _expected_image_shape(spec: ModelSpec, layout: str, channels: int, size: Optional[Tuple[int, int]]):
    height, width = size if size is not None else ("H", "W")
    return (1, channels, height, width) if layout == "nchw" else (1, height, width, channels)


def _tensor_problems(role: str, name: str, expected: Optional[Tuple], found: Dict[str, TensorInfo]) -> builtins.list:
    tensor = found.get(name)
    if tensor is None:
        return [f"expected {role} {name!r}, not found"]
    if tensor.type != "tensor(float)":
        return [f"expected {role} {name!r} of type tensor(float), found {tensor.type}"]
    if expected is None or _shape_fits(expected, tensor.shape):
        return []
    return [f"expected {role} {name!r} of shape {builtins.list(expected)}, found {builtins.list(tensor.shape)}"]


def _shape_fits(expected: Tuple, found: Tuple) -> bool:
    """A free model dimension fits anything; a free spec dimension (a letter) needs a free model one."""
    if len(expected) != len(found):
        return False
    for want, got in zip(expected, found):
        if not isinstance(got, int):
            continue
        if isinstance(want, str) or want != got:
            return False
    return True
