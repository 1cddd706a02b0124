"""fastseg.train: the network's shapes and size, a few training steps learn, resume is exact,
the ONNX export runs in Segmenter like torch, and `fastseg eval` prints its table. Everything
runs on a handful of 64-px images made here, so the whole file takes seconds."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fastseg.data import layout  # noqa: E402
from fastseg.train.model import FastSegNet, ModelConfig, parameter_count  # noqa: E402

TINY_MODEL = {"stem": 8, "stages": [[8, 1, 2], [16, 1, 2], [16, 1, 2]], "decoder": [16, 8, 8]}
PRIOR_AT_STRIDE_2 = {"prev_mask": True, "head": "bilinear", "prior_stride": 2}


def person_image(rng: np.random.Generator, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """A bright ellipse ("person") on a dark noisy background, and its mask."""
    yy, xx = np.mgrid[0:size, 0:size]
    cy, cx, ry, rx = rng.uniform(0.4, 0.6) * size, rng.uniform(0.3, 0.7) * size, size * 0.35, size * 0.2
    mask = (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1).astype(np.uint8) * 255
    image = rng.integers(0, 80, (size, size, 3)).astype(np.uint8)
    image[mask > 0] = rng.integers(150, 255, 3)
    return image, mask


def write_tiny_dataset(root: Path, count: int = 12, source: str = "tiny") -> Path:
    rng = np.random.default_rng(0)
    records = []
    for i in range(count):
        image, mask = person_image(rng)
        item_id = f"{source}-{i:03d}"
        files = {"image": layout.encode_jpeg(image), "mask": layout.encode_png(mask)}
        for kind, data in files.items():
            layout.write_atomic(layout.OUTPUT_PATHS[kind](root, item_id), data)
        records.append({"id": item_id, "source": source, "split": "val" if i % 4 == 0 else "train", "height": 64,
                        "width": 64, "person_fraction": layout.person_fraction(mask),
                        "sha256": {k: layout.sha256(v) for k, v in files.items()}})
    layout.write_manifest(root, records)
    return root


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory) -> Path:
    return write_tiny_dataset(tmp_path_factory.mktemp("tiny"))


def tiny_config(dataset: Path, out: Path, **overrides):
    from fastseg.train.loop import TrainConfig

    data = dict(name="tiny", out=str(out), datasets=[{"root": str(dataset)}], val=str(dataset), size=(64, 64),
                model=TINY_MODEL, epochs=2, batch_size=4, lr=0.01, warmup_epochs=0.5, max_side=64, workers=0, threads=1)
    data.update(overrides)
    return TrainConfig(**data)


# --- the network ----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(144, 256), (192, 192)])
@pytest.mark.parametrize("prev_mask", [False, True])
@pytest.mark.parametrize("head", ["transposed", "bilinear"])
@pytest.mark.parametrize("decoder_up", ["transposed", "bilinear"])
def test_model_output_matches_input_size(size, prev_mask, head, decoder_up):
    model = FastSegNet(ModelConfig(prev_mask=prev_mask, head=head, decoder_up=decoder_up)).eval()
    x = torch.zeros(2, 4 if prev_mask else 3, *size)
    assert model(x).shape == (2, 1, *size)


def test_default_model_is_small():
    # 250k float parameters is 1 MB of ONNX: the size budget of a shipped model.
    assert 30_000 < parameter_count(FastSegNet()) < 250_000


@pytest.mark.parametrize("config", sorted((Path(__file__).parents[1] / "configs").glob("*.json")), ids=lambda p: p.stem)
def test_every_config_in_the_repo_builds_its_model(config):
    from fastseg.train.loop import TrainConfig

    train = TrainConfig.load(config)
    model = FastSegNet(ModelConfig.from_dict(train.model)).eval()
    assert model(torch.zeros(1, model.config.in_channels, *train.size)).shape == (1, 1, *train.size)
    # The ONNX file must stay under 1 MB: 250k weights at float32, 480k with `--half-weights`
    # (2 bytes a weight, plus the graph); a config above 250k ships only with half weights.
    assert parameter_count(model) < 480_000


def test_the_bilinear_head_has_no_checkerboard():
    """A feature map constant over the image gives a constant mask (away from the border) with
    the bilinear head; the transposed head's four kernel positions repeat in 2x2 blocks."""
    torch.manual_seed(0)
    for head, periodic in (("transposed", True), ("bilinear", False)):
        model = FastSegNet(ModelConfig(head=head)).eval()
        with torch.no_grad():
            logits = model.head(torch.ones(1, model.ups[-1].refine[-1][0].out_channels, 8, 8))[0, 0, 2:-2, 2:-2]
        assert (logits.std() > 1e-3) == periodic, head


def test_an_unknown_head_is_refused():
    with pytest.raises(ValueError, match="head must be"):
        FastSegNet(ModelConfig(head="pixelshuffle"))
    with pytest.raises(ValueError, match="decoder_up must be"):
        FastSegNet(ModelConfig(decoder_up="nearest"))


def test_channels_must_be_multiples_of_eight():
    with pytest.raises(ValueError, match="multiple of 8"):
        FastSegNet(ModelConfig(stem=12))


@pytest.mark.parametrize("config, problem", [
    ({"prior_stride": 3, "prev_mask": True, "head": "bilinear"}, "prior_stride must be 1 or 2"),
    ({"prior_stride": 2, "prev_mask": False, "head": "bilinear"}, "needs prev_mask"),
    ({"prior_stride": 2, "prev_mask": True, "head": "transposed"}, "bilinear head"),
])
def test_a_prior_at_stride_two_needs_a_prior_and_the_bilinear_head(config, problem):
    with pytest.raises(ValueError, match=problem):
        FastSegNet(ModelConfig(**config))


def test_stride_two_logits_are_the_full_logits_before_their_last_resize():
    torch.manual_seed(0)
    model = FastSegNet(ModelConfig.from_dict({**TINY_MODEL, **PRIOR_AT_STRIDE_2})).eval()
    image, prior = torch.randn(1, 3, 64, 64), torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        full = model(torch.cat([image, prior], 1))
        half = model.forward_stride2(image, torch.nn.functional.avg_pool2d(prior, 2))
    assert half.shape == (1, 1, 32, 32)
    torch.testing.assert_close(full, torch.nn.functional.interpolate(half, scale_factor=2, mode="bilinear"))


