"""fastseg.Segmenter end to end on tiny ONNX models built here (no shared data needed).

The tiny models compute a person logit from the frame's brightness, gain * (mean(rgb)/255 - 0.5),
so a bright rectangle on a dark background is "a person", and every pipeline stage can be
checked against a few lines of numpy/OpenCV.
"""

from __future__ import annotations

import json
import tracemalloc
from typing import Tuple

import cv2
import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import helper  # noqa: E402
from tiny_models import GAIN, SIZE, build_model, recurrent_spec, tiny_spec  # noqa: E402

import fastseg  # noqa: E402
from fastseg import _core  # noqa: E402

FRAME = (96, 128)  # 4x the model size: area resize is a plain block mean


def person_frame(height: int = FRAME[0], width: int = FRAME[1], seed: int = 0) -> np.ndarray:
    """Dark textured background with a bright block (the 'person') aligned to 4-pixel blocks."""
    rng = np.random.default_rng(seed)
    frame = rng.integers(0, 60, (height, width, 3), dtype=np.uint8)
    frame[height // 4 : 3 * height // 4, width // 4 : width // 2] = rng.integers(200, 255, (3,), dtype=np.uint8)
    return frame


def model_logits(frame: np.ndarray, size: Tuple[int, int] = SIZE, gain: float = GAIN) -> np.ndarray:
    """The tiny model's logits at model resolution, in numpy/OpenCV (area resize, brightness)."""
    small = cv2.resize(frame, (size[1], size[0]), interpolation=cv2.INTER_AREA).astype(np.float32)
    return gain * (small.mean(axis=2) / 255.0 - 0.5)


def model_prob(frame: np.ndarray, size: Tuple[int, int] = SIZE, gain: float = GAIN) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-model_logits(frame, size, gain)))


def upsample(mask: np.ndarray, shape: Tuple[int, int] = FRAME) -> np.ndarray:
    return cv2.resize(mask.astype(np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)


def reference_mask(frame: np.ndarray, size: Tuple[int, int] = SIZE, gain: float = GAIN) -> np.ndarray:
    return upsample(model_prob(frame, size, gain), frame.shape[:2])


# --- the pipeline ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "layout, kind",
    [("nchw", "prob"), ("nchw", "logits"), ("nchw", "logits2"), ("nchw", "softmax2"), ("nhwc", "prob"), ("nhwc", "logits")],
)
def test_mask_matches_reference_for_every_layout_and_output_kind(tmp_path, layout, kind):
    two_class = kind in ("logits2", "softmax2")
    spec = tiny_spec(layout=layout, output_kind=kind, person_channel=1 if two_class else 0)
    path = build_model(tmp_path / "m.onnx", layout=layout, kind=kind, spec=spec)
    with fastseg.Segmenter(path=path) as seg:
        mask = seg.mask(person_frame())
    assert mask.dtype == np.float32 and mask.shape == FRAME
    if kind == "logits":  # upsampled as logits, then the hard sigmoid (tests/test_postprocess.py)
        assert_logits_upsampled(mask, model_logits(person_frame()))
        return
    # Two classes with logits -l and +l: the person's softmax is sigmoid(2 l).
    expected = reference_mask(person_frame(), gain=2 * GAIN if two_class else GAIN)
    np.testing.assert_allclose(mask, expected, atol=2.5 / 255)


def assert_logits_upsampled(mask: np.ndarray, logits: np.ndarray) -> None:
    """The contour where the bilinear logits cross zero; within upsample_logits' 40 levels of
    their hard sigmoid clamp(0.5 + x / 4)."""
    reference = upsample(logits, mask.shape)
    decided = np.abs(reference) > 0.5
    assert decided.mean() > 0.5 and np.array_equal(mask[decided] >= 0.5, reference[decided] > 0)
    np.testing.assert_allclose(mask, np.clip(0.5 + reference / 4, 0, 1), atol=40 / 255)


