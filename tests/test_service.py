"""The real BentoML server: `bentoml serve` in a subprocess on 127.0.0.1, a real HTTP client,
and a model fine-tuned from the real MiniLM encoder (the fixtures `real_model_tag`, `server` and
`server_process` are in conftest.py: the browser tests share the same server)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support import launch
from tests.support.launch import free_port, stop, wait_ready

pytestmark = [pytest.mark.server, pytest.mark.encoder]


def start_server(tag: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    return launch.start_server(port, log, STANCE_MODEL=tag, STANCE_BACKEND="transformer")


def test_classify_returns_contract_fields_in_order(server, real_model_tag):
    sentences = [
        "Putin called US’ sanctions against Iran violation of human rights.",
        "The ministry said the measures took effect on Monday.",
        "We welcome the Security Council's decision to tighten sanctions.",
    ]
    r = httpx.post(
        f"{server}/classify", json={"sentences": sentences, "target": "US sanctions"}, timeout=60
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == real_model_tag
    assert [x["text"] for x in body["results"]] == sentences
    for res in body["results"]:
        assert res["stance"] in ("favor", "against", "none")
        assert res["sentiment"] in ("positive", "negative", "neutral")
        assert abs(sum(res["stance_scores"].values()) - 1) < 1e-5
        assert abs(sum(res["sentiment_scores"].values()) - 1) < 1e-5
        assert res["model"] == real_model_tag
        assert res["target"] == "US sanctions"


def test_default_target_is_the_models_in_http_and_cli(server, real_model_tag, capsys):
    from cli.main import main

    info = httpx.get(f"{server}/info", timeout=30).json()
    r = httpx.post(f"{server}/classify", json={"sentences": ["Sanctions hurt."]}, timeout=60)
    assert r.status_code == 200, r.text
    assert r.json()["target"] == info["default_target"] == "Fixture sanctions"
    assert main(["predict", "Sanctions hurt.", "--model", real_model_tag]) == 0
    assert json.loads(capsys.readouterr().out)["target"] == info["default_target"]


def test_classify_windows_a_long_sentence_and_reads_contexts(server):
    long = "Sanctions " + " ".join(["hurt"] * 400) + "."
    r = httpx.post(
        f"{server}/classify",
        json={"sentences": [long, "They must end."], "contexts": [None, "The embargo began."]},
        timeout=120,
    )
    assert r.status_code == 200, r.text
    windows = [x["windows"] for x in r.json()["results"]]
    assert windows[0] > 1 and windows[1] == 1
    bad = httpx.post(
        f"{server}/classify", json={"sentences": ["a", "b"], "contexts": [None]}, timeout=30
    )
    assert bad.status_code == 400
    assert "contexts has 1 entries for 2 sentences; send one context (or null) per sentence" in (
        bad.text
    )


def test_concurrent_requests_are_answered_each_with_its_own_sentences(server):
    import concurrent.futures as cf

    def one(i: int) -> list[str]:
        sents = [f"Sentence {i} number {j} about the embargo." for j in range(i % 3 + 1)]
        r = httpx.post(f"{server}/classify", json={"sentences": sents}, timeout=60)
        assert r.status_code == 200, r.text
        assert [x["text"] for x in r.json()["results"]] == sents
        return sents

    with cf.ThreadPoolExecutor(8) as pool:
        assert len(list(pool.map(one, range(16)))) == 16


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"sentences": []}, "at least 1 item"),
        ({"sentences": [""]}, "sentence 0 is empty or whitespace"),
        ({"sentences": ["   "]}, "sentence 0 is empty or whitespace"),
        ({"sentences": [3]}, "valid string"),
        ({"sentences": None}, "Input should be a valid array"),
        ({}, "Field required"),
        ({"sentences": ["ok"], "colour": "red"}, "Extra inputs are not permitted"),
        ({"sentences": ["ok"] * 1001}, "at most 1000 items"),
        ({"sentences": ["ok"] * 5000}, "at most 1000 items"),
        ({"sentences": ["a" * 5001]}, "sentence 0 has 5001 characters; the limit is 5000"),
        ({"sentences": ["a" * 100_000]}, "sentence 0 has 100000 characters; the limit is 5000"),
        ({"sentences": ["ok"], "target": ""}, "target is empty or whitespace"),
    ],
)
def test_bad_input_is_a_clear_4xx(server, payload, fragment):
    r = httpx.post(f"{server}/classify", json=payload, timeout=60)
    assert 400 <= r.status_code < 500, r.text
    assert fragment in r.text


def test_invalid_json_is_4xx_and_server_keeps_serving(server):
    r = httpx.post(
        f"{server}/classify",
        content=b"{not json",
        timeout=30,
        headers={"content-type": "application/json"},
    )
    assert 400 <= r.status_code < 500
    ok = httpx.post(f"{server}/classify", json={"sentences": ["still up?"]}, timeout=60)
    assert ok.status_code == 200


def test_health_and_metrics_endpoints(server):
    assert httpx.get(f"{server}/livez", timeout=10).status_code == 200
    assert httpx.get(f"{server}/readyz", timeout=10).status_code == 200
    metrics = httpx.get(f"{server}/metrics", timeout=10)
    assert metrics.status_code == 200
    assert "bentoml_service_request" in metrics.text


def sample(text: str, name: str) -> float:
    """The value of an unlabelled Prometheus sample in a /metrics page (0 before its first use)."""
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_batches_items_and_windows(server):
    before = httpx.get(f"{server}/metrics", timeout=10).text
    long = " ".join(["The sanctions on Iran are illegal and must be lifted now."] * 40)
    r = httpx.post(f"{server}/classify", json={"sentences": ["Sanctions hurt.", long]}, timeout=60)
    assert r.status_code == 200 and r.json()["results"][1]["windows"] > 1
    after = httpx.get(f"{server}/metrics", timeout=10).text
    assert "\nstance_items_total " in after
    assert sample(after, "stance_items_total") - sample(before, "stance_items_total") == 2
    assert (
        sample(after, "stance_windowed_items_total") - sample(before, "stance_windowed_items_total")
        == 1
    )
    assert sample(after, "stance_batch_items_count") > sample(before, "stance_batch_items_count")
    assert sample(after, "stance_batch_queue_seconds_count") >= 1
    assert "stance_int8_rechecked_items_total" in after


def failed_start_log(log: Path, **env: str) -> str:
    """Start a server that must refuse to start; return its log once it has exited non-zero."""
    proc = launch.start_server(free_port(), log, **env)
    try:
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"server with {env} kept running (a worker restart loop?)")
    assert proc.returncode != 0
    return log.read_text()


def test_missing_model_fails_start_with_a_clear_message(tmp_path):
    text = failed_start_log(tmp_path / "server.log", STANCE_MODEL="stance-classifier:nosuch")
    assert (
        "error: cannot serve stance-classifier:nosuch: model 'stance-classifier:nosuch' is not in "
        "the BentoML store at" in text
    )
    assert "Traceback" not in text


def test_classify_document_returns_offsets_aggregate_and_evidence(server):
    text = Path("seeds/002_9277c9cbf569add1.txt").read_text(encoding="utf-8")
    r = httpx.post(
        f"{server}/classify_document",
        json={"text": text, "targets": ["US sanctions on Iran", "UN sanctions"]},
        timeout=120,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert [x["target"] for x in body["results"]] == ["US sanctions on Iran", "UN sanctions"]
    assert body["n_sentences"] >= 8
    for res in body["results"]:
        assert len(res["sentences"]) == body["n_sentences"]
        for s in res["sentences"]:
            assert text[s["start"] : s["end"]] == s["text"]
        assert res["stance"] in ("favor", "against", "none")
        assert abs(sum(res["stance_distribution"].values()) - 1) < 1e-5
        assert all(res["sentences"][i]["stance"] == res["stance"] for i in res["evidence"])


def test_classify_docs_gives_what_the_server_answers_on_the_seeds(server, real_model_tag, capsys):
    """One code path: `stance classify-docs` and POST /classify_document agree to the last bit."""
    from cli.main import main
    from tests.support.documents import as_api_results, read_rows

    targets = ["US sanctions on Iran", "UN sanctions"]
    argv = ["classify-docs", "seeds", "--format", "jsonl", "--model", real_model_tag]
    assert main([*argv, "--target", targets[0], "--target", targets[1]]) == 0
    rows = read_rows(capsys.readouterr().out)
    seeds = sorted(Path("seeds").glob("*.txt"))
    assert sorted({r["document"] for r in rows}) == [str(p) for p in seeds]
    for path in seeds:
        text = path.read_text(encoding="utf-8")
        r = httpx.post(
            f"{server}/classify_document", json={"text": text, "targets": targets}, timeout=120
        )
        assert r.status_code == 200, r.text
        assert as_api_results(rows, str(path)) == r.json()["results"]
    assert any(r["windows"] > 1 for r in rows if r["kind"] == "sentence")  # windows agree too


def test_long_sentence_is_windowed_not_truncated(server):
    text = "Sanctions " + " ".join(["hurt"] * 400) + "."
    r = httpx.post(f"{server}/classify_document", json={"text": text}, timeout=120)
    assert r.status_code == 200, r.text
    assert r.json()["windowed_sentences"] == 1
    assert r.json()["results"][0]["sentences"][0]["windows"] > 1


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"text": ""}, "text is empty or whitespace"),
        ({"text": "ok", "targets": []}, "at least 1 item"),
        ({"text": "ok", "targets": ["a"] * 11}, "at most 10 items"),
        ({"text": "a" * 200_001}, "text has 200001 characters; the limit is 200000"),
        ({"text": "ok", "extra": 1}, "Extra inputs are not permitted"),
    ],
)
def test_bad_document_input_is_a_clear_4xx(server, payload, fragment):
    r = httpx.post(f"{server}/classify_document", json=payload, timeout=60)
    assert 400 <= r.status_code < 500, r.text
    assert fragment in r.text


def test_info_describes_the_served_model(server, real_model_tag):
    r = httpx.post(f"{server}/info", json={}, timeout=30)
    assert r.status_code == 200, r.text
    info = r.json()
    assert info["model"] == real_model_tag
    assert info["labels"]["stance"] == ["favor", "against", "none"]
    assert info["temperatures"]["fitted"] is True
    assert "test/transformer/stance_macro_f1" in info["metrics"]
    assert info["limits"]["max_sentences"] == 1000
    assert info["reads_context"] is False


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b'{"sentences": ["\xff\xfe bad utf-8"]}', {"content-type": "application/json"}),
        (b"sentences=hello", {"content-type": "application/x-www-form-urlencoded"}),
        (b"just text", {"content-type": "text/plain"}),
    ],
)
def test_undecodable_or_wrong_content_type_is_4xx(server, content, headers):
    r = httpx.post(f"{server}/classify", content=content, headers=headers, timeout=30)
    assert 400 <= r.status_code < 500, r.text


def test_non_json_content_type_is_415_with_what_to_send(server):
    for path in ("/classify", "/classify_document", "/info", "/infer"):
        r = httpx.post(
            f"{server}{path}", content=b"{}", headers={"content-type": "multipart/form-data"}
        )
        assert r.status_code == 415, (path, r.text)
        assert "send a JSON body with 'Content-Type: application/json'" in r.text


@pytest.mark.parametrize(
    ("pairs", "fragment"),
    [
        ([[]], "pairs[0] has 0 items; expected [sentence, target]"),
        ([["a", "b", "c"]], "pairs[0] has 3 items"),
        ([["ok", "US sanctions"], ["", "US sanctions"]], "pairs[1] sentence is empty"),
        ([["ok", " "]], "pairs[0] target is empty or whitespace"),
    ],
)
def test_infer_rejects_malformed_pairs(server, pairs, fragment):
    r = httpx.post(f"{server}/infer", json={"pairs": pairs}, timeout=30)
    assert r.status_code == 400, r.text
    assert fragment in r.text


def test_infer_answers_six_probabilities_per_pair(server):
    r = httpx.post(f"{server}/infer", json={"pairs": [["Sanctions hurt.", "US sanctions"]]})
    assert r.status_code == 200, r.text
    (row,) = r.json()
    assert len(row) == 6
    assert abs(sum(row[:3]) - 1) < 1e-6 and abs(sum(row[3:]) - 1) < 1e-6


def test_ten_megabyte_body_is_a_clear_4xx(server):
    r = httpx.post(f"{server}/classify", json={"sentences": ["a" * 10_000_000]}, timeout=120)
    assert 400 <= r.status_code < 500
    assert "the limit is 5000" in r.text


def test_nul_control_character_is_rejected(server):
    r = httpx.post(f"{server}/classify", json={"sentences": ["bad\x00text"]}, timeout=30)
    assert r.status_code == 400
    assert "sentence 0 contains a NUL character" in r.text


def test_rtl_emoji_and_control_text_are_answered(server):
    sentences = [
        "العقوبات الأمريكية على إيران غير قانونية",
        "Sanctions 🚫🇮🇷 now!",
        "tab\there\r\nnewline",
    ]
    r = httpx.post(f"{server}/classify", json={"sentences": sentences}, timeout=60)
    assert r.status_code == 200, r.text
    assert [x["text"] for x in r.json()["results"]] == sentences


def test_get_info_answers_what_post_info_does(server, real_model_tag):
    got = httpx.get(f"{server}/info", timeout=30)
    assert got.status_code == 200, got.text
    posted = httpx.post(f"{server}/info", json={}, timeout=30).json()
    assert got.json() == posted
    from model.artifact import ArtifactConfig, served_runtime
    from service.store import resolve_model

    config = ArtifactConfig.read(resolve_model(real_model_tag, "transformer")[0])
    assert posted["runtime"] == served_runtime(config, None)  # the one training chose to serve


def test_openapi_fuzz_gets_no_server_error(server, tmp_path):
    """Schemathesis generates valid and invalid bodies from /docs.json: none may get a 5xx."""
    import shutil
    import sys

    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert cli, "schemathesis is a dev dependency: pip install -e '.[dev]'"
    run = subprocess.run(
        [cli, "run", f"{server}/docs.json", "--checks", "not_a_server_error",
         "--max-examples", "40", "--workers", "1", "--request-timeout", "60",
         "--suppress-health-check", "all", "--seed", "7"],
        capture_output=True, text=True, timeout=900, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "/classify" in run.stdout and "/classify_document" in run.stdout
    ok = httpx.post(f"{server}/classify", json={"sentences": ["still serving?"]}, timeout=60)
    assert ok.status_code == 200


def test_bounded_load_has_no_errors_and_stable_memory(server_process):
    """32 clients for 20 s on 127.0.0.1 (the benchmark's --soak 60 runs the longer version)."""
    from benchmarks.serving import sentences, soak

    url, pid = server_process
    texts, targets = sentences(Path("data/written/test.jsonl"), 256)
    result = soak(url, pid, texts, targets[0], seconds=20, concurrency=32)
    assert result["errors"] == 0, result["first_errors"]
    assert result["requests"] > 32
    # Memory after warm-up may settle a little; a leak under this load would grow it steadily.
    assert result["memory"]["growth_percent"] < 10, result["rss_mb"]


def test_corrupt_model_fails_start_with_a_clear_message(real_model_tag, tmp_path):
    import shutil

    import bentoml

    from training.store import save_to_store

    artifact = tmp_path / "artifact"
    src = Path(bentoml.models.get(real_model_tag).path)
    shutil.copytree(src, artifact, ignore=shutil.ignore_patterns("model.yaml"))
    (artifact / "transformer" / "model.safetensors").write_bytes(b"not a safetensors file")
    tag = save_to_store("stance-corrupt", artifact, {"metrics": {}})
    text = failed_start_log(tmp_path / "server.log", STANCE_MODEL=tag, STANCE_RUNTIME="torch")
    assert f"error: cannot serve {tag}: corrupt transformer weights" in text
    assert "Traceback" not in text


def test_ready_means_the_model_is_loaded(real_model_tag, tmp_path):
    """/readyz turns 200 only once the model answers: /info is never 'still loading' then."""
    port = free_port()
    proc = start_server(real_model_tag, port, tmp_path / "server.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, tmp_path / "server.log")
        info = httpx.get(f"{url}/info", timeout=10)
        assert info.status_code == 200, info.text
        assert info.json()["model"] == real_model_tag
    finally:
        stop(proc)


def test_sigterm_to_stance_serve_stops_the_server_and_frees_the_port(real_model_tag, tmp_path):
    """A supervisor stops services with SIGTERM: nothing may be left holding the port."""
    import os
    import signal
    import socket
    import sys
    import time

    import psutil

    port = free_port()
    log = tmp_path / "serve.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--model", real_model_tag, "--port", str(port)],
        cwd=launch.ROOT, env=os.environ.copy(), stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, log)
        children = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(c.is_running() for c in children):
            time.sleep(0.2)
        alive = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
        assert not alive, [c.cmdline() for c in alive]
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))  # the port is free again
    finally:
        if proc.poll() is None:
            proc.kill()


