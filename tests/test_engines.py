"""`stance predict --engine ray` on a local Ray instance (2 CPUs) against the local engine."""

import json
import shutil
import sys
from pathlib import Path

import pytest

from cli import engines
from cli.main import main
from tests.conftest import FIXTURES

pytestmark = pytest.mark.ray
# int8 quantises each batch's activations with one scale, so its scores move with the sentences
# that share a batch (on either engine); ONNX fp32 answers the same on every batching.
EXACT = ["--runtime", "onnx-fp32"]


@pytest.fixture(scope="module")
def ray_instance():
    """One local Ray instance for the module; the engine joins it instead of starting its own."""
    import ray

    # Worker and GCS logs stay out of the driver's stderr, whose lines the tests pin.
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
    yield
    ray.shutdown()


def sentences(n: int) -> list[dict]:
    """``n`` input rows from the fixture corpus: some with their own target, some with context."""
    rows = []
    for path in sorted((FIXTURES / "corpus").glob("*.jsonl")):
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    out = []
    for i in range(n):
        src = rows[i % len(rows)]
        row = {"id": i, "text": src["text"] if i % 7 else f"{src['text']} ({i})"}
        if i % 3:
            row["target"] = src["target"]
        if i % 5 == 0 and src.get("context"):
            row["context"] = src["context"]
        out.append(row)
    if n > 10:
        out[10]["text"] = " ".join([out[10]["text"]] * 12)  # longer than max_length: windows
    return out


@pytest.fixture(scope="module")
def input_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ray-in") / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in sentences(500)), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def local_answers(tiny_run, input_file, tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("local-out") / "out.jsonl"
    argv = ["predict", "--input", str(input_file), "--output", str(out), *EXACT]
    assert main([*argv, "--model", tiny_run["model_tag"]]) == 0
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def assert_same_answers(got: list[dict], want: list[dict]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        scores = ("stance_scores", "sentiment_scores")
        assert {k: v for k, v in g.items() if k not in scores} == {
            k: v for k, v in w.items() if k not in scores
        }
        for key in scores:
            assert g[key].keys() == w[key].keys()
            assert all(abs(g[key][c] - w[key][c]) <= 1e-6 for c in w[key]), (g, w)


def test_ray_jsonl_equals_the_local_engine(
    ray_instance, tiny_run, input_file, local_answers, tmp_path, capsys
):
    out = tmp_path / "ray.jsonl"
    argv = ["predict", "--engine", "ray", "--input", str(input_file), "--output", str(out)]
    assert main([*argv, *EXACT, "--model", tiny_run["model_tag"], "--batch-size", "64"]) == 0
    got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in got] == list(range(500))  # input order
    assert_same_answers(got, local_answers)
    assert max(r["windows"] for r in got) > 1
    assert capsys.readouterr().err.endswith(f"wrote 500 predictions to {out}\n")


def test_ray_parquet_shards_hold_the_same_answers(
    ray_instance, tiny_run, input_file, local_answers, tmp_path
):
    import pyarrow.parquet as pq

    out = tmp_path / "scores.parquet"
    argv = ["predict", "--engine", "ray", "--input", str(input_file), "--output", str(out)]
    assert main([*argv, *EXACT, "--model", tiny_run["model_tag"], "--actors", "1"]) == 0
    assert list(out.glob("*.parquet"))
    rows = pq.read_table(out).to_pylist()
    present = ({k: v for k, v in r.items() if v is not None} for r in rows)
    got = sorted(present, key=lambda r: r["id"])
    assert_same_answers(got, local_answers)


def test_ray_reads_a_folder_and_writes_standard_output(ray_instance, tiny_run, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    rows = sentences(6)
    (folder / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:3]))
    (folder / "b.json").write_text("".join(json.dumps(r) + "\n" for r in rows[3:]))
    (folder / "_SUCCESS").write_text("")
    argv = ["predict", "--engine", "ray", "--input", str(folder), "--model", tiny_run["model_tag"]]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert [json.loads(line)["id"] for line in captured.out.splitlines()] == list(range(6))
    assert captured.err.endswith("wrote 6 predictions to standard output\n")