def test_logits_are_upsampled_as_probabilities_once_the_mask_is_shaped(tmp_path):
    """A feather (or a threshold) shapes the probability itself, so a logits model's mask is
    then upsampled as one; temporal smoothing averages probabilities and upsamples their logits."""
    path = build_model(tmp_path / "m.onnx", kind="logits", spec=tiny_spec(output_kind="logits"))
    frame, dark = person_frame(), np.zeros(FRAME + (3,), np.uint8)
    with fastseg.Segmenter(path=path) as plain, fastseg.Segmenter(path=path, feather=1) as feathered:
        assert_logits_upsampled(plain.mask(frame), model_logits(frame))
        box = cv2.blur(cv2.blur(model_prob(frame), (3, 3), borderType=cv2.BORDER_REPLICATE), (3, 3),
                       borderType=cv2.BORDER_REPLICATE)
        np.testing.assert_allclose(feathered.mask(frame), upsample(box), atol=2 / 255)
    with fastseg.Segmenter(path=path, temporal=0.5) as smoothed:
        smoothed.mask(frame)
        average = 0.5 * model_prob(frame) + 0.5 * model_prob(dark)
        assert_logits_upsampled(smoothed.mask(dark), np.log(average / (1 - average)))


def test_two_channel_nhwc_output_is_refused_by_the_spec():
    with pytest.raises(ValueError, match="two-channel output must be nchw"):
        tiny_spec(layout="nhwc", output_kind="logits2", person_channel=1)


@pytest.mark.parametrize("fields, message", [
    ({"output_stride": 3}, r"output_stride must be a positive integer dividing multiple \(8\), got 3"),
    ({"output_stride": 0}, "output_stride must be a positive integer"),
    ({"output_stride": 8, "size": (24, 36)}, r"output_stride 8 must divide the size \(24, 36\)"),
    ({"output_stride": 2, "prev_mask": True}, "a previous-mask input needs output_stride 1"),
])
def test_an_output_stride_the_spec_cannot_keep_is_refused(fields, message):
    with pytest.raises(ValueError, match=message):
        tiny_spec(**fields)


def test_rgb_frames_give_the_same_mask_as_bgr(tiny):
    frame = person_frame()
    with fastseg.Segmenter(path=tiny) as bgr, fastseg.Segmenter(path=tiny, color="rgb") as rgb:
        np.testing.assert_array_equal(bgr.mask(frame), rgb.mask(np.ascontiguousarray(frame[..., ::-1])))


def test_threshold_feather_and_refine_change_the_mask_as_documented(tiny):
    frame = person_frame()
    prob = model_prob(frame)
    with fastseg.Segmenter(path=tiny, threshold=0.5) as hard:
        # Thresholded at model resolution, then upsampled: only the edge is soft.
        np.testing.assert_allclose(hard.mask(frame), upsample(prob >= 0.5), atol=1.5 / 255)
    with fastseg.Segmenter(path=tiny, threshold=(0.3, 0.7)) as smooth:
        t = np.clip((prob - 0.3) / 0.4, 0, 1)
        np.testing.assert_allclose(smooth.mask(frame), upsample(t * t * (3 - 2 * t)), atol=1.5 / 255)
    with fastseg.Segmenter(path=tiny, feather=1) as feathered:
        box = cv2.blur(cv2.blur(prob, (3, 3), borderType=cv2.BORDER_REPLICATE), (3, 3), borderType=cv2.BORDER_REPLICATE)
        np.testing.assert_allclose(feathered.mask(frame), upsample(box), atol=2 / 255)
    with fastseg.Segmenter(path=tiny, refine=True) as refined, fastseg.Segmenter(path=tiny) as plain:
        guided, soft = refined.mask(frame), plain.mask(frame)
    assert guided.shape == FRAME and np.mean((guided > 0.5) == (soft > 0.5)) > 0.97


def test_temporal_smoothing_and_reset(tiny):
    bright, dark = person_frame(), np.zeros(FRAME + (3,), np.uint8)
    with fastseg.Segmenter(path=tiny, temporal=0.5) as seg:
        first = seg.mask(bright)
        after_dark = seg.mask(dark)
        person = first > 0.9
        # state = 0.5 * previous + 0.5 * current: the person fades to about half, not to zero.
        assert np.allclose(after_dark[person], 0.5 * first[person] + 0.5 * reference_mask(dark)[person], atol=3 / 255)
        seg.reset()
        np.testing.assert_allclose(seg.mask(dark), reference_mask(dark), atol=2.5 / 255)


