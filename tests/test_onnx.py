"""ONNX export and the ONNX Runtime backend, on the tiny model."""

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from model import load_classifier
from model.artifact import ArtifactConfig, served_runtime
from model.hardware import cpu_flags
from model.onnx_runtime import OnnxClassifier, top_two_margin
from training.config import ServingConfig
from training.data import Example
from training.export import (
    RECHECK_MARGINS,
    candidates,
    choose_recheck_margin,
    choose_runtime,
    export_onnx,
    parity,
)

TEXTS = ["Sanctions on Iran are illegal.", "The embargo must stay in place until it complies.", "x"]
TARGETS = ["US sanctions on Iran", "UN sanctions on Iraq", "US sanctions"]
EXAMPLES = [
    Example(id=str(i), text=t, target=g, stance=s, sentiment=m, doc_id=str(i))
    for i, (t, g, s, m) in enumerate(
        zip(
            TEXTS,
            TARGETS,
            ["favor", "against", "none"],
            ["negative", "negative", "neutral"],
            strict=True,
        )  # fmt: skip
    )
]


@pytest.fixture(scope="module")
def exported(tiny_run, tmp_path_factory) -> Path:
    src = Path(tiny_run["artifact_root"]) / "transformer"
    dst = tmp_path_factory.mktemp("onnx") / "transformer"
    shutil.copytree(src, dst)
    export_onnx(dst)
    return dst


def test_fp32_onnx_matches_torch(exported):
    torch_clf = load_classifier(exported, runtime="torch")
    onnx_clf = load_classifier(exported, runtime="onnx-fp32")
    assert isinstance(onnx_clf, OnnxClassifier)
    a, b = torch_clf.logits(TEXTS, TARGETS), onnx_clf.logits(TEXTS, TARGETS)
    np.testing.assert_allclose(a["stance"], b["stance"], atol=1e-4)
    np.testing.assert_allclose(a["sentiment"], b["sentiment"], atol=1e-4)


def test_int8_honours_the_contract(exported):
    clf = load_classifier(exported, runtime="onnx-int8")
    probs = clf.predict_proba(TEXTS, TARGETS)
    assert probs.stance.shape == (3, 3)
    np.testing.assert_allclose(probs.stance.sum(axis=1), 1.0, atol=1e-9)
    assert clf.predict([], []) == []
    import onnx

    ops = {n.op_type for n in onnx.load(str(exported / "model.int8.onnx")).graph.node}
    assert "DynamicQuantizeLinear" in ops  # the encoder's MatMuls really run in int8


def test_parity_report_has_both_tasks(exported):
    checks = parity(exported, EXAMPLES)
    for task in ("stance", "sentiment"):
        assert 0 <= checks[task]["agreement"] <= 1
        assert set(checks[task]) == {
            "agreement",
            "macro_f1_fp32",
            "macro_f1_candidate",
            "f1_drop_points",
            "rechecked_share",
        }


def test_runtime_errors_are_clear(exported, tmp_path):
    with pytest.raises(
        ValueError,
        match=re.escape(
            "unknown runtime 'tpu': expected one of "
            "['torch', 'torch-bf16', 'onnx-fp32', 'onnx-int8']"
        ),
    ):
        load_classifier(exported, runtime="tpu")
    bare = tmp_path / "t"
    shutil.copytree(exported, bare)
    (bare / "model.int8.onnx").unlink()
    with pytest.raises(FileNotFoundError, match="model.int8.onnx not found"):
        OnnxClassifier(bare, "onnx-int8")


def test_training_serves_the_fastest_runtime_that_passes_parity(tiny_run):
    serving = tiny_run["metrics"].serving
    stored = ArtifactConfig.read(Path(tiny_run["artifact_root"]) / "transformer")
    assert serving.candidate == "auto"
    assert set(serving.runtimes) == {*candidates("auto"), "torch"}
    for name, r in serving.runtimes.items():
        if name != "torch":
            assert r["passed"] == all(
                c["agreement"] >= 0.99 and c["f1_drop_points"] <= 0.5 for c in r["parity"].values()
            )
    timed = {n: r["sentences_per_s"] for n, r in serving.runtimes.items() if r["passed"]}
    assert "torch" in timed and all(v > 0 for v in timed.values())
    assert serving.runtime == max(timed, key=timed.__getitem__)
    assert stored.runtime == serving.runtime
    assert stored.runtime_order == sorted(timed, key=lambda n: -timed[n])
    if "onnx-int8" in serving.runtimes:
        assert serving.recheck_margin in RECHECK_MARGINS
        assert stored.recheck_margin == serving.recheck_margin


def test_a_named_runtime_is_served_when_it_passes_else_onnx_fp32(exported, tmp_path, monkeypatch):
    import training.export

    folder = tmp_path / "named"
    shutil.copytree(exported, folder)
    loose = ServingConfig(runtime="onnx-int8", min_agreement=0.0, max_f1_drop_points=100)
    chosen = choose_runtime(folder, EXAMPLES, EXAMPLES, loose)
    assert chosen["runtime"] == "onnx-int8" and chosen["parity_passed"]
    assert list(chosen["runtimes"]) == ["onnx-int8"]  # the named one passed: nothing else tried
    monkeypatch.setattr(training.export, "passes", lambda checks, serving: False)
    chosen = choose_runtime(folder, EXAMPLES, EXAMPLES, ServingConfig(runtime="torch-bf16"))
    assert list(chosen["runtimes"]) == ["torch-bf16", "onnx-fp32"]
    assert chosen["runtime"] == "torch" and chosen["parity_passed"] is False
    assert ArtifactConfig.read(folder).runtime == "torch"