def test_serve_a_model_folder_directly(real_model_tag, tmp_path):
    import shutil

    import bentoml

    folder = tmp_path / "model"
    shutil.copytree(Path(bentoml.models.get(real_model_tag).path), folder)
    port = free_port()
    proc = launch.start_server(port, tmp_path / "server.log", STANCE_MODEL=str(folder))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, tmp_path / "server.log")
        info = httpx.get(f"{url}/info", timeout=10).json()
        assert info["model"] == str(folder.resolve())
        r = httpx.post(f"{url}/classify", json={"sentences": ["Sanctions hurt."]}, timeout=60)
        assert r.status_code == 200, r.text
    finally:
        stop(proc)


def test_two_workers_each_load_the_model_and_answer(real_model_tag, tmp_path):
    """STANCE_WORKERS=2: two worker processes, both serving, same answers as one."""
    import psutil

    port = free_port()
    log = tmp_path / "server.log"
    proc = launch.start_server(
        port, log, STANCE_MODEL=real_model_tag, STANCE_WORKERS="2", STANCE_THREADS="1"
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, log)
        workers = [
            c
            for c in psutil.Process(proc.pid).children(recursive=True)
            if "_bentoml_impl.worker.service" in " ".join(c.cmdline())
        ]
        assert len(workers) == 2, [c.cmdline() for c in workers]
        body = {"sentences": ["Sanctions on Iran must end.", "The embargo stays."]}
        answers = {
            json.dumps(httpx.post(f"{url}/classify", json=body, timeout=60).json()["results"])
            for _ in range(8)
        }
        assert len(answers) == 1  # whichever worker answered, the same labels and scores
    finally:
        stop(proc)