def test_previous_mask_input_receives_the_last_mask(tmp_path):
    path = build_model(tmp_path / "prev.onnx", prev_mask=True, spec=tiny_spec(prev_mask=True))
    gray = np.full(FRAME + (3,), 128, np.uint8)  # logit ~0: the output is driven by the previous mask
    offset = GAIN * (128 / 255 - 0.5)
    with fastseg.Segmenter(path=path) as seg:
        values = [float(seg.mask(gray).mean()) for _ in range(3)]
        seg.reset()
        again = float(seg.mask(gray).mean())
    prev, expected = 0.0, []
    for _ in range(3):
        prev = 1 / (1 + np.exp(-(offset + 2.0 * prev)))
        expected.append(prev)
    np.testing.assert_allclose(values, expected, atol=2 / 255)
    assert again == pytest.approx(values[0])


@pytest.mark.parametrize("first_looks", [1, 3])
def test_recurrent_states_are_fed_back_and_reset_after_the_first_frames_looks(tmp_path, first_looks):
    path = build_model(tmp_path / "rec.onnx", recurrent=True, spec=recurrent_spec(first_looks=first_looks))
    gray = np.full(FRAME + (3,), 128, np.uint8)
    offset = GAIN * (128 / 255 - 0.5)
    with fastseg.Segmenter(path=path) as seg:
        values = [float(seg.mask(gray).mean()) for _ in range(4)]
        seg.reset()
        again = float(seg.mask(gray).mean())
    # The state counts runs: the logit grows by one per run (ratio fed as 1.0); the first frame,
    # and the first after a reset, gets `first_looks` runs, every later frame one.
    expected = [1 / (1 + np.exp(-(offset + first_looks - 1 + k))) for k in range(4)]
    np.testing.assert_allclose(values, expected, atol=2 / 255)
    assert again == pytest.approx(values[0])


@pytest.mark.parametrize("looks, message", [(0, "first_looks must be an int >= 1"), (2.0, "first_looks must be an int"),
                                            (True, "first_looks must be an int")])
def test_first_looks_must_be_a_positive_int(looks, message):
    with pytest.raises(ValueError, match=message):
        recurrent_spec(first_looks=looks)


def test_the_model_list_names_a_models_first_looks():
    from fastseg.commands.model_list import features

    assert "2 looks at a first frame" in features(recurrent_spec(first_looks=2))
    assert not any("looks" in note for note in features(recurrent_spec()))


def test_first_looks_need_a_recurrent_state():
    with pytest.raises(ValueError, match="first_looks > 1 needs a recurrent state"):
        tiny_spec(first_looks=2)


def test_dynamic_size_keeps_the_aspect_on_a_multiple(tmp_path):
    spec = tiny_spec(size=None, multiple=8, short_side=24)
    path = build_model(tmp_path / "dyn.onnx", size=None, spec=spec)
    assert spec.input_size(96, 128) == (24, 32)
    assert spec.input_size(100, 300) == (24, 72)
    assert spec.input_size(16, 40) == (16, 40)  # never larger than the frame
    with fastseg.Segmenter(path=path) as seg:
        np.testing.assert_allclose(seg.mask(person_frame()), reference_mask(person_frame()), atol=2.5 / 255)
    with fastseg.Segmenter(path=path, short_side=48) as seg:
        assert seg.mask(person_frame()).shape == FRAME
        assert seg._buffers.input.shape == (1, 3, 48, 64)


def test_frame_size_changes_reallocate(tiny):
    with fastseg.Segmenter(path=tiny) as seg:
        # (10, 10) and (1, 200) are smaller than the model's 24 x 32 mask along some axis
        for height, width in [(96, 128), (50, 70), (96, 128), (720, 1280), (10, 10), (1, 200)]:
            frame = person_frame(height, width)
            assert seg.process(frame).shape == (height, width, 3)
            assert seg.mask(frame).shape == (height, width)


# --- effects -------------------------------------------------------------------------------


@pytest.fixture
def seg_and_alpha(tiny):
    frame = person_frame()
    with fastseg.Segmenter(path=tiny) as seg:
        yield seg, frame, seg.process(frame, effect="mask")