def test_bf16_runtime_stays_close_to_fp32(exported):
    fp32 = load_classifier(exported, runtime="torch")
    bf16 = load_classifier(exported, runtime="torch-bf16")
    assert bf16.runtime == "torch-bf16" and fp32.runtime == "torch"
    a, b = fp32.predict_proba(TEXTS, TARGETS), bf16.predict_proba(TEXTS, TARGETS)
    assert b.stance.dtype == np.float64
    np.testing.assert_allclose(b.stance.sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_allclose(a.stance, b.stance, atol=0.03)
    np.testing.assert_allclose(a.sentiment, b.sentiment, atol=0.03)
    assert np.abs(a.stance - b.stance).max() > 0  # it really ran in bf16


def test_a_bf16_copy_saves_the_fp32_weights(exported, tmp_path):
    from safetensors.numpy import load_file

    bf16 = load_classifier(exported, runtime="torch-bf16")
    bf16.temperatures.stance = 1.7
    bf16.save(tmp_path / "copy")
    original = load_file(str(exported / "model.safetensors"))
    saved = load_file(str(tmp_path / "copy" / "model.safetensors"))
    assert all(saved[k].dtype == np.float32 for k in saved)
    assert all(np.array_equal(original[k], saved[k]) for k in original)
    assert ArtifactConfig.read(tmp_path / "copy").temperatures.stance == 1.7


def test_bf16_gives_way_where_the_cpu_only_emulates_it(exported, monkeypatch):
    import model.hardware

    config = ArtifactConfig.read(exported).model_copy(
        update={"runtime": "torch-bf16", "runtime_order": ["torch-bf16", "onnx-int8", "torch"]}
    )
    monkeypatch.setattr(model.hardware, "native_bf16", lambda: False)
    assert served_runtime(config, None) == "onnx-int8"
    assert served_runtime(config, "torch-bf16") == "torch-bf16"  # asked for by name: runs anyway
    assert served_runtime(config.model_copy(update={"runtime_order": []}), None) == "torch"
    monkeypatch.setattr(model.hardware, "native_bf16", lambda: True)
    assert served_runtime(config, None) == "torch-bf16"


def test_cpu_flags_read_the_first_processor(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx512f amx_bf16\n\nflags\t: sse\n")
    assert cpu_flags(info) == {"fpu", "avx512f", "amx_bf16"}
    assert cpu_flags(tmp_path / "missing") == frozenset()


def test_recheck_margin_one_gives_fp32_answers(exported):
    fp32 = OnnxClassifier(exported, "onnx-fp32").logits(TEXTS, TARGETS)
    cascade = OnnxClassifier(exported, "onnx-int8", recheck_margin=1.0)
    got = cascade.logits(TEXTS, TARGETS)
    np.testing.assert_allclose(got["stance"], fp32["stance"], atol=1e-9)
    np.testing.assert_allclose(got["sentiment"], fp32["sentiment"], atol=1e-9)
    assert (cascade.items_seen, cascade.items_rechecked) == (3, 3)


def test_recheck_margin_zero_is_plain_int8(exported):
    plain = OnnxClassifier(exported, "onnx-int8", recheck_margin=0.0)
    assert plain.fp32_session is None
    plain.logits(TEXTS, TARGETS)
    assert plain.items_rechecked == 0


def test_recheck_only_redoes_close_calls(exported):
    int8 = OnnxClassifier(exported, "onnx-int8", recheck_margin=0.0)
    gaps = top_two_margin(int8.logits(TEXTS, TARGETS), int8.temperatures)
    margin = float(np.sort(gaps)[1]) + 1e-12  # exactly the closest two items fall below it
    cascade = OnnxClassifier(exported, "onnx-int8", recheck_margin=margin)
    cascade.logits(TEXTS, TARGETS)
    assert cascade.items_rechecked == 2


def test_choose_recheck_margin_stops_at_the_first_that_reaches_the_target(exported):
    margin, tried = choose_recheck_margin(exported, EXAMPLES, min_agreement=0.0)
    assert margin == 0.0 and len(tried) == 1
    margin, tried = choose_recheck_margin(exported, EXAMPLES, min_agreement=1.0)
    assert tried[-1]["agreement"] == 1.0 and margin == tried[-1]["margin"]
    assert all(t["agreement"] < 1.0 for t in tried[:-1])


def test_bad_recheck_margin_is_a_clear_error(exported):
    with pytest.raises(ValueError, match=re.escape("recheck margin must be within [0, 1], got 2")):
        OnnxClassifier(exported, "onnx-int8", recheck_margin=2)


def test_int8_artifact_saves_and_reloads_identically(exported, tmp_path):
    clf = OnnxClassifier(exported, "onnx-int8")
    clf.save(tmp_path / "copy")
    again = OnnxClassifier(tmp_path / "copy", "onnx-int8")
    np.testing.assert_allclose(
        clf.predict_proba(TEXTS, TARGETS).stance,
        again.predict_proba(TEXTS, TARGETS).stance,
        atol=1e-9,
    )


def test_recheck_margin_argument_overrides_the_stored_one(exported):
    stored = ArtifactConfig.read(exported).recheck_margin
    assert OnnxClassifier(exported, "onnx-int8").recheck_margin == stored
    assert load_classifier(exported, "onnx-int8", recheck_margin=1.0).recheck_margin == 1.0
    assert load_classifier(exported, "onnx-int8", recheck_margin=0.0).fp32_session is None
