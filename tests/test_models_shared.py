"""The six third-party models in ../shared/models through fastseg vs a plain implementation.

Each reference below is onnxruntime ``session.run`` plus the model's documented pre- and
post-processing (../shared/models/README.md) written with numpy/OpenCV: area resize, colour
order, normalisation, layout; activation, bilinear resize to the photo, threshold 0.5. fastseg's
thresholded ``Segmenter.mask`` must agree with it (IoU >= 0.99) on real photos.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, List, Tuple

import cv2
import numpy as np
import onnxruntime as ort
import pytest

import fastseg

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
MODELS = SHARED / "models"
DATA = SHARED / "data"
PHOTO_DIRS = [DATA / "human_seg" / "Training_Images", DATA / "voc_person" / "JPEGImages"]
PHOTOS_PER_DIR = 12
MIN_SIDE = 320  # fastseg upsamples the mask; the fixed-size models are at most 320 px
MIN_PERSON_AREA = 0.01

pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(not MODELS.is_dir() or not DATA.is_dir(), reason="../shared models or data absent"),
]


def real_photos() -> List[Tuple[str, np.ndarray]]:
    """Every k-th photo of each folder with both sides >= MIN_SIDE, PHOTOS_PER_DIR per folder."""
    photos = []
    for folder in PHOTO_DIRS:
        paths = sorted(folder.glob("*.jpg"))
        picked = []
        for path in paths[:: max(1, len(paths) // (4 * PHOTOS_PER_DIR))]:
            image = cv2.imread(str(path))
            if image is not None and min(image.shape[:2]) >= MIN_SIDE:
                picked.append((path.name, image))
            if len(picked) == PHOTOS_PER_DIR:
                break
        photos += picked
    return photos


@pytest.fixture(scope="module")
def photos() -> List[Tuple[str, np.ndarray]]:
    found = real_photos()
    assert len(found) >= 20, f"need >= 20 photos, found {len(found)}"
    return found


# --- references: the README's documented pre/post-processing --------------------------------


def session(name: str) -> ort.InferenceSession:
    return ort.InferenceSession(str(MODELS / f"{name}.onnx"), providers=["CPUExecutionProvider"])


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Area resize in float: rounding to uint8 here would add up to 0.5 grey level of noise."""
    return cv2.resize(image.astype(np.float32), (width, height), interpolation=cv2.INTER_AREA)


def to_photo(prob: np.ndarray, photo: np.ndarray) -> np.ndarray:
    return cv2.resize(prob.astype(np.float32), (photo.shape[1], photo.shape[0]), interpolation=cv2.INTER_LINEAR)


def dynamic_size(photo: np.ndarray, short_side: int) -> Tuple[int, int]:
    """Aspect kept, short side scaled to short_side, each side floored to a multiple of 32."""
    height, width = photo.shape[:2]
    scale = short_side / min(height, width)
    return int(height * scale) // 32 * 32, int(width * scale) // 32 * 32


def mediapipe_reference(name: str, size: Tuple[int, int]) -> Callable[[np.ndarray], np.ndarray]:
    sess = session(name)
    input_name, output_name = sess.get_inputs()[0].name, sess.get_outputs()[0].name

    def run(photo: np.ndarray) -> np.ndarray:
        rgb = cv2.cvtColor(resize(photo, *size), cv2.COLOR_BGR2RGB) / 255.0
        prob = sess.run([output_name], {input_name: rgb[None]})[0][0, :, :, 0]  # NHWC, sigmoid already
        return to_photo(prob, photo)

    return run


def sinet_reference() -> Callable[[np.ndarray], np.ndarray]:
    sess = session("sinet")
    mean = np.array([102.890434, 111.25247, 126.91212], np.float32)
    std = np.array([62.93292, 62.82138, 66.355705], np.float32) * 255

    def run(photo: np.ndarray) -> np.ndarray:
        bgr = (resize(photo, 320, 320) - mean) / std
        logits = sess.run(["classifier/1"], {"data": bgr.transpose(2, 0, 1)[None]})[0][0]
        exp = np.exp(logits - logits.max(axis=0))
        return to_photo(exp[1] / exp.sum(axis=0), photo)  # softmax, channel 1 = person

    return run


def rgb_nchw(photo: np.ndarray, height: int, width: int, mean: float, std: float) -> np.ndarray:
    rgb = cv2.cvtColor(resize(photo, height, width), cv2.COLOR_BGR2RGB)
    return ((rgb - mean) / std).transpose(2, 0, 1)[None].copy()


def prisma_reference() -> Callable[[np.ndarray], np.ndarray]:
    sess = session("prisma_net")

    def run(photo: np.ndarray) -> np.ndarray:
        prob = sess.run(["permute_2"], {"input_3": rgb_nchw(photo, 256, 256, 0.0, 255.0)})[0][0, 0]
        return to_photo(prob, photo)

    return run


def modnet_reference(short_side: int) -> Callable[[np.ndarray], np.ndarray]:
    sess = session("modnet")

    def run(photo: np.ndarray) -> np.ndarray:
        height, width = dynamic_size(photo, short_side)
        matte = sess.run(["output"], {"input": rgb_nchw(photo, height, width, 127.5, 127.5)})[0][0, 0]
        return to_photo(matte, photo)

    return run


