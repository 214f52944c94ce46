"""Contract tests run over both backends (tiny transformer, TF-IDF baseline)."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from model import load_classifier
from model.artifact import FORMAT_VERSION

TEXTS = ["Sanctions on Iran are illegal and must be lifted.", "The ministry met on Monday.", "x"]
TARGETS = ["US sanctions on Iran", "US sanctions", "UN sanctions on Iraq"]


@pytest.fixture(scope="module", params=["transformer", "baseline"])
def artifact(request, tiny_run) -> Path:
    return Path(tiny_run["out"]) / "runs" / tiny_run["run_id"] / "artifact" / request.param


def test_probabilities_shape_sum_and_order(artifact):
    clf = load_classifier(artifact)
    probs = clf.predict_proba(TEXTS, TARGETS)
    for arr in (probs.stance, probs.sentiment):
        assert arr.shape == (3, 3)
        np.testing.assert_allclose(arr.sum(axis=1), 1.0, atol=1e-9)
        assert (arr >= 0).all()
    preds = clf.predict(TEXTS, TARGETS)
    for pred, row in zip(preds, probs.stance, strict=True):
        assert pred.stance == ["favor", "against", "none"][int(np.argmax(row))]


def test_save_then_load_gives_identical_outputs(artifact, tmp_path):
    clf = load_classifier(artifact)
    clf.save(tmp_path / "copy")
    again = load_classifier(tmp_path / "copy")
    a, b = clf.predict_proba(TEXTS, TARGETS), again.predict_proba(TEXTS, TARGETS)
    np.testing.assert_allclose(a.stance, b.stance, atol=1e-6)
    np.testing.assert_allclose(a.sentiment, b.sentiment, atol=1e-6)


def test_empty_input_gives_empty_output(artifact):
    clf = load_classifier(artifact)
    probs = clf.predict_proba([], [])
    assert probs.stance.shape == (0, 3) and probs.sentiment.shape == (0, 3)
    assert clf.predict([], []) == []


def test_calibration_temperature_is_stored(artifact):
    config = json.loads((artifact / "config.json").read_text())
    assert config["temperatures"]["fitted"] is True
    assert config["temperatures"]["stance"] > 0


def test_target_changes_the_transformer_input(tiny_run):
    art = Path(tiny_run["out"]) / "runs" / tiny_run["run_id"] / "artifact" / "transformer"
    clf = load_classifier(art)
    a = clf.predict_proba(["sanctions are illegal"], ["US sanctions on Iran"]).stance
    b = clf.predict_proba(["sanctions are illegal"], ["UN sanctions on Iraq"]).stance
    assert not np.allclose(a, b)


def test_wrong_format_version_is_a_clear_error(artifact, tmp_path):
    clf = load_classifier(artifact)
    clf.save(tmp_path / "m")
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    cfg["format_version"] = 99
    (tmp_path / "m" / "config.json").write_text(json.dumps(cfg))
    msg = (
        f"has format_version 99, this code reads {FORMAT_VERSION}; retrain it: train one with "
        "`stance train --config configs/us_sanctions.yaml`"
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        load_classifier(tmp_path / "m")


def test_missing_artifact_is_a_clear_error(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=re.escape("config.json is missing; train one with")
    ):
        load_classifier(tmp_path)


def test_check_artifact_names_the_damaged_file(tiny_run, tmp_path):
    import shutil

    from model.artifact import check_artifact

    src = Path(tiny_run["out"]) / "runs" / tiny_run["run_id"] / "artifact"
    check_artifact(src / "transformer", runtime="torch")
    check_artifact(src / "baseline")
    bad = tmp_path / "transformer"
    shutil.copytree(src / "transformer", bad)
    (bad / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(ValueError, match=re.escape(f"corrupt transformer weights {bad}")):
        check_artifact(bad, runtime="torch")
    (bad / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="has no usable model.safetensors; retrain it"):
        check_artifact(bad, runtime="torch")
    with pytest.raises(ValueError, match=re.escape("unknown runtime 'tpu'")):
        check_artifact(src / "transformer", runtime="tpu")