# --- training ---------------------------------------------------------------------------------------


def test_warm_start_turns_a_model_into_a_prev_mask_model_that_starts_unchanged(tmp_path):
    from fastseg.train.loop import warm_start

    torch.manual_seed(0)
    still = FastSegNet(ModelConfig.from_dict(TINY_MODEL)).eval()
    torch.save({"model": still.state_dict()}, tmp_path / "still.pt")
    temporal = FastSegNet(ModelConfig.from_dict({**TINY_MODEL, "prev_mask": True})).eval()
    warm_start(temporal, tmp_path / "still.pt")
    image, prior = torch.randn(2, 3, 64, 64), torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        # The prior's weights start at zero: any prior gives the still model's output.
        assert torch.equal(temporal(torch.cat([image, prior], 1)), still(image))
    assert temporal.stem[0].weight[:, 3].abs().sum() == 0


def test_warm_start_turns_transposed_steps_into_bilinear_ones_of_their_mean(tmp_path):
    """The head and every decoder step: each 2x2 block of the transposed convolution's output
    averages to the 1x1 convolution's output (the same mask, without the 2x2 checkerboard)."""
    from fastseg.train.loop import warm_start

    torch.manual_seed(0)
    transposed = FastSegNet(ModelConfig.from_dict(TINY_MODEL)).eval()
    torch.save({"model": transposed.state_dict()}, tmp_path / "t.pt")
    bilinear = FastSegNet(ModelConfig.from_dict({**TINY_MODEL, "head": "bilinear", "decoder_up": "bilinear"})).eval()
    warm_start(bilinear, tmp_path / "t.pt")
    widths = [TINY_MODEL["stages"][-1][0], *TINY_MODEL["decoder"]]
    pairs = [(old.up[0], new.up[0]) for old, new in zip(transposed.ups, bilinear.ups)] + [(transposed.head, bilinear.head[0])]
    for (old, new), width in zip(pairs, widths):
        features = torch.randn(1, width, 8, 8)
        with torch.no_grad():
            block_means = torch.nn.functional.avg_pool2d(old(features), 2)
            assert torch.allclose(new(features), block_means, atol=1e-5)


def test_warm_start_deepens_the_encoder_and_moves_the_prior_to_stride_two(tmp_path):
    from fastseg.train.loop import warm_start

    torch.manual_seed(0)
    before = FastSegNet(ModelConfig.from_dict({**TINY_MODEL, "prev_mask": True, "head": "bilinear"})).eval()
    for bn in (m for m in before.modules() if isinstance(m, torch.nn.BatchNorm2d)):  # not the identity of a fresh model
        bn.running_mean.uniform_(-0.5, 0.5), bn.running_var.uniform_(0.5, 2.0), bn.weight.data.uniform_(0.5, 2.0)
    torch.save({"model": before.state_dict()}, tmp_path / "before.pt")
    deeper = {**TINY_MODEL, "stages": [[8, 1, 2], [16, 1, 2], [16, 3, 2]], **PRIOR_AT_STRIDE_2}
    after = FastSegNet(ModelConfig.from_dict(deeper)).eval()
    warm_start(after, tmp_path / "before.pt")
    image = torch.randn(2, 3, 64, 64)
    smooth_prior = torch.nn.functional.interpolate(torch.rand(2, 1, 4, 4), size=(64, 64), mode="bilinear")
    with torch.no_grad():
        # The new blocks pass their input through; an empty prior gives exactly the old output.
        empty = torch.cat([image, torch.zeros_like(smooth_prior)], 1)
        torch.testing.assert_close(after(empty), before(empty))
        # A smooth prior seen at stride 2 through the summed 3x3 weights: nearly the old response.
        x = torch.cat([image, smooth_prior], 1)
        assert ((after(x) > 0) == (before(x) > 0)).float().mean() > 0.98
    # Anything else missing from the checkpoint is an error, not a silently random layer.
    torch.save({"model": {k: v for k, v in before.state_dict().items() if not k.startswith("context.")}}, tmp_path / "cut.pt")
    with pytest.raises(ValueError, match="nothing to start 'context"):
        warm_start(FastSegNet(ModelConfig.from_dict(deeper)), tmp_path / "cut.pt")


def test_warm_start_widens_depthwise_kernels_without_changing_the_output(tmp_path):
    from fastseg.train.loop import warm_start

    torch.manual_seed(0)
    small = FastSegNet(ModelConfig.from_dict(TINY_MODEL)).eval()
    torch.save({"model": small.state_dict()}, tmp_path / "k3.pt")
    wide = FastSegNet(ModelConfig.from_dict({**TINY_MODEL, "stages": [[8, 1, 2], [16, 1, 2], [16, 1, 2, 5]]})).eval()
    assert wide.stages[2][0].body[1][0].kernel_size == (5, 5)
    warm_start(wide, tmp_path / "k3.pt")
    image = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(wide(image), small(image))


def test_warm_start_adds_open_squeeze_excitation_gates_to_the_blocks(tmp_path):
    from fastseg.train.loop import warm_start

    torch.manual_seed(0)
    plain = FastSegNet(ModelConfig.from_dict(TINY_MODEL)).eval()
    torch.save({"model": plain.state_dict()}, tmp_path / "plain.pt")
    gated = FastSegNet(ModelConfig.from_dict({**TINY_MODEL, "block_se": 2})).eval()
    assert [block.se is not None for stage in gated.stages for block in stage] == [False, True, True]
    warm_start(gated, tmp_path / "plain.pt")
    image = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        block = gated.stages[2][0]
        gate = block.se.gate(block.body[:-1](gated.stages[1](gated.stages[0](gated.stem(image)))))
        assert torch.all((gate > 0.998) & (gate < 1.0))  # open, yet not where the hard sigmoid stops learning
        torch.testing.assert_close(torch.sigmoid(gated(image)), torch.sigmoid(plain(image)), atol=0.01, rtol=0)
    loss = gated(image).mean()
    loss.backward()
    assert gated.stages[2][0].se.gate[3].weight.grad.abs().sum() > 0  # the gate learns


