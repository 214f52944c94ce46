"""The `stance` command, in-process, over the tiny trained model."""

import json
import re
from pathlib import Path

import pytest

from training.cli import main


def artifact_root(run: dict) -> Path:
    return Path(run["out"]) / "runs" / run["run_id"] / "artifact"


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

    info = bentoml.models.get(tiny_run["model_tag"]).info.metadata
    assert info["data_hash"] == tiny_run["data_hash"]
    assert info["config"]["name"] == "fixture"
    assert "test/transformer/stance_macro_f1" in info["metrics"]


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
            ["predict", "--input", "missing.jsonl", "--model", "."],
            "error: input file missing.jsonl not found",
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


def test_predict_rejects_bad_jsonl_lines(tiny_run, tmp_path, capsys):
    src = tmp_path / "bad.jsonl"
    src.write_text('{"text": "ok"}\n{"text": 3}\n')
    assert main(["predict", "--input", str(src), "--model", tiny_run["model_tag"]]) == 2
    assert re.search(
        r"bad.jsonl:2: field 'text' must be a non-empty string", capsys.readouterr().err
    )


def test_data_check_on_the_project_corpus(capsys):
    assert main(["data", "check", "data"]) == 0
    assert "corpus check: ok" in capsys.readouterr().out


def test_every_subcommand_has_help(capsys):
    for cmd in ("train", "predict", "evaluate", "serve", "data"):
        with pytest.raises(SystemExit) as info:
            main([cmd, "--help"])
        assert info.value.code == 0
        assert "usage: stance " + cmd in capsys.readouterr().out


def test_export_with_config_regates_and_records_the_runtime(tiny_run, tmp_path, capsys):
    import shutil

    from model.artifact import ArtifactConfig
    from model.onnx_runtime import RECHECK_KEY

    src = Path(tiny_run["out"]) / "runs" / tiny_run["run_id"] / "artifact" / "transformer"
    folder = tmp_path / "transformer"
    shutil.copytree(src, folder)
    config = Path(tiny_run["out"]) / "tiny.yaml"
    assert main(["export", "--model", str(folder), "--config", str(config)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["candidate"] == "onnx-int8"
    assert out["runtime"] in ("onnx-int8", "onnx-fp32", "torch")
    assert set(out["parity"]) == {"stance", "sentiment"}
    stored = ArtifactConfig.read(folder).extra
    assert stored["runtime"] == out["runtime"]
    assert stored[RECHECK_KEY] == out["recheck_margin"]


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
