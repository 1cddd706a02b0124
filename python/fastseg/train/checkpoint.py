"""Reading the weights of `fastseg train` checkpoints, one or several averaged.

Averaging checkpoints of one lineage (a run and its fine-tuned continuation, or fine-tunes of
one start) makes a uniform "model soup" (Wortsman et al., 2022): weights that lie in one basin
average into a model too, here about as accurate as the best of them and as steady or steadier
(see the model card). `fastseg export A.pt B.pt` exports such a mean and a config's
`"init": [A, B]` starts a run from one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch

from .model import ModelConfig


def read(path: Path) -> dict:
    return torch.load(path, weights_only=True, map_location="cpu")


def averaged(paths: Sequence[Path]) -> tuple[dict, dict]:
    """(weights, state): the mean of the checkpoints' "model" weights and the first one's
    whole state; ValueError if another checkpoint holds another model or input size."""
    first = read(paths[0])
    weights = [first["model"]]
    for path in paths[1:]:
        state = read(path)
        if not same_model(state, first):
            raise ValueError(f"{path}: another model or input size than the first checkpoint's; only one model's weights average")
        weights.append(state["model"])
    return mean_weights(weights), first


def same_model(a: dict, b: dict) -> bool:
    """One network and input size. Configs compare as `ModelConfig`s, so a checkpoint written
    before a config field existed matches one with that field at its default."""
    configs = [ModelConfig.from_dict(state.get("model_config", {})) for state in (a, b)]
    return configs[0] == configs[1] and tuple(a.get("size", ())) == tuple(b.get("size", ()))


def mean_weights(weights: Sequence[dict]) -> dict:
    """The mean of each float tensor (BatchNorm statistics included); counters keep the first's."""
    if len(weights) == 1:
        return weights[0]
    return {key: torch.stack([w[key] for w in weights]).mean(0) if value.is_floating_point() else value
            for key, value in weights[0].items()}