def test_warm_start_adds_open_gates_to_the_decoder_steps(tmp_path):
    from fastseg.train.loop import warm_start

    torch.manual_seed(0)
    plain = FastSegNet(ModelConfig.from_dict(TINY_MODEL)).eval()
    torch.save({"model": plain.state_dict()}, tmp_path / "plain.pt")
    gated = FastSegNet(ModelConfig.from_dict({**TINY_MODEL, "decoder_se": 3})).eval()
    assert all(up.se is not None for up in gated.ups) and all(up.se is None for up in plain.ups)
    warm_start(gated, tmp_path / "plain.pt")
    image = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(torch.sigmoid(gated(image)), torch.sigmoid(plain(image)), atol=0.01, rtol=0)
    gated(image).mean().backward()
    assert all(up.se.gate[3].weight.grad.abs().sum() > 0 for up in gated.ups)  # the gates learn


def test_warm_start_adds_skip_gates_that_start_as_the_plain_add_and_learn(tmp_path):
    from fastseg.train.loop import warm_start

    torch.manual_seed(0)
    plain = FastSegNet(ModelConfig.from_dict(TINY_MODEL)).eval()
    torch.save({"model": plain.state_dict()}, tmp_path / "plain.pt")
    gated = FastSegNet(ModelConfig.from_dict({**TINY_MODEL, "skip_gate": 2})).eval()
    assert [up.skip_gate is not None for up in gated.ups] == [True, True, False]  # the coarsest two
    warm_start(gated, tmp_path / "plain.pt")
    image = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(gated(image), plain(image))
    gated(image).mean().backward()
    assert all(up.skip_gate.weight.grad.abs().sum() > 0 for up in gated.ups[:2])  # the gates learn
    with torch.no_grad():  # and once they have, they change the mask
        gated.ups[1].skip_gate.bias.fill_(-2.0)
        assert not torch.allclose(gated(image), plain(image))


@pytest.mark.parametrize("field", ["block_se", "decoder_se", "skip_gate"])
@pytest.mark.parametrize("count", [-1, 4])
def test_gate_counts_are_counts_of_stages(field, count):
    with pytest.raises(ValueError, match=f"{field} counts"):
        FastSegNet(ModelConfig.from_dict({**TINY_MODEL, field: count}))


@pytest.mark.parametrize("stage", [[16, 1, 2, 4], [16, 1, 2, 5, 1], [16, 1]])
def test_a_stage_kernel_must_be_three_or_five(stage):
    with pytest.raises(ValueError, match="kernel 3 or 5"):
        FastSegNet(ModelConfig.from_dict({**TINY_MODEL, "stages": [[8, 1, 2], [16, 1, 2], stage]}))


def test_several_teachers_give_the_mean_of_their_cached_masks(tiny_dataset, tmp_path):
    from fastseg.train.dataset import load_items
    from fastseg.train.teacher import soft_target_path

    first = load_items(tiny_dataset, "train", 64)[0]
    for cache, value in (("a", 40), ("b", 201)):
        layout.write_atomic(soft_target_path(tmp_path / cache, first.id), layout.encode_png(np.full((64, 64), value, np.uint8)))
    both = load_items(tiny_dataset, "train", 64, [tmp_path / "a", tmp_path / "b"])
    one = load_items(tiny_dataset, "train", 64, [tmp_path / "b", tmp_path / "missing"])
    assert np.all(both[0].soft == 120) and np.all(one[0].soft == 201)  # round((40 + 201) / 2); the one cache that has it
    assert both[1].soft is None  # no teacher cached this item


def test_a_teacher_margin_drops_the_teacher_that_misses_the_labelled_person(tiny_dataset, tmp_path):
    from fastseg.train.dataset import load_items
    from fastseg.train.teacher import soft_target_path

    first = load_items(tiny_dataset, "train", 64)[0]
    right = np.where(first.mask >= 128, 230, 10).astype(np.uint8)  # the label, softened
    half = right.copy()
    half[:, 32:] = 10  # misses the person's right half
    for cache, plane in (("right", right), ("half", half), ("empty", np.zeros_like(right))):
        layout.write_atomic(soft_target_path(tmp_path / cache, first.id), layout.encode_png(plane))
    caches = [tmp_path / "right", tmp_path / "half", tmp_path / "empty"]
    strict = load_items(tiny_dataset, "train", 64, caches, teacher_margin=0.05)[0]
    loose = load_items(tiny_dataset, "train", 64, caches, teacher_margin=1.0)[0]
    assert np.array_equal(strict.soft, right)  # the other two are far from the label
    assert np.array_equal(loose.soft, np.round(np.mean([right, half, np.zeros_like(right)], axis=0)).astype(np.uint8))


def test_a_dataset_needs_one_teacher_cache_per_teacher(tiny_dataset, tmp_path):
    from fastseg.train.loop import prepare_teachers

    teachers = [{"name": "a", "path": "a.onnx"}, {"name": "b", "path": "b.onnx"}]
    config = tiny_config(tiny_dataset, tmp_path / "run", teacher=teachers,
                         datasets=[{"root": str(tiny_dataset), "teacher_cache": str(tmp_path / "only_one")}])
    with pytest.raises(ValueError, match="1 teacher caches for 2 teachers"):
        prepare_teachers(config, progress=False)


def test_a_dataset_can_repeat_one_source(tmp_path):
    from fastseg.train.loop import load_train_items

    root = write_tiny_dataset(tmp_path / "two", count=8, source="rare")
    other = write_tiny_dataset(tmp_path / "other", count=8, source="common")
    datasets = [{"root": str(root), "repeat": {"rare": 3}}, {"root": str(other)}]
    items = load_train_items(tiny_config(root, tmp_path / "run", datasets=datasets))
    counts = {s: sum(i.source == s for i in items) for s in ("rare", "common")}
    assert counts == {"rare": 3 * 6, "common": 6}  # 6 of 8 items are train
    datasets[0]["repeat"] = {"rare": 1.5}
    with pytest.raises(ValueError, match="repeat of 'rare' must be a whole number"):
        load_train_items(tiny_config(root, tmp_path / "run", datasets=datasets))