def test_bad_lines_fail_the_ray_job_with_their_line_numbers(
    ray_instance, tiny_run, tmp_path, capsys
):
    src = tmp_path / "bad.jsonl"
    src.write_text('{"text": "ok"}\n{"text": 3}\n\nnot json\n{"text": "fine too"}\n')
    out = tmp_path / "out.jsonl"
    argv = ["predict", "--engine", "ray", "--input", str(src), "--output", str(out)]
    assert main([*argv, "--model", tiny_run["model_tag"]]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: {src}:2: field 'text' must be a non-empty string",
        f"error: {src}:4: not valid JSON (Expecting value)",
        "error: 2 bad input line(s); nothing was scored: fix or remove them and run again "
        "(the local engine skips them)",
    ]
    assert not out.exists()


def test_missing_artifact_fails_before_ray_starts(tiny_run, tmp_path, capsys, monkeypatch):
    def no_ray(address):
        raise AssertionError("Ray was started")

    monkeypatch.setattr(engines, "start_ray", no_ray)
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "ok"}\n')
    missing = tmp_path / "no-such-model"
    argv = ["predict", "--engine", "ray", "--input", str(src), "--model", str(missing)]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        f"error: model folder {missing} not found: pass an artifact folder that exists or a "
        "stored tag such as stance-classifier:latest\n"
    )
    damaged = tmp_path / "damaged"
    shutil.copytree(Path(tiny_run["artifact_root"]) / "transformer", damaged)
    runtime = json.loads((damaged / "config.json").read_text())["runtime"]
    weights = {
        "torch": "model.safetensors",
        "torch-bf16": "model.safetensors",
        "onnx-fp32": "model.onnx",
    }
    (damaged / weights.get(runtime, "model.int8.onnx")).unlink()
    argv = ["predict", "--engine", "ray", "--input", str(src), "--model", str(damaged)]
    assert main(argv) == 2
    name = weights.get(runtime, "model.int8.onnx")
    err = capsys.readouterr().err
    assert err == f"error: artifact {damaged} has no usable {name}; retrain it\n"


def test_without_ray_the_engine_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.setitem(sys.modules, "ray.data", None)
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "ok"}\n')
    assert main(["predict", "--engine", "ray", "--input", str(src)]) == 2
    assert capsys.readouterr().err == (
        "error: --engine ray needs Ray, which is not installed: pip install -e '.[scale]' "
        "(or pip install 'stance-service[scale]')\n"
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--address", "auto"], "--address: only with --engine ray"),
        (
            ["--actors", "2", "--cpus-per-actor", "1"],
            "--actors and --cpus-per-actor: only with --engine ray",
        ),
        (["--engine", "ray", "--actors", "0"], "--actors must be at least 1, got 0"),
        (
            ["--engine", "ray"],
            "--engine ray reads --input: a JSONL file, a folder of them or a URI Ray reads "
            "(sentences as arguments and standard input run on the local engine)",
        ),
    ],
)
def test_engine_options_that_do_not_fit_are_one_line(extra, message, capsys):
    assert main(["predict", "a sentence", *extra]) == 2
    assert capsys.readouterr().err == f"error: {message}\n"


def test_more_actors_than_cpus_is_a_clear_error(ray_instance, tiny_run, tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "ok"}\n')
    argv = ["predict", "--engine", "ray", "--input", str(src), "--model", tiny_run["model_tag"]]
    assert main([*argv, "--actors", "3"]) == 2
    assert capsys.readouterr().err == (
        "error: --actors 3 with --cpus-per-actor 1 need 3 CPUs; the Ray cluster has 2: "
        "lower either\n"
    )