def test_mask_effect_is_the_alpha_of_mask(seg_and_alpha):
    seg, frame, alpha = seg_and_alpha
    assert alpha.dtype == np.uint8 and alpha.shape == FRAME
    np.testing.assert_allclose(seg.mask(frame), alpha / 255.0, atol=1e-6)


def test_blur_color_transparent_use_the_alpha(seg_and_alpha):
    seg, frame, alpha = seg_and_alpha
    np.testing.assert_array_equal(seg.process(frame, "blur", strength=0.7), _core.composite_blur(frame, alpha, strength=0.7))
    np.testing.assert_array_equal(seg.process(frame, "color", color=(1, 2, 3)), _core.composite_color(frame, alpha, (1, 2, 3)))
    rgba = seg.process(frame, "transparent")
    assert rgba.shape == FRAME + (4,)
    np.testing.assert_array_equal(rgba[..., :3], frame)
    np.testing.assert_array_equal(rgba[..., 3], alpha)


def test_replace_resizes_the_background_once_and_caches_it(seg_and_alpha):
    seg, frame, alpha = seg_and_alpha
    background = np.random.default_rng(1).integers(0, 255, (60, 90, 3), dtype=np.uint8)
    fitted = _core.resize_image(background, np.empty(FRAME + (3,), np.uint8))
    expected = _core.composite_image(frame, alpha, fitted)
    np.testing.assert_array_equal(seg.process(frame, "replace", background=background), expected)
    cached = seg._buffers.compositor._background
    np.testing.assert_array_equal(seg.process(frame, "replace", background=background), expected)
    assert seg._buffers.compositor._background is cached
    # A new image per call is allowed and used.
    other = np.zeros((60, 90, 3), np.uint8)
    np.testing.assert_array_equal(seg.process(frame, "replace", background=other), _core.composite_color(frame, alpha, (0, 0, 0)))
    # A frame-sized background is used as it is.
    same_size = np.full(FRAME + (3,), 7, np.uint8)
    np.testing.assert_array_equal(seg.process(frame, "replace", background=same_size), _core.composite_color(frame, alpha, (7, 7, 7)))


def test_harmonize_recolours_then_composites(seg_and_alpha):
    seg, frame, alpha = seg_and_alpha
    background = np.random.default_rng(2).integers(0, 255, FRAME + (3,), dtype=np.uint8)
    recoloured = _core.harmonize(frame, alpha, background, amount=0.5)
    expected = _core.composite_image(recoloured, alpha, background)
    np.testing.assert_array_equal(seg.process(frame, "harmonize", background=background, amount=0.5), expected)


@pytest.mark.parametrize("effect, channels", [("blur", 3), ("color", 3), ("transparent", 4), ("mask", 0)])
def test_out_is_written_in_place(seg_and_alpha, effect, channels):
    seg, frame, _ = seg_and_alpha
    out = np.empty(FRAME + ((channels,) if channels else ()), np.uint8)
    assert seg.process(frame, effect, out=out) is out
    np.testing.assert_array_equal(out, seg.process(frame, effect))
    buf = np.empty(FRAME, np.float32)
    assert seg.mask(frame, out=buf) is buf


# --- zero copy and no per-frame allocation ---------------------------------------------------


def _bound_addresses(seg) -> dict:
    return {(i, name): a.ctypes.data for i, b in enumerate(seg._buffers.bindings) for name, a in b.arrays.items()}


@pytest.mark.parametrize("recurrent", [False, True])
def test_bound_buffers_keep_their_addresses_and_are_what_onnxruntime_reads_and_writes(tmp_path, recurrent):
    spec = recurrent_spec() if recurrent else tiny_spec()
    path = build_model(tmp_path / "m.onnx", recurrent=recurrent, spec=spec)
    with fastseg.Segmenter(path=path) as seg:
        seg.mask(person_frame(seed=0))
        addresses = _bound_addresses(seg)
        for seed in range(1, 6):
            seg.mask(person_frame(seed=seed))
            assert _bound_addresses(seg) == addresses
        if not recurrent:
            # The output array holds exactly what session.run computes from the input array.
            buffers = seg._buffers
            expected = seg._session.run(["mask"], {"image": buffers.input})[0]
            np.testing.assert_array_equal(buffers.bindings[0].arrays["mask"], expected)