def test_nearest_shape_goes_by_the_aspect_on_a_log_scale():
    from fastseg.train.dataset import nearest_shape

    shapes = [(144, 256), (160, 224), (192, 192), (224, 160), (256, 144)]
    assert nearest_shape(1080, 1920, shapes) == (144, 256)
    assert nearest_shape(480, 640, shapes) == (160, 224)
    assert nearest_shape(825, 550, shapes) == (224, 160)  # 2:3 portrait
    assert nearest_shape(500, 500, shapes) == (192, 192)
    assert nearest_shape(1920, 1080, shapes) == (256, 144)
    assert nearest_shape(100, 1000, shapes) == (144, 256)  # wider than any: the widest


def test_shape_batches_hold_one_shape_each_the_nearest_to_every_crops_aspect(tiny_dataset, tmp_path):
    from fastseg.train.loop import EpochDataset, ShapeBatchSampler, Trainer

    # Square photos: a crop at the photo's aspect takes the square shape, one at the model's
    # 2:1 aspect (`size`) the wide shape.
    shapes = [[32, 64], [48, 48]]
    trainer = Trainer(tiny_config(tiny_dataset, tmp_path / "run", size=(32, 64), shapes=shapes, batch_size=2,
                                  model={**TINY_MODEL, "prev_mask": True, "head": "bilinear"}), progress=False)
    sampler, data = trainer.sampler, EpochDataset(trainer.train_set)
    assert isinstance(sampler, ShapeBatchSampler)
    seen = set()
    for epoch in range(3):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert batches == list(sampler)  # the epoch alone decides them (resume)
        for batch in batches:
            assert len(batch) == 2
            heights_widths = {tuple(data[key]["image"].shape[1:]) for key in batch}
            assert len(heights_widths) == 1
            seen |= heights_widths
        per_shape = {}
        for index in range(len(trainer.train_set)):
            per_shape.setdefault(trainer.train_set.shape_of(index, epoch), []).append(index)
        used = sorted(i for batch in batches for _, i in batch)
        assert len(used) == sum(len(v) // 2 * 2 for v in per_shape.values())  # only part-batches dropped
    assert seen == {(32, 64), (48, 48)}
    row = trainer.run(stop_after=1)[0]
    assert 0.0 <= row["iou_tiny"] <= 1.0  # the square val photos are scored at the square shape


def test_whole_samples_show_the_photo_as_segmenter_does(tiny_dataset, tmp_path):
    from fastseg.train.dataset import SegmentationSet
    from fastseg.train.loop import load_train_items

    config = tiny_config(tiny_dataset, tmp_path / "run", size=(32, 64))
    items = load_train_items(config)
    whole = SegmentationSet(items, (64, 64), True, seed=1, whole=1.0)
    for index in range(len(items)):
        sample = whole[index]["target"][0].numpy()
        label = cv2.resize(items[index].mask, (64, 64), interpolation=cv2.INTER_LINEAR) / 255.0
        # the label whole, perhaps mirrored: the flip is the only geometry left
        assert min(np.abs(sample - label).mean(), np.abs(sample - label[:, ::-1]).mean()) < 1e-6
    cropped = SegmentationSet(items, (64, 64), True, seed=1)
    assert any(cropped[i]["target"].sum() != whole[i]["target"].sum() for i in range(len(items)))
    # No whole share draws nothing more: a run made before the option replays exactly.
    plain, zero = SegmentationSet(items, (64, 64), True, seed=1), SegmentationSet(items, (64, 64), True, seed=1, whole=0.0)
    torch.testing.assert_close(plain[0]["image"], zero[0]["image"])


def test_zoomed_out_samples_show_the_whole_photo_smaller_inside_a_mirrored_border(tiny_dataset, tmp_path):
    from fastseg.train.dataset import SegmentationSet, framed
    from fastseg.train.loop import load_train_items

    config = tiny_config(tiny_dataset, tmp_path / "run", size=(32, 64))
    items = load_train_items(config)
    far = SegmentationSet(items, (64, 64), True, seed=1, zoom_out=1.0)
    for index, item in enumerate(items):
        box, border = far.train_box(item, np.random.default_rng([1, 0, index]))  # the draw __getitem__ makes
        height, width = item.mask.shape
        top, bottom, left, right = border
        assert box == (0, 0, width, height)
        assert 0.15 * height - 1 <= top + bottom <= 0.8 * height + 1 and 0.15 * width - 1 <= left + right <= 0.8 * width + 1
        # the person's label is mirrored with the image: the border repeats the photo's edge rows
        framed_mask = framed(item.mask, border)
        assert np.array_equal(framed_mask[top:top + height, left:left + width], item.mask)
        if top:
            assert np.array_equal(framed_mask[top - 1], framed_mask[top + 1])
        label = cv2.resize(framed_mask, (64, 64), interpolation=cv2.INTER_LINEAR) / 255.0
        sample = far[index]["target"][0].numpy()
        assert min(np.abs(sample - label).mean(), np.abs(sample - label[:, ::-1]).mean()) < 1e-6
    ignore = np.zeros((4, 6), bool)
    ignore[0, 0] = True
    assert framed(ignore, (2, 0, 0, 0)).dtype == bool and framed(ignore, (2, 0, 0, 0))[2:].tolist() == ignore.tolist()
    # Shares add up: half whole, half zoomed out leaves no crop.
    mixed = SegmentationSet(items, (64, 64), True, seed=1, whole=0.5, zoom_out=0.5)
    views = [mixed.train_box(item, np.random.default_rng([1, 0, i]))[1] for i, item in enumerate(items)]
    assert all(view is not None for view in views)


def test_own_prior_replaces_the_first_priors_with_the_models_inference_mode_prediction():
    from fastseg.train.loop import with_own_prior

    torch.manual_seed(0)
    model = FastSegNet(ModelConfig.from_dict({**TINY_MODEL, "prev_mask": True})).train()
    images = torch.cat([torch.randn(4, 3, 64, 64), torch.rand(4, 1, 64, 64)], 1)
    before = images.clone()
    mixed = with_own_prior(model, images, 2)
    assert model.training and torch.equal(images, before)
    with torch.no_grad():
        expected = torch.sigmoid(model.eval()(images[:2]))
    torch.testing.assert_close(mixed[:2, 3:], expected)
    assert torch.equal(mixed[:, :3], images[:, :3]) and torch.equal(mixed[2:], images[2:])
    assert with_own_prior(model, images, 0) is images
    with torch.no_grad():  # at an export's logit scale, the prior that export feeds back
        torch.testing.assert_close(with_own_prior(model, images, 2, scale=3.0)[:2, 3:], torch.sigmoid(3 * model(images[:2])))


def test_validation_looks_first_looks_times_each_look_the_next_ones_prior(tiny_dataset, tmp_path):
    from fastseg.train.loop import Trainer

    model = {**TINY_MODEL, **PRIOR_AT_STRIDE_2}
    trainer = Trainer(tiny_config(tiny_dataset, tmp_path / "run", model=model, first_looks=3, prior_scale=2.0), progress=False)
    looks = []
    hook = trainer.result.register_forward_hook(lambda _, args, out: looks.append((args[0].clone(), out.clone())))
    scores = trainer.validate()
    hook.remove()
    assert len(looks) == 3  # the tiny val split is one chunk
    (first, first_out), (second, second_out), (third, _) = looks
    assert torch.equal(first[:, 3], torch.zeros_like(first[:, 3]))  # a first frame: an empty prior
    torch.testing.assert_close(second[:, 3:], torch.sigmoid(2 * first_out))
    torch.testing.assert_close(third[:, 3:], torch.sigmoid(2 * second_out))
    assert torch.equal(first[:, :3], third[:, :3]) and 0.0 <= scores["iou_mean"] <= 1.0


def test_export_writes_first_looks_into_the_spec_and_refuses_them_without_a_prior(exported, tiny_dataset, tmp_path, capsys):
    import fastseg
    from fastseg.cli import main
    from fastseg.train.loop import Trainer

    Trainer(tiny_config(tiny_dataset, tmp_path / "run", epochs=1, model={**TINY_MODEL, **PRIOR_AT_STRIDE_2}),
            progress=False).run()
    out = tmp_path / "looks.onnx"
    assert main(["export", str(tmp_path / "run" / "last.pt"), "-o", str(out), "--first-looks", "2"]) == 0
    assert fastseg.Segmenter(path=out).spec.first_looks == 2
    assert main(["export", str(exported[0]), "-o", str(tmp_path / "bad.onnx"), "--first-looks", "2"]) == 2
    assert "first_looks > 1 needs a recurrent state" in capsys.readouterr().err
    assert not (tmp_path / "bad.onnx").exists()


def test_distillation_at_a_low_temperature_teaches_the_sharpened_teacher():
    from fastseg.train.losses import distill

    soft = torch.tensor([0.01, 0.2, 0.5, 0.8, 0.99]).view(1, 1, 1, 5)
    valid = torch.ones_like(soft)
    for temperature in (1.0, 0.5):
        # The loss is least where the student's logit is the teacher's divided by the temperature.
        best = (torch.logit(soft) / temperature).requires_grad_()
        distill(best, soft, valid, temperature).backward()
        assert best.grad.abs().max() < 1e-6
    # 0.8 -> 0.94 at temperature 0.5; 0 and 1 (uint8 targets) stay finite.
    for value, low, high in [(0.8, 0.94, 0.942), (0.5, 0.5, 0.5), (0.0, 1e-6, 1e-4), (1.0, 1 - 1e-4, 1 - 1e-6)]:
        target = torch.full((1, 1, 1, 1), value)
        x = torch.zeros(1, 1, 1, 1, requires_grad=True)
        distill(x, target, torch.ones_like(target), 0.5).backward()
        assert low <= 0.5 - x.grad.item() <= high  # d BCE / dx = sigmoid(x) - target


def test_gated_distillation_ignores_a_teacher_that_contradicts_the_label():
    from fastseg.train.losses import LossWeights, total_loss

    target = torch.tensor([1.0, 1.0, 0.0, 0.0, 1.0]).view(1, 1, 1, 5)
    soft = torch.tensor([0.9, 0.2, 0.1, 0.7, 0.2]).view(1, 1, 1, 5)  # agrees, contradicts x2, agrees, unknown
    valid = torch.tensor([1.0, 1.0, 1.0, 1.0, 0.0]).view(1, 1, 1, 5)

    def distill_gradient(weights: LossWeights) -> torch.Tensor:
        x = torch.zeros_like(target, requires_grad=True)
        total_loss(weights, x, x[:0], target, valid, soft, torch.ones_like(soft))["distill"].backward()
        return x.grad.flatten()

    gated, plain = distill_gradient(LossWeights(distill_agreeing=True)), distill_gradient(LossWeights())
    # Gated, only pixels 0, 2 and 4 are distilled; ungated, every pixel is.
    assert gated[[1, 3]].eq(0).all() and (gated[[0, 2, 4]] != 0).all()
    assert (plain != 0).all()


def test_the_alpha_error_makes_a_pixel_that_is_usually_a_person_more_decisive():
    from fastseg.train.losses import alpha_error, bce

    # A pixel labelled person 9 times in 10: BCE alone is least at 0.9, BCE + 2 x L1 at 0.961.
    target = torch.tensor([1.0] * 9 + [0.0]).view(1, 1, 1, 10)
    valid = torch.ones_like(target)
    x = torch.zeros(1, 1, 1, 1, requires_grad=True)
    optimiser = torch.optim.SGD([x], lr=1.0)
    for weight, expected in ((0.0, 0.9), (2.0, 0.9606)):
        for _ in range(3000):
            optimiser.zero_grad()
            logits = x.expand_as(target)
            (bce(logits, target, valid) + weight * alpha_error(logits, target, valid)).backward()
            optimiser.step()
        assert abs(torch.sigmoid(x).item() - expected) < 1e-3
    assert alpha_error(torch.full_like(target, 30.0), target, valid).item() == pytest.approx(0.1)


def test_the_lovasz_hinge_is_one_minus_iou_on_unit_mistakes_per_image():
    from fastseg.train.losses import lovasz_hinge

    generator = torch.Generator().manual_seed(0)
    target = (torch.rand(3, 1, 8, 8, generator=generator) > 0.6).float()
    target[2] = 0.0  # a frame without a person
    wrong = torch.rand(3, 1, 8, 8, generator=generator) < 0.2
    valid = torch.ones_like(target)
    valid[0, 0, 0] = 0.0  # an unknown row: left out of image 0's IoU
    # A margin of exactly 1 where right (hinge error 0), logit 0 where wrong (error 1): the
    # Lovasz extension is tight there, 1 - IoU of the label with the wrong pixels flipped.
    logits = torch.where(wrong, torch.zeros_like(target), 2 * target - 1)
    expected = []
    for t, w, v in zip(target, wrong, valid):
        keep = v > 0
        truth, pred = t[keep] > 0.5, (t[keep] > 0.5) ^ w[keep]
        union = (truth | pred).sum().item()
        expected.append(1 - (truth & pred).sum().item() / union if union else 0.0)
    assert lovasz_hinge(logits, target, valid).item() == pytest.approx(sum(expected) / 3, abs=1e-6)
    assert lovasz_hinge(3 * (2 * target - 1), target, valid).item() == 0.0  # all right by a margin
    assert lovasz_hinge(torch.zeros_like(target), target, valid).item() == pytest.approx(1.0)  # all on the fence


def test_the_lovasz_term_joins_the_loss_only_when_weighted():
    from fastseg.train.losses import LossWeights, total_loss

    target = torch.tensor([1.0, 1.0, 0.0, 0.0]).view(1, 1, 1, 4)
    ones = torch.ones_like(target)
    x = torch.zeros_like(target)
    plain = total_loss(LossWeights(), x, x, target, ones, target, ones)
    weighted = total_loss(LossWeights(lovasz=2.0), x, x, target, ones, target, ones)
    assert "lovasz" not in plain and weighted["lovasz"].item() == pytest.approx(1.0)
    assert weighted["loss"].item() == pytest.approx(plain["loss"].item() + 2.0)


def test_a_few_steps_reduce_the_loss(tiny_dataset, tmp_path):
    from fastseg.train.loop import Trainer

    trainer = Trainer(tiny_config(tiny_dataset, tmp_path / "run", epochs=6, lr=0.02), progress=False)
    rows = trainer.run()
    assert rows[-1]["loss"] < rows[0]["loss"]
    assert {"iou_tiny", "bf_tiny", "iou_mean"} <= set(rows[-1])
    assert (tmp_path / "run" / "log.csv").read_text().count("\n") == 7
    assert (tmp_path / "run" / "last.pt").is_file() and (tmp_path / "run" / "best.pt").is_file()


def test_a_prev_mask_model_trains_on_its_own_priors(tiny_dataset, tmp_path):
    from fastseg.train.loop import Trainer

    model = {**TINY_MODEL, "prev_mask": True, "head": "bilinear"}
    trainer = Trainer(tiny_config(tiny_dataset, tmp_path / "run", model=model, epochs=4, lr=0.02, self_prior=0.5),
                      progress=False)
    rows = trainer.run()
    assert rows[-1]["loss"] < rows[0]["loss"]


def test_resume_continues_identically(tiny_dataset, tmp_path):
    from fastseg.train.loop import Trainer

    straight = Trainer(tiny_config(tiny_dataset, tmp_path / "a"), progress=False)
    straight.run()
    interrupted = Trainer(tiny_config(tiny_dataset, tmp_path / "b"), progress=False)
    interrupted.run(stop_after=1)
    resumed = Trainer(tiny_config(tiny_dataset, tmp_path / "b"), progress=False)
    resumed.run(resume=True)
    assert resumed.epoch == straight.epoch == 2
    for name, value in straight.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[name], value, msg=name)
    log = (tmp_path / "b" / "log.csv").read_text().splitlines()
    assert len(log) == 3 and log[0] == (tmp_path / "a" / "log.csv").read_text().splitlines()[0]


