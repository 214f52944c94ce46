"""Serving benchmark: in-process throughput of every path and HTTP throughput/latency, one run.

Prints sentences/s for the Hugging Face ``pipeline`` way (same encoder, batch 1 and batch 32), our
torch fp32 and bf16 paths, ONNX fp32, plain ONNX int8, int8 with close calls rechecked in fp32,
and the runtime the artifact serves; the compute limit (FLOPs per sentence from the real token
counts, achieved GFLOP/s, the cores' fp32 peak from their flags); then HTTP sentences/s with
p50/p99 latency at concurrency 1, 4 and 16 (one sentence a request), 16 with 8 sentences a
request, and 8 concurrent ``/classify_document`` requests of a seed document, against a real
``bentoml serve``, and the ratios: served / torch fp32, served / ONNX fp32, HTTP / in-process.
Timings swing with machine load: compare the ratios of one run, not absolute numbers across runs.

``--soak SECONDS`` runs a bounded load test instead (127.0.0.1 only): ``--concurrency`` clients for
that long, counting errors and sampling the server's resident memory (all its processes) every
few seconds.

Example:
    python -m benchmarks.serving --model stance-classifier:latest --seconds 15
    python -m benchmarks.serving --soak 60 --concurrency 32
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from model import load_classifier
from tests.support.launch import ROOT, free_port, start_server, stop, wait_ready


def sentences(path: Path, n: int) -> tuple[list[str], list[str]]:
    """Real-length sentences and their targets from a corpus file."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    rows = (rows * (n // len(rows) + 1))[:n]
    return [r["text"] for r in rows], [r["target"] for r in rows]


def in_process(clf: Any, texts: list[str], targets: list[str]) -> float:
    """Sentences per second in process: the better of two passes (``training.export``)."""
    from training.export import throughput

    return throughput(clf, texts, targets)