@pytest.mark.parametrize("recurrent", [False, True])
def test_1000_frames_allocate_nothing_per_frame(tmp_path, recurrent):
    spec = recurrent_spec(layout="nhwc") if recurrent else tiny_spec(layout="nhwc")
    path = build_model(tmp_path / "m.onnx", layout="nhwc", recurrent=recurrent, spec=spec)
    with fastseg.Segmenter(path=path, temporal=0.3, feather=1, threshold=(0.2, 0.8)) as seg:
        assert traced_growth(seg, person_frame(90, 160)) < 1000


def test_a_logits_models_smoothed_mask_allocates_nothing_per_frame(tmp_path):
    """Temporal smoothing of a logits model takes the logits of the average every frame."""
    path = build_model(tmp_path / "m.onnx", kind="logits", spec=tiny_spec(output_kind="logits"))
    with fastseg.Segmenter(path=path, temporal=0.3) as seg:
        assert traced_growth(seg, person_frame(90, 160)) < 1000


def traced_growth(seg: fastseg.Segmenter, frame: np.ndarray) -> int:
    """Bytes the traced memory grew by over 1000 frames of `process` and `mask`."""
    out, mask = np.empty(frame.shape, np.uint8), np.empty(frame.shape[:2], np.float32)
    # Warm up under tracing: the first frame sizes the buffers, and onnxruntime keeps a bounded
    # ring of ~200 small per-run records whose replacement would otherwise count as growth (a
    # freed block allocated before tracing started is not subtracted).
    tracemalloc.start()
    try:
        for _ in range(300):
            seg.process(frame, "blur", out=out)
            seg.mask(frame, out=mask)
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(1000):
            seg.process(frame, "blur", out=out)
            seg.mask(frame, out=mask)
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_profile_records_every_stage(tiny):
    with fastseg.Segmenter(path=tiny, profile=True) as seg:
        seg.process(person_frame())
        times = seg.timings
    assert all(t > 0 for t in (times.preprocess, times.inference, times.postprocess, times.composite))
    with fastseg.Segmenter(path=tiny) as seg:
        assert seg.timings is None


# --- models and specs ---------------------------------------------------------------------


def test_spec_round_trips_through_onnx_metadata(tmp_path):
    spec = recurrent_spec(layout="nhwc", mean=(1, 2, 3), std=(4, 5, 6), color="bgr")
    path = build_model(tmp_path / "m.onnx", layout="nhwc", recurrent=True, spec=spec)
    with fastseg.Segmenter(path=path) as seg:
        assert seg.spec == spec
    assert json.loads(spec.to_json())["recurrent"] == [["state_out", "state_in"]]


def test_default_model_is_used_once_it_ships(tmp_path, monkeypatch):
    from fastseg import models

    own = build_model(tmp_path / "fastseg_tiny.onnx", spec=tiny_spec(name="fastseg_tiny"))
    monkeypatch.setattr(models, "PACKAGE_DIR", tmp_path)
    monkeypatch.setattr(models, "DEFAULT_MODEL", "fastseg_tiny")
    assert models.list()["fastseg_tiny"].startswith("fastseg model")
    with fastseg.Segmenter() as seg, fastseg.Segmenter("fastseg_tiny") as named:
        assert seg.spec.name == named.spec.name == "fastseg_tiny"
    assert own.is_file()


def test_models_list_names_the_registry():
    names = fastseg.models.list()
    for name in ("mediapipe_selfie", "mediapipe_selfie_landscape", "sinet", "prisma_net", "modnet", "rvm_mobilenetv3"):
        assert name in names


# --- bad inputs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frame, error, message",
    [
        (np.zeros(FRAME + (3,), np.float32), TypeError, "uint8"),
        (np.zeros(FRAME + (4,), np.uint8), ValueError, r"\(H, W, 3\)"),
        (np.zeros(FRAME, np.uint8), ValueError, r"\(H, W, 3\)"),
        (np.zeros((0, 0, 3), np.uint8), ValueError, "empty"),
        ([[0, 0, 0]], TypeError, "numpy array"),
        (np.zeros((96, 256, 3), np.uint8)[:, ::2], ValueError, "C-contiguous"),
    ],
)
def test_bad_frames_raise_clear_errors(tiny, frame, error, message):
    with fastseg.Segmenter(path=tiny) as seg:
        with pytest.raises(error, match=message):
            seg.process(frame)
        with pytest.raises(error, match=message):
            seg.mask(frame)


