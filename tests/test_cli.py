"""The `stance` command, in-process, over the tiny trained model."""

import json
import re
from pathlib import Path

import pytest

from cli.main import main


def artifact_root(run: dict) -> Path:
    return Path(run["artifact_root"])


def test_train_writes_report_and_store_model(tiny_run):
    report = Path(tiny_run["report_dir"])
    for name in ("metrics.json", "report.md", "report.html"):
        assert (report / name).is_file(), name
    latest = report.parent / "latest"
    assert (latest / "metrics.json").read_text() == (report / "metrics.json").read_text()
    metrics = json.loads((report / "metrics.json").read_text())
    for backend in ("transformer", "baseline"):
        stance = metrics["results"]["test"][backend]["stance"]
        assert 0 <= stance["metrics"]["macro_f1"] <= 1
        assert "f_avg" in stance["metrics"]
        assert len(stance["confusion"]["matrix"]) == 3
    assert list(report.glob("confusion_test_stance_*.png"))
    assert "data:image/png;base64," in (report / "report.html").read_text()
    assert tiny_run["model_tag"].startswith("stance-fixture:")


def test_store_metadata_holds_metrics_config_and_data_hash(tiny_run):
    import bentoml

    stored = bentoml.models.get(tiny_run["model_tag"])
    info = stored.info.metadata
    assert info["run_id"] == tiny_run["run_id"]
    assert info["metrics"] == tiny_run["metrics"].headline()
    # each stored artifact carries its own metrics.json (naming the tag) and model card
    from model.metrics import RunMetrics

    for backend in ("transformer", "baseline"):
        folder = Path(stored.path) / backend
        metrics = RunMetrics.load(folder / "metrics.json")
        assert metrics.model_tag == tiny_run["model_tag"]
        assert metrics.data_hash == tiny_run["data_hash"]
        card = (folder / "MODEL_CARD.md").read_text()
        assert card.startswith(f"# Model card: {tiny_run['model_tag']} ({backend})")
        assert "## Intended use" in card and "## Known limits and failures" in card


def test_predict_jsonl_contract(tiny_run, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(
        '{"text": "Sanctions are cruel.", "id": 7}\n'
        '{"text": "The embargo must stay.", "target": "UN sanctions on Iraq"}\n'
    )
    out = tmp_path / "out.jsonl"
    code = main(
        [
            "predict",
            "--input",
            str(src),
            "--output",
            str(out),
            "--target",
            "US sanctions",
            "--model",
            tiny_run["model_tag"],
        ]
    )
    assert code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["target"] for r in rows] == [
        "US sanctions",
        "UN sanctions on Iraq",
    ]  # own target wins
    assert rows[0]["id"] == 7  # input fields are kept
    for row in rows:
        assert row["stance"] in ("favor", "against", "none")
        assert row["sentiment"] in ("positive", "negative", "neutral")
        assert abs(sum(row["stance_scores"].values()) - 1) < 1e-6
        assert abs(sum(row["sentiment_scores"].values()) - 1) < 1e-6
        assert row["windows"] == 1


def test_predict_windows_a_long_sentence_instead_of_cutting_it(tiny_run, capsys):
    long = " ".join(["sanctions are illegal and cruel"] * 60)
    assert main(["predict", long, "--model", tiny_run["model_tag"]]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["windows"] > 1


def test_predict_streams_stdin_to_stdout_and_reads_context(tiny_run, capsys, monkeypatch):
    import io

    lines = (
        '{"text": "Sanctions are cruel.", "context": "The embargo began."}\n'
        '{"text": "Talks resume."}\n'
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    assert main(["predict", "--input", "-", "--output", "-", "--model", tiny_run["model_tag"]]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in rows] == ["Sanctions are cruel.", "Talks resume."]
    assert rows[0]["context"] == "The embargo began."


@pytest.mark.parametrize("backend", ["transformer", "baseline"])
def test_predict_sentence_argument(tiny_run, capsys, backend):
    code = main(
        [
            "predict",
            "Sanctions are illegal.",
            "--backend",
            backend,
            "--model",
            str(artifact_root(tiny_run)),
        ]
    )
    assert code == 0
    row = json.loads(capsys.readouterr().out)
    assert row["target"] == "US sanctions"  # the trained model's default target
    assert set(row) >= {"stance", "stance_scores", "sentiment", "sentiment_scores"}


def test_evaluate_prints_metrics_and_writes_report(tiny_run, corpus_dir, tmp_path, capsys):
    code = main(
        [
            "evaluate",
            "--data",
            str(corpus_dir / "test.jsonl"),
            "--model",
            tiny_run["model_tag"],
            "--reports-dir",
            str(tmp_path),
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["metrics"]["test"]) == {"transformer", "baseline"}
    assert (Path(out["report_dir"]) / "report.md").is_file()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["predict"], "error: give sentences as arguments or --input FILE.jsonl"),
        (
            ["predict", "x", "--model", "no-such-model:v1"],
            "error: model 'no-such-model:v1' is not in the BentoML store at",
        ),
        (
            ["predict", "x", "--model", "."],
            "error: . is not a model folder: it holds neither transformer/ nor config.json",
        ),
        (["train", "--config", "nope.yaml"], "error: config file nope.yaml not found"),
        (["evaluate", "--data", "nope.jsonl"], "error: corpus file nope.jsonl not found"),
        (["data", "check", "nope"], "error: nope is neither a corpus file nor a folder"),
    ],
)
def test_user_errors_exit_2_with_one_clear_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(message), err
    assert "Traceback" not in err