def test_averaged_weights_are_saved_validated_and_resumed(tiny_dataset, tmp_path):
    from fastseg.train.loop import Trainer

    straight = Trainer(tiny_config(tiny_dataset, tmp_path / "a", ema=0.9), progress=False)
    straight.run()
    state = torch.load(tmp_path / "a" / "last.pt", weights_only=True)
    assert state["ema_steps"] == straight.step
    trained, averaged = state["trained"]["stem.0.weight"], state["model"]["stem.0.weight"]
    assert not torch.equal(trained, averaged)  # the checkpoint's model is the average, not the last step
    torch.testing.assert_close(averaged, straight.ema.module.state_dict()["stem.0.weight"])
    interrupted = Trainer(tiny_config(tiny_dataset, tmp_path / "b", ema=0.9), progress=False)
    interrupted.run(stop_after=1)
    resumed = Trainer(tiny_config(tiny_dataset, tmp_path / "b", ema=0.9), progress=False)
    resumed.run(resume=True)
    for name, value in straight.result.state_dict().items():
        torch.testing.assert_close(resumed.result.state_dict()[name], value, msg=name)


def test_a_resumed_log_keeps_its_columns(tiny_dataset, tmp_path):
    """A run started by an older fastseg (fewer loss terms) goes on with its own header."""
    import csv

    from fastseg.train.loop import Trainer

    first = Trainer(tiny_config(tiny_dataset, tmp_path / "run"), progress=False)
    first.run(stop_after=1)
    path = tmp_path / "run" / "log.csv"
    rows = list(csv.reader(path.read_text().splitlines()))
    keep = [i for i, name in enumerate(rows[0]) if name != "alpha"]
    path.write_text("".join(",".join(row[i] for i in keep) + "\n" for row in rows))
    Trainer(tiny_config(tiny_dataset, tmp_path / "run"), progress=False).run(resume=True)
    header, *values = list(csv.reader(path.read_text().splitlines()))
    assert "alpha" not in header and len(values) == 2 and all(len(v) == len(header) for v in values)
    assert values[1][header.index("epoch")] == "2"