@pytest.mark.parametrize(
    "frame, error, message",
    [
        (np.zeros(FRAME + (3,), np.float32), TypeError, "frame must be a uint8 array"),
        (np.zeros((FRAME[0], 2 * FRAME[1], 3), np.uint8)[:, ::2], ValueError, "frame must be C-contiguous"),
    ],
)
def test_bad_frames_of_the_current_size_are_caught_by_the_kernels(tiny, frame, error, message):
    with fastseg.Segmenter(path=tiny) as seg:
        seg.process(person_frame())  # the same shape next: the Python checks are skipped
        with pytest.raises(error, match=message):
            seg.process(frame)


def test_bad_effects_and_outputs(seg_and_alpha):
    seg, frame, _ = seg_and_alpha
    with pytest.raises(ValueError, match="unknown effect 'sepia'; effects: blur, replace, color"):
        seg.process(frame, "sepia")
    with pytest.raises(TypeError, match="radius"):
        seg.process(frame, "blur", radius=3)
    with pytest.raises(TypeError, match="background"):
        seg.process(frame, "replace")
    with pytest.raises(TypeError, match="background must be a uint8"):
        seg.process(frame, "replace", background=np.zeros((5, 5, 3), np.float32))
    with pytest.raises(ValueError, match="background must have shape"):
        seg.process(frame, "replace", background=np.zeros((5, 5), np.uint8))
    with pytest.raises(ValueError, match="out must have shape"):
        seg.process(frame, "blur", out=np.empty((3, 3, 3), np.uint8))
    with pytest.raises(TypeError, match="out must be a float32 array"):
        seg.mask(frame, out=np.empty(FRAME, np.float64))
    with pytest.raises(ValueError, match=r"out must have shape \(96, 128\)"):
        seg.mask(frame, out=np.empty((4, 4), np.float32))
    with pytest.raises(ValueError, match="strength must be in"):
        seg.process(frame, "blur", strength=2.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(color="hsv"), "color must be 'bgr' or 'rgb'"),
        (dict(temporal=1.0), "temporal must be"),
        (dict(refine="bicubic"), "refine must be"),
        (dict(threshold=1.5), "threshold must be"),
        (dict(threshold=(0.7, 0.3)), "threshold must be"),
        (dict(feather=-1), "feather must be"),
        (dict(short_side=64), "short_side applies to dynamic-size models"),
        (dict(threads=0), "threads must be"),
    ],
)
def test_bad_options_raise_value_errors(tiny, kwargs, message):
    with pytest.raises(ValueError, match=message):
        fastseg.Segmenter(path=tiny, **kwargs)


def test_the_shipped_default_model_runs_without_arguments():
    frame = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    with fastseg.Segmenter() as seg:
        assert seg.spec.name == fastseg.models.DEFAULT_MODEL
        mask = seg.mask(frame)
    assert mask.shape == frame.shape[:2] and mask.dtype == np.float32 and 0 <= mask.min() <= mask.max() <= 1


def test_no_model_says_how_to_pass_one(monkeypatch):
    monkeypatch.setattr(fastseg.models, "DEFAULT_MODEL", "not_shipped")
    with pytest.raises(ValueError, match=r"Segmenter\('mediapipe_selfie_landscape', path="):
        fastseg.Segmenter()


def test_registry_model_without_path_says_to_pass_one():
    with pytest.raises(ValueError, match=r"Segmenter\('sinet', path='sinet.onnx'\)"):
        fastseg.Segmenter("sinet")


def test_unknown_model_lists_known_names():
    with pytest.raises(ValueError, match="unknown model 'deeplab'; known models: .*mediapipe_selfie"):
        fastseg.Segmenter("deeplab", path="x.onnx")


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.onnx"):
        fastseg.Segmenter("sinet", path=tmp_path / "nope.onnx")


