"""`fastseg models`: the models fastseg knows and how each is fed (its spec)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Dict, List

from .. import models
from ..models import ModelSpec


def register(sub) -> None:
    p = sub.add_parser(
        "models",
        help="list the models fastseg knows and their specs",
        description="fastseg's own models (shipped, spec in the file) and the third-party models it has "
        "specs for (pass their .onnx file with --model).",
    )
    p.add_argument("--json", action="store_true", help="the full specs as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    specs = known_specs()
    if args.json:
        print(json.dumps({name: {"source": source, "spec": asdict(spec) if spec else None}
                          for name, (source, spec) in specs.items()}, indent=2))
        return 0
    print(f"{'model':<28} {'input':>13} {'layout':>6} {'colour':>6} {'output':>8}  notes")
    for name, (source, spec) in specs.items():
        print(f"{name:<28} {input_size(spec):>13} {spec.layout:>6} {spec.color:>6} {spec.output_kind:>8}  "
              + ", ".join([source] + features(spec)))
    if models.DEFAULT_MODEL in models.packaged():
        print(f"default: {models.DEFAULT_MODEL}")
    else:
        print("no built-in default model yet: pass --model FILE.onnx (a file named after a model above)")
    return 0


def known_specs() -> Dict[str, tuple]:
    """name -> (where it comes from, its spec): shipped models first, read from their metadata."""
    from ..session import metadata, open_session

    found = {}
    for name, path in models.packaged().items():
        spec = models.spec_from_metadata(metadata(open_session(path, 1)), path)
        found[name] = ("fastseg model, shipped", spec)
    for name, spec in models.REGISTRY.items():
        found.setdefault(name, ("third-party: --model path/to/" + name + ".onnx", spec))
    return found


def input_size(spec: ModelSpec) -> str:
    if spec.size is not None:
        return f"{spec.size[0]}x{spec.size[1]}"
    return f"short {spec.short_side}/{spec.multiple}"


def features(spec: ModelSpec) -> List[str]:
    notes = []
    if spec.prev_mask:
        notes.append("previous-mask input")
    if spec.recurrent:
        notes.append(f"recurrent ({len(spec.recurrent)} states)")
    if spec.first_looks > 1:
        notes.append(f"{spec.first_looks} looks at a first frame")
    return notes
