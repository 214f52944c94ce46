"""Public benchmarks converted to corpus files (data read from ../shared/benchmarks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import main
from cli.train import benchmark_config
from model.labels import TASKS
from training.data import read_examples
from training.public_sets import BENCHMARKS, materialize, scored_metrics

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "benchmarks"
PLACEHOLDER = {"stance": "none", "sentiment": "neutral"}

# Split sizes with the default seed (13).
EXPECTED = {
    # official TweetEval splits (2620/294/1249, SOURCE.txt)
    "tweeteval_stance": {"train": 2620, "validation": 294, "test": 1249},
    # Task A train (2814) split 90/10; Task B gold test (707)
    "semeval_task_b": {"train": 2533, "validation": 281, "test": 707},
    # 50Agree (4846 lines, 4838 distinct sentences) split 80/20 then 90/10 by distinct sentence
    "financial_phrasebank": {"train": 3489, "validation": 387, "test": 970, "allagree_test": 455},
    # train 8739 targets less the 4 in sentences that also occur in devtest_rw (1146 targets)
    "newsmtsc": {"train": 7868, "validation": 867, "test": 1146},
}


@pytest.fixture
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"the public benchmarks are not present at {SHARED}")
    return SHARED


def texts_of(path: str) -> set[str]:
    return {e.text for e in read_examples(path)}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_materialize_counts_and_labels(name, shared, tmp_path):
    files = materialize(name, tmp_path, root=shared)
    assert {k: v["count"] for k, v in files.items()} == EXPECTED[name]
    task = BENCHMARKS[name].task
    other = "sentiment" if task == "stance" else "stance"
    for set_name, info in files.items():
        examples = read_examples(info["path"])  # validates fields and labels
        assert Path(info["path"]) == tmp_path / f"{set_name}.jsonl"
        assert len(examples) == info["count"]
        assert len({e.id for e in examples}) == len(examples)
        assert {getattr(e, other) for e in examples} == {PLACEHOLDER[other]}
        assert {getattr(e, task) for e in examples} == set(TASKS[task])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_no_text_shared_across_splits(name, shared, tmp_path):
    files = materialize(name, tmp_path, root=shared)
    train, validation, test = (texts_of(files[k]["path"]) for k in ("train", "validation", "test"))
    assert not train & test
    assert not validation & test
    if name != "tweeteval_stance":  # official TweetEval train and val share two tweets
        assert not train & validation


def test_phrasebank_split_is_seeded(shared, tmp_path):
    first = materialize("financial_phrasebank", tmp_path / "a", seed=13, root=shared)
    again = materialize("financial_phrasebank", tmp_path / "b", seed=13, root=shared)
    other = materialize("financial_phrasebank", tmp_path / "c", seed=14, root=shared)
    read = Path.read_text
    assert read(Path(first["test"]["path"])) == read(Path(again["test"]["path"]))
    assert read(Path(first["test"]["path"])) != read(Path(other["test"]["path"]))
    assert texts_of(first["allagree_test"]["path"]) <= texts_of(first["test"]["path"])


def test_tweeteval_targets_and_semeval_test_target(shared, tmp_path):
    files = materialize("tweeteval_stance", tmp_path / "t", root=shared)
    targets = {e.target for e in read_examples(files["test"]["path"])}
    assert targets == {
        "legalization of abortion",
        "atheism",
        "climate change is a real concern",
        "feminist movement",
        "Hillary Clinton",
    }
    files = materialize("semeval_task_b", tmp_path / "s", root=shared)
    assert {e.target for e in read_examples(files["test"]["path"])} == {"Donald Trump"}
    assert "Donald Trump" not in {e.target for e in read_examples(files["train"]["path"])}


def test_bad_name_message(tmp_path):
    with pytest.raises(ValueError) as err:
        materialize("imdb", tmp_path)
    assert str(err.value) == (
        "unknown benchmark 'imdb'; valid names: "
        "financial_phrasebank, newsmtsc, semeval_task_b, tweeteval_stance"
    )


def test_missing_data_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        materialize("newsmtsc", tmp_path / "out", root=tmp_path / "nowhere")
    message = str(err.value)
    assert (
        str(tmp_path / "nowhere" / "newsmtsc" / "NewsMTSC-dataset" / "devtest_rw.jsonl") in message
    )
    assert "../shared/benchmarks" in message and "must be present" in message


def test_cli_prepare_only(shared, tmp_path, capsys):
    assert main(["benchmark", "semeval_task_b", "--out", str(tmp_path), "--prepare-only"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["task"] == "stance"
    assert {k: v["count"] for k, v in out["files"].items()} == EXPECTED["semeval_task_b"]
    assert (tmp_path / "train.jsonl").is_file()


def test_cli_bad_name_is_one_line(capsys):
    assert main(["benchmark", "imdb", "--prepare-only"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown benchmark 'imdb'; valid names: ")
    assert err.count("\n") == 1


def test_benchmark_config_points_at_files(tmp_path):
    sets = ("train", "validation", "test", "allagree_test")
    files = {k: {"path": str(tmp_path / f"{k}.jsonl"), "count": 1} for k in sets}
    config = benchmark_config("financial_phrasebank", files, epochs=1.5)
    assert [src.path for src in config.data.train] == [tmp_path / "train.jsonl"]
    assert config.data.test == tmp_path / "test.jsonl"
    assert config.data.extra_eval == {"allagree_test": tmp_path / "allagree_test.jsonl"}
    assert config.transformer.epochs == 1.5
    assert config.transformer.max_length == 128
    assert config.serving.runtime == "torch"
    assert str(config.output.reports_dir) == "reports/benchmarks"
    unchanged = benchmark_config("financial_phrasebank", files)
    assert unchanged.transformer.epochs == 3
    with pytest.raises(ValueError, match="--epochs"):
        benchmark_config("financial_phrasebank", files, epochs=0)


@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_bench_configs_load(name):
    files = {k: {"path": f"/x/{k}.jsonl", "count": 1} for k in ("train", "validation", "test")}
    config = benchmark_config(name, files)
    assert config.output.model_name == f"stance-bench-{name.replace('_', '-')}"
    assert config.transformer.epochs == 3


def test_scored_metrics_keep_only_the_scored_task():
    from model.metrics import RunMetrics

    def task(**m: float) -> dict:
        confusion = {"labels": ["a", "b", "c"], "matrix": [[0] * 3] * 3}
        return {"metrics": m, "ci95": {}, "per_class": {}, "confusion": confusion, "ece": 0.0,
                "reliability": []}  # fmt: skip

    by_task = {
        "stance": task(f_avg=0.61234, macro_f1=0.5, accuracy=0.7),
        "sentiment": task(f_avg=0.0, macro_f1=0.81234, accuracy=0.85),
    }
    results = RunMetrics.model_validate(
        {"run_id": "r", "created": "now", "results": {"test": {"transformer": by_task,
                                                               "baseline": by_task}}}
    )  # fmt: skip
    assert scored_metrics("semeval_task_b", results) == {
        "test": {"transformer": {"f_avg": 0.6123}, "baseline": {"f_avg": 0.6123}}
    }
    assert scored_metrics("newsmtsc", results)["test"]["baseline"] == {
        "accuracy": 0.85,
        "macro_f1": 0.8123,
    }