def rvm_reference(short_side: int) -> Callable[[np.ndarray], np.ndarray]:
    sess = session("rvm_mobilenetv3")
    zeros = np.zeros((1, 1, 1, 1), np.float32)  # the documented initial recurrent state

    def run(photo: np.ndarray) -> np.ndarray:
        height, width = dynamic_size(photo, short_side)
        ratio = np.array([min(1.0, 512 / max(height, width))], np.float32)  # RVM's auto_downsample_ratio
        feeds = {"src": rgb_nchw(photo, height, width, 0.0, 255.0), "downsample_ratio": ratio}
        feeds.update({f"r{i}i": zeros for i in range(1, 5)})
        pha = sess.run(["pha"], feeds)[0][0, 0]
        return to_photo(pha, photo)

    return run


# Slow models run at a small input size; fastseg is given the same size.
DYNAMIC_SHORT_SIDE = {"modnet": 256, "rvm_mobilenetv3": 256}

REFERENCES: Dict[str, Callable[[], Callable[[np.ndarray], np.ndarray]]] = {
    "mediapipe_selfie": lambda: mediapipe_reference("mediapipe_selfie", (256, 256)),
    "mediapipe_selfie_landscape": lambda: mediapipe_reference("mediapipe_selfie_landscape", (144, 256)),
    "sinet": sinet_reference,
    "prisma_net": prisma_reference,
    "modnet": lambda: modnet_reference(DYNAMIC_SHORT_SIDE["modnet"]),
    "rvm_mobilenetv3": lambda: rvm_reference(DYNAMIC_SHORT_SIDE["rvm_mobilenetv3"]),
}


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


@pytest.mark.parametrize("name", list(REFERENCES))
def test_fastseg_mask_matches_the_documented_reference(name, photos):
    path = MODELS / f"{name}.onnx"
    if not path.is_file():
        pytest.skip(f"{path} absent")
    reference = REFERENCES[name]()
    intersection = union = 0
    per_photo = {}
    with fastseg.Segmenter(name, path=path, short_side=DYNAMIC_SHORT_SIDE.get(name)) as seg:
        for photo_name, photo in photos:
            seg.reset()  # each photo starts from a fresh state, like the reference
            ours, theirs = seg.mask(photo) > 0.5, reference(photo) > 0.5
            intersection += np.logical_and(ours, theirs).sum()
            union += np.logical_or(ours, theirs).sum()
            # Below 1% of the photo a few edge pixels swing the ratio: those count in the total only.
            if theirs.mean() >= MIN_PERSON_AREA:
                per_photo[photo_name] = iou(ours, theirs)
    total = intersection / union
    worst = min(per_photo, key=per_photo.get)
    print(f"{name}: IoU {total:.4f} over {len(photos)} photos, worst {per_photo[worst]:.4f} ({worst})")
    assert total >= 0.99, f"{name}: IoU {total:.4f} over {len(photos)} photos"
    assert per_photo[worst] >= 0.99, f"{name}: photo {worst} has IoU {per_photo[worst]:.4f}"


def test_a_real_model_under_another_spec_is_refused():
    with pytest.raises(ValueError, match=r"does not match spec 'sinet': expected input 'data', not found") as info:
        fastseg.Segmenter("sinet", path=MODELS / "mediapipe_selfie.onnx")
    assert "Found inputs: input_1:0 [1, 256, 256, 3] tensor(float)" in str(info.value)


def test_rvm_without_its_recurrent_spec_is_refused():
    spec = fastseg.models.REGISTRY["modnet"]
    with pytest.raises(ValueError, match=r"expected input 'input', not found.*feeds no value to input\(s\)"):
        fastseg.Segmenter(spec, path=MODELS / "rvm_mobilenetv3.onnx")


def test_the_default_model_segments_labelled_people():
    """fastseg's shipped default against human labels (not against another model): pooled IoU
    over every 20th human_seg photo. The model card's figures are on the held-out val split;
    this floor only catches a broken or mis-fed model (a blank or inverted mask scores < 0.3)."""
    labels = DATA / "human_seg" / "Ground_Truth"
    pairs = [(DATA / "human_seg" / "Training_Images" / f"{p.stem}.jpg", p) for p in sorted(labels.glob("*.png"))[::20]]
    intersection = union = 0
    with fastseg.Segmenter() as seg:
        for image_path, label_path in pairs:
            seg.reset()
            image, label = cv2.imread(str(image_path)), cv2.imread(str(label_path), cv2.IMREAD_GRAYSCALE)
            # Some labels were drawn on a scaled copy of their photo.
            truth = cv2.resize(label, image.shape[1::-1], interpolation=cv2.INTER_NEAREST) > 127
            ours = seg.mask(image) > 0.5
            intersection += np.logical_and(ours, truth).sum()
            union += np.logical_or(ours, truth).sum()
    print(f"{fastseg.models.DEFAULT_MODEL}: IoU {intersection / union:.4f} over {len(pairs)} human_seg photos")
    assert len(pairs) >= 10 and intersection / union >= 0.7
