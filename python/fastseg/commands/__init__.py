"""The user-facing subcommands, one module each: image, video, webcam, bench, models."""

from __future__ import annotations


def register(sub) -> None:
    from . import bench, image, model_list, video, webcam

    for command in (image, video, webcam, bench, model_list):
        command.register(sub)