# --- export and eval ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(tiny_dataset, tmp_path_factory) -> tuple[Path, Path, Path]:
    """(checkpoint, float ONNX, INT8 ONNX) of a briefly trained tiny model (its last stage's
    blocks with squeeze-excitation gates, so those export too)."""
    from fastseg.train.export import export_checkpoint
    from fastseg.train.loop import Trainer

    out = tmp_path_factory.mktemp("export")
    trainer = Trainer(tiny_config(tiny_dataset, out / "run", epochs=1, model={**TINY_MODEL, "block_se": 1}), progress=False)
    trainer.run()
    checkpoint = out / "run" / "last.pt"
    export_checkpoint([checkpoint], out / "tiny.onnx", int8_out=out / "tiny_int8.onnx", calibration=tiny_dataset,
                      calibration_count=4)
    return checkpoint, out / "tiny.onnx", out / "tiny_int8.onnx"


def test_export_runs_in_segmenter_like_torch(exported, tiny_dataset):
    import fastseg
    from fastseg.train.dataset import normalise
    from fastseg.train.export import load_checkpoint

    checkpoint, onnx_path, _ = exported
    model, _ = load_checkpoint(checkpoint)
    frame, _ = person_image(np.random.default_rng(5))
    with torch.no_grad():
        logits = model(torch.from_numpy(normalise(frame))[None])[0, 0].numpy()
    seg = fastseg.Segmenter(path=onnx_path)  # everything it needs is in the file's metadata
    assert seg.spec.name == "tiny" and seg.spec.size == (64, 64) and frame.shape[:2] == (64, 64)
    # Logits become alpha through codes 0.25 apart and the hard sigmoid clamp(0.5 + x / 4)
    # (`upsample_logits`): half a code step is 8 levels.
    np.testing.assert_allclose(seg.mask(frame), np.clip(0.5 + logits / 4, 0, 1), atol=9 / 255)


