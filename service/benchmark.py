"""Serving benchmark: in-process throughput of three paths and HTTP throughput/latency, one run.

Prints sentences/s for the Hugging Face ``pipeline`` way (same encoder, batch 1), our torch fp32
path and our ONNX int8 path, then HTTP sentences/s with p50/p99 latency at concurrency 1, 4 and 16
against a real ``bentoml serve``, and the ratios HTTP/in-process and int8/fp32. Timings swing with
machine load: compare the ratios of one run, not absolute numbers across runs.

Example:
    .venv/bin/python -m service.benchmark --model stance-classifier:latest --seconds 15
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from model import load_classifier
from service.launch import ROOT, free_port, start_server, stop, wait_ready


def sentences(path: Path, n: int) -> tuple[list[str], list[str]]:
    """Real-length sentences and their targets from a corpus file."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    rows = (rows * (n // len(rows) + 1))[:n]
    return [r["text"] for r in rows], [r["target"] for r in rows]


def in_process(clf: Any, texts: list[str], targets: list[str]) -> float:
    """Sentences per second for one pass over ``texts`` (after one warm-up batch)."""
    clf.predict_proba(texts[:32], targets[:32])
    start = time.perf_counter()
    clf.predict_proba(texts, targets)
    return len(texts) / (time.perf_counter() - start)


def hf_pipeline(encoder: str, texts: list[str], targets: list[str]) -> float:
    """Sentences per second of a transformers text-classification pipeline, one item a call."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    model = AutoModelForSequenceClassification.from_pretrained(encoder, num_labels=3)
    pipe = pipeline(
        "text-classification", model=model, tokenizer=AutoTokenizer.from_pretrained(encoder)
    )
    items = [{"text": t, "text_pair": s} for t, s in zip(targets, texts, strict=True)]
    pipe(items[:8])
    start = time.perf_counter()
    for item in items:
        pipe(item)
    return len(items) / (time.perf_counter() - start)


def base_encoder(clf: Any) -> str:
    """The pretrained encoder folder the model was fine-tuned from (same size, for the pipeline)."""
    folder = Path(clf.config.base_model)
    if (folder / "config.json").is_file():
        return str(folder)
    from training.config import PRETRAINED_PACKAGE, resolve_base_model

    return str(resolve_base_model(PRETRAINED_PACKAGE))


def http_load(
    url: str, texts: list[str], target: str, concurrency: int, seconds: float
) -> dict[str, float]:
    """One sentence a request, ``concurrency`` clients, for ``seconds``; bounded and local only."""
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds

    def client(offset: int) -> None:
        nonlocal errors
        with httpx.Client(timeout=60) as http:
            i = offset
            while time.monotonic() < deadline:
                t0 = time.perf_counter()
                r = http.post(
                    f"{url}/classify", json={"sentences": [texts[i % len(texts)]], "target": target}
                )
                latencies.append(time.perf_counter() - t0)
                errors += r.status_code != 200
                i += concurrency

    start = time.perf_counter()
    with cf.ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(client, range(concurrency)))
    elapsed = time.perf_counter() - start
    ms = np.array(latencies) * 1000
    return {
        "concurrency": concurrency,
        "sentences_per_s": len(latencies) / elapsed,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "requests": len(latencies),
        "errors": errors,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default="stance-classifier:latest", help="store tag or artifact folder"
    )
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "test.jsonl")
    parser.add_argument("--n", type=int, default=512, help="sentences for in-process timing")
    parser.add_argument("--seconds", type=float, default=15.0, help="duration of each HTTP level")
    args = parser.parse_args(argv)

    from training.store import resolve_model

    folder, tag = resolve_model(args.model, "transformer")
    texts, targets = sentences(args.data, args.n)
    fp32 = load_classifier(folder, runtime="torch")
    int8 = load_classifier(folder, runtime="onnx-int8")
    result: dict[str, Any] = {"model": tag, "sentences": len(texts)}
    result["in_process"] = {
        "hf_pipeline_batch1": hf_pipeline(base_encoder(fp32), texts[:128], targets[:128]),
        "torch_fp32": in_process(fp32, texts, targets),
        "onnx_int8": in_process(int8, texts, targets),
    }
    port = free_port()
    log = Path(tempfile.mkdtemp()) / "server.log"
    proc = start_server(port, log, STANCE_MODEL_TAG=tag, STANCE_RUNTIME="onnx-int8")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, log)
        http_load(url, texts, targets[0], 4, 3)  # warm-up
        result["http"] = [http_load(url, texts, targets[0], c, args.seconds) for c in (1, 4, 16)]
    finally:
        stop(proc)
    ip = result["in_process"]
    result["ratios"] = {
        "int8_over_fp32": ip["onnx_int8"] / ip["torch_fp32"],
        "int8_over_hf_pipeline": ip["onnx_int8"] / ip["hf_pipeline_batch1"],
        "http_c16_over_in_process_int8": result["http"][-1]["sentences_per_s"] / ip["onnx_int8"],
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