@pytest.mark.parametrize("content", [b"", b"not a model at all", bytes(range(256)) * 64])
def test_corrupt_file_is_a_value_error_naming_it(tmp_path, content):
    path = tmp_path / "broken.onnx"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="broken.onnx is not a loadable ONNX model"):
        fastseg.Segmenter("sinet", path=path)


def test_file_without_spec_metadata_needs_a_name(tmp_path):
    path = build_model(tmp_path / "bare.onnx")
    with pytest.raises(ValueError, match="no 'fastseg.spec' metadata"):
        fastseg.Segmenter(path=path)
    with fastseg.Segmenter(tiny_spec(), path=path) as seg:  # an explicit spec works
        assert seg.mask(person_frame()).shape == FRAME


@pytest.mark.parametrize(
    "spec, message",
    [
        (tiny_spec(input="src"), r"expected input 'src', not found"),
        (tiny_spec(output="pha"), r"expected output 'pha', not found"),
        (tiny_spec(size=(32, 32)), r"expected input 'image' of shape \[1, 3, 32, 32\], found \[1, 3, 24, 32\]"),
        (tiny_spec(layout="nhwc"), r"expected input 'image' of shape \[1, 24, 32, 3\]"),
        (tiny_spec(size=None), r"expected input 'image' of shape \[1, 3, 'H', 'W'\]"),
        (tiny_spec(output_kind="logits2", person_channel=1), r"expected output 'mask' of shape \[1, 2, 24, 32\]"),
        (tiny_spec(recurrent=(("r1o", "r1i"),)), r"expected recurrent input 'r1i', not found"),
        (tiny_spec(output_stride=2), r"expected output 'mask' of shape \[1, 1, 12, 16\], found \[1, 1, 24, 32\]"),
    ],
)
def test_model_not_matching_its_spec_is_refused_naming_expected_and_found(tmp_path, spec, message):
    path = build_model(tmp_path / "m.onnx")
    with pytest.raises(ValueError, match=message) as info:
        fastseg.Segmenter(spec, path=path)
    assert "Found inputs: image [1, 3, 24, 32] tensor(float)" in str(info.value)


def test_unfed_model_input_is_refused(tmp_path):
    path = build_model(tmp_path / "rec.onnx", recurrent=True)
    with pytest.raises(ValueError, match=r"feeds no value to input\(s\) \['ratio', 'state_in'\]"):
        fastseg.Segmenter(tiny_spec(), path=path)


def test_bad_spec_metadata_is_a_value_error(tmp_path):
    path = build_model(tmp_path / "m.onnx")
    model = onnx.load(str(path))
    helper.set_model_props(model, {"fastseg.spec": json.dumps({"name": "x", "input": "image", "output": "mask", "colour": "rgb"})})
    onnx.save(model, str(path))
    with pytest.raises(ValueError, match="bad 'fastseg.spec' metadata: unknown fastseg.spec field"):
        fastseg.Segmenter(path=path)


def test_closed_segmenter_refuses_frames(tiny):
    seg = fastseg.Segmenter(path=tiny)
    seg.close()
    with pytest.raises(RuntimeError, match="closed"):
        seg.mask(person_frame())


def test_configure_changes_options_without_reloading(tiny):
    """configure() gives the masks a Segmenter made with those options gives, same session."""
    frame = person_frame()
    options = dict(threshold=(0.3, 0.6), feather=2, refine=True)
    with fastseg.Segmenter(path=tiny) as seg, fastseg.Segmenter(path=tiny, **options) as made:
        session = seg._session
        plain = seg.mask(frame)
        seg.configure(**options)
        np.testing.assert_array_equal(seg.mask(frame), made.mask(frame))
        assert seg._session is session
        assert not np.array_equal(seg.mask(frame), plain)
        seg.configure(threshold=None, feather=0, refine=False)
        np.testing.assert_array_equal(seg.mask(frame), plain)


@pytest.mark.parametrize(("option", "value"), [("temporal", 1.0), ("refine", "bilateral"), ("threshold", (0.8, 0.2)), ("feather", -1)])
def test_configure_checks_like_the_constructor(tiny, option, value):
    with fastseg.Segmenter(path=tiny) as seg:
        with pytest.raises(ValueError, match=option):
            seg.configure(**{option: value})