def hf_pipeline(encoder: str, texts: list[str], targets: list[str], batch_size: int = 1) -> float:
    """Sentences per second of a transformers text-classification pipeline.

    ``batch_size`` 1: one item a call, as most users call it; larger: the whole list in one call
    with the pipeline's own batching (its best case).
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    model = AutoModelForSequenceClassification.from_pretrained(encoder, num_labels=3)
    pipe = pipeline(
        "text-classification", model=model, tokenizer=AutoTokenizer.from_pretrained(encoder)
    )
    items = [{"text": t, "text_pair": s} for t, s in zip(targets, texts, strict=True)]
    pipe(items[:8])
    start = time.perf_counter()
    if batch_size == 1:
        for item in items:
            pipe(item)
    else:
        pipe(items, batch_size=batch_size)
    return len(items) / (time.perf_counter() - start)


def cpu_peak_gflops() -> tuple[float, str]:
    """fp32 peak of this machine's cores from /proc/cpuinfo, and how it was reckoned.

    cores x clock x FLOPs a cycle: 2 FMA units x (16 fp32 lanes with AVX-512, 8 with AVX2) x 2.
    Two FMA units a core is assumed (server cores); the clock is the one /proc/cpuinfo reports.
    """
    import os

    text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    flags = set(next((ln.split(":", 1)[1].split() for ln in text.splitlines()
                      if ln.startswith("flags")), []))  # fmt: skip
    mhz = max((float(ln.split(":", 1)[1]) for ln in text.splitlines()
               if ln.startswith("cpu MHz")), default=0.0)  # fmt: skip
    lanes = 16 if "avx512f" in flags else 8 if "avx2" in flags else 4
    cores = len(os.sched_getaffinity(0))
    per_cycle = 2 * lanes * 2
    basis = (f"{cores} cores x {mhz / 1000:.2f} GHz x {per_cycle} fp32 FLOPs/cycle "
             f"({'AVX-512' if lanes == 16 else 'AVX2' if lanes == 8 else 'SSE'}, 2 FMA units "
             "assumed)")  # fmt: skip
    return cores * mhz / 1000 * per_cycle, basis


def flops_per_sentence(clf: Any, texts: list[str], targets: list[str]) -> float:
    """Mean forward FLOPs per (target, sentence) pair of a BERT-style encoder, from token counts.

    Per layer and sequence of n tokens: 2n(4h^2 + 2h*ff) for the projections and the feed-forward
    block, 4n^2*h for attention scores and their weighted sum (h hidden, ff intermediate size).
    """
    from transformers import AutoConfig

    cfg = AutoConfig.from_pretrained(str(Path(clf.directory) / "encoder"))
    h, ff, layers = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers
    lengths = [
        len(clf.tokenizer(t, x, truncation=True, max_length=clf.config.max_length)["input_ids"])
        for t, x in zip(targets, texts, strict=True)
    ]
    per = [layers * (2 * n * (4 * h * h + 2 * h * ff) + 4 * n * n * h) for n in lengths]
    return float(np.mean(per))


def base_encoder(clf: Any) -> str:
    """The pretrained encoder folder the model was fine-tuned from (same size, for the pipeline)."""
    folder = Path(clf.config.base_model)
    if (folder / "config.json").is_file():
        return str(folder)
    from training.config import PRETRAINED_PACKAGE, resolve_base_model

    return str(resolve_base_model(PRETRAINED_PACKAGE))


def server_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (BentoML forks workers), in MiB."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return float("nan")
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / 2**20


class RawClient:
    """One keep-alive HTTP/1.1 connection on asyncio streams: the load generator.

    The client shares the cores with the server, so it must cost little: a request here takes
    about 0.15 ms of CPU, against about 1 ms for httpx in threads, which the server would lose.
    """

    def __init__(self, url: str) -> None:
        host, _, port = url.removeprefix("http://").partition(":")
        self.host, self.port = host, int(port)
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """POST a JSON body; return the status and the response body."""
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n")  # fmt: skip
        writer.write(head.encode("ascii") + body)
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip().lower()
        if "chunked" in headers.get("transfer-encoding", ""):
            parts = []
            while size := int((await reader.readline()).strip(), 16):
                parts.append(await reader.readexactly(size + 2))
            await reader.readline()
            data = b"".join(p[:-2] for p in parts)
        else:
            data = await reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection") == "close":
            await self.close()
        return int(status_line.split()[1]), data

    async def close(self) -> None:
        """Close the connection (the next post opens a new one)."""
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


async def _load(
    url: str,
    path: str,
    body: Callable[[int], bytes],
    concurrency: int,
    seconds: float,
    on_response: Callable[[bytes], None] | None = None,
) -> tuple[list[float], list[str], float]:
    """``concurrency`` clients posting ``body(i)`` to ``path`` for ``seconds``.

    Returns each request's latency, the errors, and the elapsed time.
    """
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.monotonic() + seconds

    async def client(offset: int) -> None:
        http = RawClient(url)
        i = offset
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            try:
                status, data = await http.post(path, body(i))
                if status != 200:
                    errors.append(f"HTTP {status}: {data[:200]!r}")
                elif on_response is not None:
                    on_response(data)
            except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError) as exc:
                errors.append(repr(exc))
                await http.close()
            latencies.append(time.perf_counter() - t0)
            i += concurrency
        await http.close()

    start = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(concurrency)))
    return latencies, errors, time.perf_counter() - start


def http_load(
    url: str,
    texts: list[str],
    target: str,
    concurrency: int,
    seconds: float,
    per_request: int = 1,
    server_pid: int | None = None,
) -> dict[str, Any]:
    """``per_request`` sentences a request, ``concurrency`` clients, for ``seconds``.

    Bounded in time and local only. With ``server_pid``, the server's memory is sampled every
    ``seconds / 10`` (at least 1 s) into ``rss_mb``.
    """
    rss: list[float] = []

    def body(i: int) -> bytes:
        batch = [texts[(i * per_request + k) % len(texts)] for k in range(per_request)]
        return json.dumps({"sentences": batch, "target": target}).encode()

    async def run() -> tuple[list[float], list[str], float]:
        async def sampler() -> None:
            while server_pid is not None:
                rss.append(round(server_rss_mb(server_pid), 1))
                await asyncio.sleep(max(1.0, seconds / 10))

        watcher = asyncio.ensure_future(sampler())
        try:
            return await _load(url, "/classify", body, concurrency, seconds)
        finally:
            watcher.cancel()

    latencies, errors, elapsed = asyncio.run(run())
    ms = np.array(latencies) * 1000
    out: dict[str, Any] = {
        "concurrency": concurrency,
        "sentences_per_request": per_request,
        "sentences_per_s": len(latencies) * per_request / elapsed,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "requests": len(latencies),
        "errors": len(errors),
        "first_errors": errors[:3],
    }
    if server_pid is not None:
        rss.append(round(server_rss_mb(server_pid), 1))
        out["rss_mb"] = rss
    return out


def http_documents(url: str, text: str, concurrency: int, seconds: float) -> dict[str, Any]:
    """``concurrency`` clients posting one whole document each to /classify_document."""
    sentences: list[int] = []
    payload = json.dumps({"text": text}).encode()
    latencies, errors, elapsed = asyncio.run(
        _load(
            url,
            "/classify_document",
            lambda _: payload,
            concurrency,
            seconds,
            on_response=lambda data: sentences.append(json.loads(data)["n_sentences"]),
        )
    )
    return {
        "concurrency": concurrency,
        "documents": len(latencies),
        "sentences_per_s": sum(sentences) / elapsed,
        "p50_ms": float(np.percentile(np.array(latencies) * 1000, 50)),
        "errors": len(errors),
        "first_errors": errors[:3],
    }


def serve(tag: str, runtime: str | None) -> tuple[str, subprocess.Popen[bytes], Path]:
    """Start a real server of ``tag`` (on ``runtime``, else the artifact's) and wait for it."""
    port = free_port()
    log = Path(tempfile.mkdtemp()) / "server.log"
    env = {"STANCE_MODEL": tag} | ({"STANCE_RUNTIME": runtime} if runtime else {})
    proc = start_server(port, log, **env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, log)
    except RuntimeError:
        stop(proc)
        raise
    return url, proc, log


def memory_summary(rss: list[float]) -> dict[str, float]:
    """Memory after the first sample (warm) and at the end; growth in MiB and percent."""
    warm, end = rss[1] if len(rss) > 1 else rss[0], rss[-1]
    return {
        "warm_mb": warm,
        "end_mb": end,
        "max_mb": max(rss),
        "growth_mb": round(end - warm, 1),
        "growth_percent": round(100 * (end - warm) / warm, 2),
    }


def soak(
    url: str, pid: int, texts: list[str], target: str, seconds: float, concurrency: int
) -> dict[str, Any]:
    """A bounded load test: errors, throughput and the server's memory over ``seconds``."""
    http_load(url, texts, target, 4, 3)  # warm-up
    result = http_load(url, texts, target, concurrency, seconds, server_pid=pid)
    return result | {"memory": memory_summary(result["rss_mb"])}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or the soak test) and print a JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default="stance-classifier:latest", help="store tag or artifact folder"
    )
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "real" / "test.jsonl")
    parser.add_argument("--n", type=int, default=512, help="sentences for in-process timing")
    parser.add_argument("--seconds", type=float, default=15.0, help="duration of each HTTP level")
    parser.add_argument(
        "--runtime",
        default=None,
        help="runtime the server uses (default: the artifact's; torch, torch-bf16, onnx-int8, ...)",
    )
    parser.add_argument(
        "--soak", type=float, default=None, metavar="SECONDS", help="run a load test this long"
    )
    parser.add_argument("--concurrency", type=int, default=32, help="clients of the load test")
    args = parser.parse_args(argv)

    from service.store import resolve_model

    folder, tag = resolve_model(args.model, "transformer")
    texts, targets = sentences(args.data, args.n)
    result: dict[str, Any] = {"model": tag, "sentences": len(texts), "server_runtime": args.runtime}
    if args.soak is not None:
        url, proc, _ = serve(tag, args.runtime)
        try:
            result["soak"] = soak(url, proc.pid, texts, targets[0], args.soak, args.concurrency)
        finally:
            stop(proc)
        print(json.dumps(result, indent=2))
        return 0 if result["soak"]["errors"] == 0 else 1

    from model.onnx_runtime import OnnxClassifier

    fp32 = load_classifier(folder, runtime="torch")
    served = load_classifier(folder, runtime=args.runtime)
    cascade = OnnxClassifier(folder, "onnx-int8")  # with the artifact's recheck margin
    result["served_runtime"] = getattr(served, "runtime", "torch")
    result["recheck_margin"] = cascade.recheck_margin
    result["in_process"] = {
        "hf_pipeline_batch1": hf_pipeline(base_encoder(fp32), texts[:128], targets[:128]),
        "hf_pipeline_batch32": hf_pipeline(base_encoder(fp32), texts, targets, batch_size=32),
        "torch_fp32": in_process(fp32, texts, targets),
        "torch_bf16": in_process(load_classifier(folder, runtime="torch-bf16"), texts, targets),
        "onnx_fp32": in_process(OnnxClassifier(folder, "onnx-fp32"), texts, targets),
        "onnx_int8_plain": in_process(
            OnnxClassifier(folder, "onnx-int8", recheck_margin=0.0), texts, targets
        ),
        "onnx_int8_cascade": in_process(cascade, texts, targets),
        "served": in_process(served, texts, targets),
    }
    result["cascade_rechecked_share"] = cascade.items_rechecked / max(1, cascade.items_seen)
    flops = flops_per_sentence(cascade, texts, targets)
    peak, basis = cpu_peak_gflops()
    result["compute"] = {
        "gflops_per_sentence": round(flops / 1e9, 3),
        "peak_fp32_gflops": round(peak, 1),
        "peak_basis": basis,
        "achieved_gflops": {k: round(v * flops / 1e9, 1) for k, v in result["in_process"].items()},
        "share_of_fp32_peak": {
            k: round(v * flops / 1e9 / peak, 3) for k, v in result["in_process"].items()
        },
    }
    from model.document import split_sentences

    document = (ROOT / "seeds" / "002_9277c9cbf569add1.txt").read_text(encoding="utf-8")
    doc_sentences = [span.text for span in split_sentences(document)]
    doc_targets = [served.config.default_target] * len(doc_sentences)
    served.predict_proba(doc_sentences, doc_targets)  # warm
    start = time.perf_counter()
    for _ in range(8):
        served.predict_proba(doc_sentences, doc_targets)
    result["in_process"]["served_documents"] = (
        8 * len(doc_sentences) / (time.perf_counter() - start)
    )
    del fp32, served, cascade  # the server gets the cores and the memory
    url, proc, _ = serve(tag, args.runtime)
    try:
        http_load(url, texts, targets[0], 4, 3)  # warm-up
        levels = [(1, 1), (4, 1), (16, 1), (16, 8)]  # (concurrency, sentences per request)
        result["http"] = [
            http_load(url, texts, targets[0], c, args.seconds, per_request=k) for c, k in levels
        ]
        result["http_documents"] = http_documents(url, document, 8, args.seconds)
    finally:
        stop(proc)
    ip = result["in_process"]
    by_level = {(h["concurrency"], h["sentences_per_request"]): h for h in result["http"]}
    result["ratios"] = {
        "served_over_torch_fp32": ip["served"] / ip["torch_fp32"],
        "served_over_onnx_fp32": ip["served"] / ip["onnx_fp32"],
        "served_over_hf_pipeline": ip["served"] / ip["hf_pipeline_batch1"],
        "served_over_hf_pipeline_batch32": ip["served"] / ip["hf_pipeline_batch32"],
        "bf16_over_torch_fp32": ip["torch_bf16"] / ip["torch_fp32"],
        "int8_plain_over_torch_fp32": ip["onnx_int8_plain"] / ip["torch_fp32"],
        "int8_cascade_over_torch_fp32": ip["onnx_int8_cascade"] / ip["torch_fp32"],
        "http_c16_over_in_process": by_level[16, 1]["sentences_per_s"] / ip["served"],
        "http_c16x8_over_in_process": by_level[16, 8]["sentences_per_s"] / ip["served"],
        "http_documents_c8_over_in_process": result["http_documents"]["sentences_per_s"]
        / ip["served_documents"],
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