def test_predict_reports_bad_lines_and_classifies_the_rest(tiny_run, tmp_path, capsys):
    src = tmp_path / "bad.jsonl"
    src.write_text('{"text": "ok"}\n{"text": 3}\nnot json\n{"text": "fine too"}\n')
    assert main(["predict", "--input", str(src), "--model", tiny_run["model_tag"]]) == 1
    captured = capsys.readouterr()
    assert [json.loads(x)["text"] for x in captured.out.splitlines()] == ["ok", "fine too"]
    assert f"error: {src}:2: field 'text' must be a non-empty string" in captured.err
    assert re.search(rf"error: {re.escape(str(src))}:3: not valid JSON", captured.err)
    assert "error: 2 bad input line(s) skipped; 2 classified" in captured.err


def test_predict_missing_input_file_is_one_line(tiny_run, capsys):
    assert main(["predict", "--input", "missing.jsonl", "--model", tiny_run["model_tag"]]) == 2
    assert capsys.readouterr().err == "error: input file missing.jsonl not found\n"


def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert re.fullmatch(r"stance \d+\.\d+\.\d+\n", capsys.readouterr().out)


def test_data_check_on_the_project_corpus(capsys):
    assert main(["data", "check", "data"]) == 0
    assert "corpus check: ok" in capsys.readouterr().out


def test_every_subcommand_and_option_has_help(capsys):
    import argparse

    from cli.main import build_parser

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, [*path, name])
            elif action.dest != "help":
                assert action.help, f"stance {' '.join(path)} {action.option_strings} has no help"

    walk(build_parser(), [])
    for cmd in ("train", "predict", "evaluate", "serve", "data", "gate", "export", "benchmark"):
        with pytest.raises(SystemExit) as info:
            main([cmd, "--help"])
        assert info.value.code == 0
        assert "usage: stance " + cmd in capsys.readouterr().out


def test_export_with_config_regates_and_records_the_runtime(tiny_run, tmp_path, capsys):
    import shutil

    from model.artifact import ArtifactConfig

    src = artifact_root(tiny_run) / "transformer"
    folder = tmp_path / "transformer"
    shutil.copytree(src, folder)
    config = Path(tiny_run["out"]) / "tiny.yaml"
    assert main(["export", "--model", str(folder), "--config", str(config)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["candidate"] == "auto"
    assert out["runtime"] in out["runtimes"]
    checked = {k: v for k, v in out["runtimes"].items() if k != "torch"}  # torch is the reference
    assert checked and all(set(v["parity"]) == {"stance", "sentiment"} for v in checked.values())
    assert out["parity"] == out["runtimes"][out["runtime"]]["parity"]
    stored = ArtifactConfig.read(folder)
    assert stored.runtime == out["runtime"]
    assert stored.recheck_margin == out["recheck_margin"]


def test_serve_refuses_a_damaged_model_with_one_line(tiny_run, tmp_path, capsys):
    import shutil

    import bentoml

    from training.store import save_to_store

    artifact = tmp_path / "artifact"
    src = Path(bentoml.models.get(tiny_run["model_tag"]).path)
    shutil.copytree(src, artifact, ignore=shutil.ignore_patterns("model.yaml"))
    (artifact / "transformer" / "model.safetensors").write_bytes(b"")
    tag = save_to_store("stance-damaged", artifact, {"metrics": {}})
    assert main(["serve", "--model", tag]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: artifact ") and err.endswith(
        "has no usable model.safetensors; retrain it"
    )
    assert "\n" not in err


def test_distill_targets_feed_a_distilled_class_balanced_run(
    tiny_run, corpus_dir, tiny_encoder, tmp_path, capsys
):
    from tests.conftest import write_config
    from training.config import load_config
    from training.pipeline import run_training

    targets = tmp_path / "teacher.jsonl"
    code = main(["distill-targets", "--model", tiny_run["model_tag"], "--data",
                 str(corpus_dir / "train.jsonl"), "--out", str(targets)])  # fmt: skip
    assert code == 0
    rows = [json.loads(x) for x in targets.read_text().splitlines()]
    n_train = len((corpus_dir / "train.jsonl").read_text().splitlines())
    assert len(rows) == n_train and len(rows[0]["stance_logits"]) == 3
    distill = {"targets": str(targets), "weight": 0.5, "temperature": 2.0}
    config = load_config(write_config(tmp_path / "d.yaml", corpus_dir, str(tiny_encoder), tmp_path,
                                      epochs=1, distill=distill, class_balanced=True))  # fmt: skip
    run = run_training(config, save=False)
    assert run.metrics.config["transformer"]["distill"]["weight"] == 0.5
    assert 0 <= run.metrics.value("test/transformer/stance/macro_f1") <= 1