def test_int8_export_loads_with_its_own_name(exported):
    import fastseg

    seg = fastseg.Segmenter(path=exported[2])
    assert seg.spec.name == "tiny_int8"
    assert seg.mask(np.zeros((48, 80, 3), np.uint8)).shape == (48, 80)


def test_int8_calibration_of_a_prev_mask_model_sees_real_priors(tiny_dataset):
    from fastseg.train.export import calibration_feeds, spec_for

    spec = spec_for("t", ModelConfig.from_dict({**TINY_MODEL, "prev_mask": True}), (64, 64))
    priors = np.stack([feed[spec.input][0, 3] for feed in calibration_feeds(spec, tiny_dataset, 6)])
    # Zeros alone would calibrate the prior's range to [0, 0] and INT8 would clip every prior.
    assert priors.min() >= 0 and priors.max() > 0.9 and 0.05 < priors.mean() < 0.95


def test_a_prior_at_stride_two_exports_as_a_recurrent_stride_two_model(tiny_dataset, tmp_path):
    """Segmenter feeds the model's stride-2 probability back as the next frame's prior and
    upsamples it to the frame; `logit_scale` multiplies the logits, the prior included."""
    import fastseg
    from fastseg.train.dataset import normalise
    from fastseg.train.export import export_onnx, quantize_int8, spec_for

    torch.manual_seed(0)
    model = FastSegNet(ModelConfig.from_dict({**TINY_MODEL, **PRIOR_AT_STRIDE_2})).eval()
    torch.nn.init.constant_(model.prior_in.weight, 20.0)  # a prior that visibly moves the mask
    spec = spec_for("r", model.config, (64, 64))
    export_onnx(model, spec, tmp_path / "r.onnx", logit_scale=2.0)
    seg = fastseg.Segmenter(path=tmp_path / "r.onnx")
    assert seg.spec.output_stride == 2 and seg.spec.recurrent == (("prior_next", "prior"),) and not seg.spec.prev_mask

    def expected_logits(frame: np.ndarray, prior: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return 2.0 * model.forward_stride2(torch.from_numpy(normalise(frame))[None], prior)

    def expected_mask(logits: torch.Tensor) -> np.ndarray:
        """2x bilinear logits through the hard sigmoid (`upsample_logits`)."""
        upsampled = torch.nn.functional.interpolate(logits, scale_factor=2, mode="bilinear")[0, 0].numpy()
        return np.clip(0.5 + upsampled / 4, 0, 1)

    rng = np.random.default_rng(1)
    prior = torch.zeros(1, 1, 32, 32)
    # Codes 0.25 apart (16 levels) rounded three times (quantised, expanded, blended; the exact
    # 2x weights are 7-bit exact): within 1.5 steps, 24 levels.
    tolerance = 25 / 255
    for i, frame in enumerate([person_image(rng)[0] for _ in range(3)]):
        logits = expected_logits(frame, prior)
        if i:  # the prior moves the mask by more than the tolerance, so that checks it is fed back
            assert np.abs(expected_mask(logits) - expected_mask(expected_logits(frame, torch.zeros_like(prior)))).max() > 2 * tolerance
        np.testing.assert_allclose(seg.mask(frame), expected_mask(logits), atol=tolerance)
        prior = torch.sigmoid(logits)

    quantize_int8(tmp_path / "r.onnx", tmp_path / "r_int8.onnx", spec, tiny_dataset, count=4)
    int8 = fastseg.Segmenter(path=tmp_path / "r_int8.onnx")
    seg.reset()
    assert np.mean((int8.mask(frame) > 0.5) == (seg.mask(frame) > 0.5)) > 0.9


def test_int8_keeps_only_a_prev_mask_models_stem_in_float(tmp_path):
    import onnx

    from fastseg.train.export import export_onnx, float_nodes, spec_for

    kept = {}
    for prev_mask in (False, True):
        config = ModelConfig.from_dict({**TINY_MODEL, "prev_mask": prev_mask})
        spec = spec_for("t", config, (64, 64))
        path = export_onnx(FastSegNet(config).eval(), spec, tmp_path / f"t{prev_mask}.onnx")
        kept[prev_mask] = float_nodes(path, spec)
        first_conv = next(n for n in onnx.load(str(path)).graph.node if n.op_type == "Conv")
    assert kept == {False: [], True: [first_conv.name]} and spec.input in first_conv.input


def write_tiny_video(path: Path, frames: int = 6) -> Path:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 64))
    rng = np.random.default_rng(1)
    for _ in range(frames):
        writer.write(person_image(rng)[0])
    writer.release()
    return path


