"""`fastseg image`, `video`, `bench` and `models` end to end on clips and a tiny ONNX model made
here; the same on ../shared data when it is there (marker `shared`)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("onnx")
from cli_helpers import (  # noqa: E402
    SHARED_MODEL,
    SHARED_VIDEOS,
    assert_one_line_error,
    person_box,
    person_frames,
    read_clip,
    run_cli,
    write_clip,
)

import fastseg  # noqa: E402
from fastseg import models  # noqa: E402

GREEN_BGR = (64, 177, 0)  # the colour named "green" (RGB 0,177,64)
FRAMES = 12


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return write_clip(tmp_path_factory.mktemp("clip") / "walk.mp4", person_frames(FRAMES))


@pytest.fixture
def photo(tmp_path) -> Path:
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), person_frames(1)[0])
    return path


def background_pixels(frame: np.ndarray, index: int = 0) -> np.ndarray:
    """The frame outside the person block, away from its edge (the mask is soft there)."""
    keep = np.ones(frame.shape[:2], bool)
    rows, cols = person_box(*frame.shape[:2], index)
    keep[max(0, rows.start - 12) : rows.stop + 12, max(0, cols.start - 12) : cols.stop + 12] = False
    return frame[keep]


def person_pixels(frame: np.ndarray, index: int = 0) -> np.ndarray:
    return frame[person_box(*frame.shape[:2], index, margin=6)]


# --- help, version, errors --------------------------------------------------------------------


@pytest.mark.parametrize("command", ["image", "video", "webcam", "bench", "models"])
def test_every_subcommand_has_help(capsys, command):
    code, out, _ = run_cli(capsys, command, "--help")
    assert code == 0 and out.startswith(f"usage: fastseg {command}")
    if command in ("image", "video", "webcam", "bench"):
        assert "--model" in out and "--threads" in out


def test_version(capsys):
    code, out, _ = run_cli(capsys, "--version")
    assert code == 0 and out.strip() == f"fastseg {fastseg.__version__}"


@pytest.mark.parametrize(
    "argv, phrase",
    [
        (["image", "{missing}", "-o", "{tmp}/o.png", "--model", "{tiny}"], "input not found"),
        (["image", "{photo}", "-o", "{tmp}/o.jpg", "--effect", "transparent", "--model", "{tiny}"], "alpha"),
        (["image", "{photo}", "-o", "{tmp}/o.xyz", "--model", "{tiny}"], "cannot write images"),
        (["image", "{photo}", "-o", "{tmp}/o.png", "--model", "{tmp}/none.onnx"], "model file not found"),
        (["image", "{photo}", "-o", "{tmp}/o.png", "--model", "{photo}"], "not a loadable ONNX model"),
        (["image", "{photo}", "-o", "{tmp}/o.png", "--model", "sinet"], "--model path/to/sinet.onnx"),
        (["image", "{photo}", "-o", "{tmp}/o.png", "--model", "{tiny}", "--effect", "replace"], "needs --background"),
        (["image", "{photo}", "-o", "{tmp}/o.png", "--model", "{tiny}", "--background", "nowhere.jpg"], "not a colour"),
        (["image", "{photo}", "-o", "{tmp}/o.png", "--effect", "sparkle"], "invalid choice"),
        (["image", "{photo}", "-o", "{tmp}/o.png", "--strength", "2"], "--strength"),
        (["image", "{text}", "-o", "{tmp}/o.png", "--model", "{tiny}"], "cannot read"),
        (["image", "{photo}", "-o", "{photo}", "--model", "{tiny}"], "never overwritten"),
        (["video", "{missing}", "-o", "{tmp}/o.mp4", "--model", "{tiny}"], "input not found"),
        (["video", "{text}", "-o", "{tmp}/o.mp4", "--model", "{tiny}"], "no readable frame"),
        (["video", "{clip}", "-o", "{tmp}/o.gif", "--model", "{tiny}"], "cannot write video type"),
        (["video", "{clip}", "-o", "{tmp}/o.mp4", "--effect", "transparent"], "invalid choice"),
        (["video", "{clip}"], "required"),
        (["webcam", "--source", "{missing}", "--no-window", "--model", "{tiny}"], "--source not found"),
        (["webcam", "--source", "{clip}", "--no-window", "--frames", "0"], "positive integer"),
        (["bench", "--model", "{tmp}/none.onnx"], "model file not found"),
        (["bench", "--sizes", "big"], "sizes like"),
        (["nonsense"], "invalid choice"),
    ],
)
def test_bad_arguments_and_missing_files_give_status_2_and_one_line(capsys, tmp_path, tiny, clip, photo, argv, phrase):
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    values = dict(tmp=tmp_path, missing=tmp_path / "missing.mp4", tiny=tiny, clip=clip, photo=photo, text=text)
    code, _, err = run_cli(capsys, *(a.format(**values) for a in argv))
    assert_one_line_error(code, err, phrase)


def test_without_a_default_model_the_error_says_how_to_pass_one(capsys, monkeypatch, photo, tmp_path):
    monkeypatch.setattr(models, "DEFAULT_MODEL", "not_shipped")
    code, _, err = run_cli(capsys, "image", photo, "-o", tmp_path / "o.png")
    assert_one_line_error(code, err, "no built-in model yet", "--model")


def test_an_image_smaller_than_the_models_mask_keeps_its_size(capsys, tmp_path, tiny):
    small = tmp_path / "small.png"
    cv2.imwrite(str(small), person_frames(1, 16, 16)[0])
    code, _, _ = run_cli(capsys, "image", small, "-o", tmp_path / "o.png", "--model", tiny, "--effect", "mask")
    assert code == 0 and cv2.imread(str(tmp_path / "o.png"), cv2.IMREAD_UNCHANGED).shape == (16, 16)


# --- image ------------------------------------------------------------------------------------


def test_image_color_replaces_the_background_and_keeps_the_person(capsys, tmp_path, tiny, photo):
    out = tmp_path / "out.png"
    code, stdout, _ = run_cli(capsys, "image", photo, "-o", out, "--model", tiny, "--background", "green")
    assert code == 0 and str(out) in stdout
    source, result = cv2.imread(str(photo)), cv2.imread(str(out))
    assert result.shape == source.shape
    assert np.abs(background_pixels(result).astype(int) - GREEN_BGR).max() <= 30
    assert np.abs(person_pixels(result).astype(int) - person_pixels(source)).max() <= 20


def test_image_transparent_writes_png_with_alpha(capsys, tmp_path, tiny, photo):
    out = tmp_path / "cutout.png"
    code, _, _ = run_cli(capsys, "image", photo, "-o", out, "--model", tiny, "--effect", "transparent")
    rgba = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert code == 0 and rgba.shape == (96, 128, 4)
    assert background_pixels(rgba)[:, 3].max() < 40 and person_pixels(rgba)[..., 3].min() > 200
    np.testing.assert_array_equal(rgba[..., :3], cv2.imread(str(photo)))


def test_image_many_inputs_and_folders_go_into_a_folder(capsys, tmp_path, tiny):
    folder = tmp_path / "in"
    folder.mkdir()
    for i, frame in enumerate(person_frames(3, moving=True)):
        cv2.imwrite(str(folder / f"f{i}.jpg"), frame)
    single = tmp_path / "one.png"
    cv2.imwrite(str(single), person_frames(1, 120, 160)[0])
    out = tmp_path / "out"
    code, _, _ = run_cli(capsys, "image", folder, single, "-o", out, "--model", tiny, "--effect", "transparent")
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["f0.png", "f1.png", "f2.png", "one.png"]
    assert cv2.imread(str(out / "one.png"), cv2.IMREAD_UNCHANGED).shape == (120, 160, 4)


def test_image_blur_and_mask(capsys, tmp_path, tiny, photo):
    blurred, mask = tmp_path / "blur.png", tmp_path / "mask.png"
    assert run_cli(capsys, "image", photo, "-o", blurred, "--model", tiny, "--strength", "1")[0] == 0
    assert run_cli(capsys, "image", photo, "-o", mask, "--model", tiny, "--effect", "mask")[0] == 0
    source, result = cv2.imread(str(photo)), cv2.imread(str(blurred))
    # The textured background is smoothed: far less pixel-to-pixel variation than before.
    assert np.abs(np.diff(background_pixels(result).astype(int), axis=0)).mean() < 0.5 * np.abs(
        np.diff(background_pixels(source).astype(int), axis=0)).mean()
    alpha = cv2.imread(str(mask), cv2.IMREAD_UNCHANGED)
    assert alpha.shape == (96, 128) and person_pixels(alpha).min() > 200 and background_pixels(alpha).max() < 40


# --- video ------------------------------------------------------------------------------------


def test_video_keeps_size_rate_and_count_and_changes_the_background(capsys, tmp_path, tiny, clip):
    out = tmp_path / "out.mp4"
    code, stdout, _ = run_cli(capsys, "video", clip, "-o", out, "--model", tiny, "--effect", "color")
    assert code == 0 and f"{FRAMES} frames, 128x96 at 12 fps" in stdout and "two-stage pipeline" in stdout
    source, _ = read_clip(clip)
    frames, fps = read_clip(out)
    assert len(frames) == FRAMES and fps == pytest.approx(12.0) and frames[0].shape == (96, 128, 3)
    for i, (before, after) in enumerate(zip(source, frames)):
        assert np.abs(background_pixels(after, i).astype(int) - GREEN_BGR).mean() < 12, f"frame {i}"
        assert np.abs(person_pixels(after, i).astype(int) - person_pixels(before, i)).mean() < 12, f"frame {i}"


def test_the_pipeline_writes_the_same_frames_as_the_plain_loop(capsys, tmp_path, tiny, clip):
    piped, plain = tmp_path / "piped.avi", tmp_path / "plain.avi"
    assert run_cli(capsys, "video", clip, "-o", piped, "--model", tiny, "--temporal", "0.5")[0] == 0
    code, stdout, _ = run_cli(capsys, "video", clip, "-o", plain, "--model", tiny, "--temporal", "0.5", "--no-pipeline")
    assert code == 0 and "one frame at a time" in stdout
    a, b = read_clip(piped)[0], read_clip(plain)[0]
    assert len(a) == len(b) == FRAMES
    # Same frames in the same order: temporal smoothing would differ if the pipeline reordered them.
    for i in range(FRAMES):
        np.testing.assert_array_equal(a[i], b[i])


def test_the_pipeline_decodes_ahead_at_lower_priority_and_leaves_no_thread_behind():
    from fastseg.commands.pipeline import DECODE_NICE, segmented

    class Masker:
        def process(self, frame, effect):
            return frame[..., 0].copy()

    decoders = []

    def frames():
        for i in range(20):
            decoders.append((threading.current_thread().name, os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
            yield np.full((8, 8, 3), i, np.uint8)

    with contextlib.closing(segmented(frames(), Masker(), pipelined=True)) as pairs:
        got = [int(alpha[0, 0]) for _, (_, alpha) in zip(range(5), pairs)]  # stop early, as on an error
    assert got == [0, 1, 2, 3, 4]
    assert {name for name, _ in decoders} == {"fastseg-decode"}
    if sys.platform.startswith("linux"):
        assert {nice for _, nice in decoders} == {min(19, os.getpriority(os.PRIO_PROCESS, 0) + DECODE_NICE)}
    assert not [t for t in threading.enumerate() if t.name.startswith("fastseg-")]


def test_video_background_may_be_a_looped_video(capsys, tmp_path, tiny, clip):
    colours = [(0, 0, 255), (0, 255, 0), (255, 0, 0), (255, 255, 0), (0, 255, 255)]  # BGR
    backdrop = write_clip(tmp_path / "backdrop.avi", [np.full((48, 64, 3), c, np.uint8) for c in colours])
    out = tmp_path / "out.mp4"
    assert run_cli(capsys, "video", clip, "-o", out, "--model", tiny, "--background", backdrop)[0] == 0
    frames, _ = read_clip(out)
    assert len(frames) == FRAMES
    for i, frame in enumerate(frames):
        seen = np.median(background_pixels(frame, i), axis=0)
        assert np.abs(seen - colours[i % len(colours)]).max() < 40, f"frame {i}: {seen}"


def test_video_mask_effect_is_grey(capsys, tmp_path, tiny, clip):
    out = tmp_path / "mask.avi"
    assert run_cli(capsys, "video", clip, "-o", out, "--model", tiny, "--effect", "mask")[0] == 0
    frames, _ = read_clip(out)
    assert len(frames) == FRAMES
    assert person_pixels(frames[3], 3).min() > 180 and background_pixels(frames[3], 3).max() < 60


def test_truncated_video_stops_with_an_error_and_a_playable_output(capsys, tmp_path, tiny):
    whole = write_clip(tmp_path / "whole.avi", person_frames(30))
    data = whole.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out.mp4"
    code, _, err = run_cli(capsys, "video", cut, "-o", out, "--model", tiny)
    assert_one_line_error(code, err, "of 30 frames", "truncated or corrupt")
    done = int(err.split("ended after ")[1].split(" ")[0])
    frames, _ = read_clip(out)
    assert 0 < done < 30 and len(frames) == done


def test_video_with_background_subtraction(capsys, tmp_path, clip):
    out = tmp_path / "out.mp4"
    code, _, err = run_cli(capsys, "video", clip, "-o", out, "--method", "bgsub", "--effect", "mask")
    if not hasattr(fastseg, "BackgroundSubtractor"):
        assert_one_line_error(code, err, "BackgroundSubtractor")
        return
    assert code == 0 and len(read_clip(out)[0]) == FRAMES


# --- bench and models -------------------------------------------------------------------------


def test_bench_prints_stage_times_at_the_three_sizes_and_the_pipeline_comparison(capsys, tiny, clip):
    code, out, _ = run_cli(capsys, "bench", "--model", tiny, "--frames", "2", "--video", clip, "--repeat", "1")
    assert code == 0
    header, *rows = out.strip().splitlines()
    assert header.split() == ["model", "size", "preprocess", "inference", "postprocess", "composite", "total", "fps"]
    # The default model first, then each --model, at the three sizes; then their pipeline lines.
    assert [r.split()[:2] for r in rows[:6]] == [
        [name, size] for name in (f"{models.DEFAULT_MODEL}(default)", "tiny") for size in ("640x480", "1280x720", "1920x1080")
    ]
    assert all(float(r.split()[-1]) > 0 for r in rows[:6])
    assert all("one frame at a time" in r and "two-stage pipeline" in r and f"{FRAMES} frames" in r for r in rows[6:8])


def test_models_lists_every_registered_spec(capsys):
    code, out, _ = run_cli(capsys, "models")
    assert code == 0
    listed = {line.split()[0] for line in out.splitlines()[1:]}
    assert set(models.REGISTRY) <= listed
    code, out, _ = run_cli(capsys, "models", "--json")
    specs = json.loads(out)
    assert specs["sinet"]["spec"]["output_kind"] == "logits2" and specs["modnet"]["spec"]["size"] is None


# --- on ../shared -----------------------------------------------------------------------------


@pytest.mark.shared
@pytest.mark.skipif(not SHARED_MODEL.is_file() or not SHARED_VIDEOS.is_dir(), reason="../shared models or videos absent")
def test_video_on_a_real_clip_with_a_real_model(capsys, tmp_path):
    clip = SHARED_VIDEOS / "asl_gestures" / "again.mkv"
    out = tmp_path / "again.mp4"
    code, _, _ = run_cli(capsys, "video", clip, "-o", out, "--model", SHARED_MODEL, "--background", "green")
    assert code == 0
    source, fps = read_clip(clip)
    frames, out_fps = read_clip(out)
    assert len(frames) == len(source) and frames[0].shape == source[0].shape == (480, 640, 3)
    assert out_fps == pytest.approx(fps, rel=1e-3)
    with fastseg.Segmenter("mediapipe_selfie_landscape", path=SHARED_MODEL) as segmenter:
        alpha = segmenter.process(source[40], "mask")
    background, person = alpha < 20, alpha > 235
    assert background.mean() > 0.3 and person.mean() > 0.05
    change = np.abs(frames[40].astype(int) - source[40]).mean(axis=2)
    # Green where the model sees background, the signer left as filmed (up to the codec).
    assert np.abs(frames[40][background].astype(int) - GREEN_BGR).mean() < 15
    assert change[person].mean() < 10 < change[background].mean()


SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "asl_book.mp4"


@pytest.mark.skipif(not SAMPLE.is_file(), reason="the repository's samples/ folder is absent (installed wheel)")
def test_the_quickstart_command_blurs_the_sample_with_the_built_in_model(capsys, tmp_path):
    out = tmp_path / "out.mp4"
    code, stdout, _ = run_cli(capsys, "video", SAMPLE, "-o", out, "--effect", "blur")
    source, fps = read_clip(SAMPLE)
    frames, out_fps = read_clip(out)
    assert code == 0 and f"{len(source)} frames" in stdout and "frames/s" in stdout
    assert len(frames) == len(source) and frames[0].shape == source[0].shape and out_fps == pytest.approx(fps, rel=1e-3)
    with fastseg.Segmenter() as segmenter:
        alpha = segmenter.process(source[50], "mask")
    background, person = alpha < 20, alpha > 235
    assert background.mean() > 0.2 and person.mean() > 0.05
    change = np.abs(frames[50].astype(int) - source[50]).mean(axis=2)
    detail = lambda frame: np.abs(cv2.Laplacian(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.CV_32F))  # noqa: E731
    before, after = detail(source[50]), detail(frames[50])
    # Blurred where the built-in model sees background, the signer kept (up to the codec).
    assert change[background].mean() > 3 * change[person].mean()
    assert after[background].mean() < 0.75 * before[background].mean()
    assert after[person].mean() > 0.9 * before[person].mean()


# The core install has no pillow, scipy, albumentations, torch or onnx (extras): the CLI and the
# Quickstart's job must not import them. A fresh `pip install .` once failed exactly so.
EXTRAS_ONLY = ("PIL", "scipy", "albumentations", "torch", "onnx")


@pytest.mark.skipif(not SAMPLE.is_file(), reason="the repository's samples/ folder is absent (installed wheel)")
def test_the_quickstart_runs_without_the_extras_libraries(tmp_path):
    import subprocess

    out = tmp_path / "out.mp4"
    script = (
        "import sys\n"
        f"for name in {EXTRAS_ONLY!r}:\n"
        "    sys.modules[name] = None  # any import of it now raises ImportError\n"
        "from fastseg.cli import main\n"
        f"sys.exit(main(['video', {str(SAMPLE)!r}, '-o', {str(out)!r}, '--effect', 'blur']))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(read_clip(out)[0]) == len(read_clip(SAMPLE)[0])


def test_a_data_tool_without_its_extra_names_the_extra(monkeypatch, tmp_path):
    from fastseg.data import readers

    monkeypatch.setitem(sys.modules, "PIL", None)
    monkeypatch.setitem(sys.modules, "PIL.Image", None)
    with pytest.raises(ImportError, match=r"needs pillow: pip install 'fastseg\[data\]'"):
        readers.read_image(tmp_path / "photo.jpg")


def test_data_build_without_its_extra_says_which_extra(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "PIL", None)
    code, _, stderr = run_cli(capsys, "data", "build", tmp_path, "--out", tmp_path / "out")
    assert code == 2 and "needs pillow: pip install 'fastseg[data]'" in stderr
    assert not (tmp_path / "out").exists()