def test_eval_prints_the_table(exported, tiny_dataset, tmp_path, capsys):
    from fastseg.cli import main

    video = write_tiny_video(tmp_path / "clip.avi")
    _, onnx_path, int8_path = exported
    code = main(["eval", str(tiny_dataset), "--model", str(onnx_path), "--model", str(int8_path), "--videos", str(video),
                 "--rounds", "1", "--json", str(tmp_path / "eval.json")])
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert "IoU tiny" in lines[1] and "BF tiny" in lines[1] and "flicker" in lines[1] and "decisive" in lines[1]
    assert [line.split()[0] for line in lines[2:]] == ["tiny", "tiny_int8"]
    results = json.loads((tmp_path / "eval.json").read_text())
    assert 0.0 <= results[0]["iou"]["tiny"] <= 1.0 and results[0]["flicker"] >= 0.0
    assert 0.0 <= results[0]["decisive"] <= 1.0


def test_decisive_share_counts_pixels_outside_the_soft_band():
    from fastseg.train.metrics import decisive_share

    prob = np.array([[0.0, 0.05, 0.1, 0.5], [0.89, 0.9, 0.95, 1.0]], np.float32)
    assert decisive_share(prob) == pytest.approx(6 / 8)  # 0.5 and 0.89 are in between


def test_eval_refuses_a_folder_without_manifest(tmp_path, capsys):
    from fastseg.cli import main

    assert main(["eval", str(tmp_path), "--model", "x.onnx"]) == 2
    assert "no manifest.jsonl" in capsys.readouterr().err


def test_export_cli_scales_the_logits_and_refuses_a_scale_that_is_not_positive(exported, tmp_path, capsys):
    import onnxruntime as ort

    from fastseg.cli import main

    checkpoint, onnx_path, _ = exported
    assert main(["export", str(checkpoint), "-o", str(tmp_path / "sharp.onnx"), "--logit-scale", "3"]) == 0
    x = np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32)
    plain, sharp = (ort.InferenceSession(str(p)).run(None, {"input": x})[0] for p in (onnx_path, tmp_path / "sharp.onnx"))
    np.testing.assert_allclose(sharp, 3 * plain, rtol=1e-4, atol=1e-4)
    with pytest.raises(SystemExit):
        main(["export", str(checkpoint), "-o", str(tmp_path / "bad.onnx"), "--logit-scale", "0"])
    assert "expected a positive number, got '0'" in capsys.readouterr().err
    assert not (tmp_path / "bad.onnx").exists()


def test_several_checkpoints_export_and_start_a_run_as_their_averaged_weights_and_refuse_another_model(
        exported, tmp_path, capsys):
    import onnxruntime as ort

    from fastseg.cli import main
    from fastseg.train.export import load_checkpoint
    from fastseg.train.loop import warm_start

    checkpoint, onnx_path, _ = exported
    state = torch.load(checkpoint, weights_only=True)
    shifted = {key: value + 1.0 if value.is_floating_point() else value for key, value in state["model"].items()}
    torch.save({**state, "model": shifted}, tmp_path / "shifted.pt")
    soup, _ = load_checkpoint(checkpoint, tmp_path / "shifted.pt")
    started = FastSegNet(ModelConfig.from_dict(state["model_config"]))
    warm_start(started, checkpoint, tmp_path / "shifted.pt")  # a config's "init": [A, B]
    for model in (soup, started):
        for key, value in model.state_dict().items():
            expected = state["model"][key] + 0.5 if value.is_floating_point() else state["model"][key]
            torch.testing.assert_close(value, expected)
    # Averaging a checkpoint with itself exports the same model.
    assert main(["export", str(checkpoint), str(checkpoint), "-o", str(tmp_path / "same.onnx")]) == 0
    x = np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32)
    single, same = (ort.InferenceSession(str(p)).run(None, {"input": x})[0] for p in (onnx_path, tmp_path / "same.onnx"))
    np.testing.assert_allclose(same, single, rtol=1e-5, atol=1e-5)
    # A checkpoint written before a config field existed averages with one that has it at its default.
    older = {**state, "model_config": {k: v for k, v in state["model_config"].items() if k != "skip_gate"}}
    torch.save(older, tmp_path / "older.pt")
    assert main(["export", str(checkpoint), str(tmp_path / "older.pt"), "-o", str(tmp_path / "older.onnx")]) == 0
    other = {**state, "model_config": {**state["model_config"], "stem": state["model_config"]["stem"] + 8}}
    torch.save(other, tmp_path / "other.pt")
    assert main(["export", str(checkpoint), str(tmp_path / "other.pt"), "-o", str(tmp_path / "mixed.onnx")]) == 2
    assert "another model or input size than the first checkpoint's" in capsys.readouterr().err
    assert main(["export", str(checkpoint), str(tmp_path / "missing.pt"), "-o", str(tmp_path / "mixed.onnx")]) == 2
    assert "checkpoint not found" in capsys.readouterr().err
    assert not (tmp_path / "mixed.onnx").exists()


def test_half_weights_halve_the_file_and_run_as_float32(exported, tmp_path):
    """Convolution weights stored as float16 behind Casts: the weights take about half the bytes, ONNX
    Runtime folds the casts at load (no Cast is left to run per frame) and the logits move
    only by float16 rounding."""
    import onnx
    import onnxruntime as ort

    from fastseg.cli import main

    checkpoint, onnx_path, _ = exported
    half = tmp_path / "half.onnx"
    assert main(["export", str(checkpoint), "-o", str(half), "--name", "tiny", "--half-weights"]) == 0
    stored = onnx.load(str(half)).graph
    assert {init.data_type for init in stored.initializer if init.name.endswith("_float16")} == {onnx.TensorProto.FLOAT16}
    weight_bytes = lambda graph: sum(onnx.numpy_helper.to_array(i).nbytes for i in graph.initializer)  # noqa: E731
    assert weight_bytes(stored) < 0.55 * weight_bytes(onnx.load(str(onnx_path)).graph)
    options = ort.SessionOptions()
    options.optimized_model_filepath = str(tmp_path / "optimised.onnx")
    session = ort.InferenceSession(str(half), options, providers=["CPUExecutionProvider"])
    assert not [n for n in onnx.load(str(tmp_path / "optimised.onnx")).graph.node if n.op_type == "Cast"]
    x = np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype(np.float32)
    full = ort.InferenceSession(str(onnx_path)).run(None, {"input": x})[0]
    np.testing.assert_allclose(session.run(None, {"input": x})[0], full, rtol=0, atol=0.02 * np.abs(full).max())
    import fastseg

    assert fastseg.Segmenter(path=half).spec.name == "tiny"  # the spec survives the rewrite
