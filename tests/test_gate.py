import json

import pytest

from training.cli import main
from training.gate import check


def metrics(transformer: float, baseline: float) -> dict:
    def res(v: float) -> dict:
        return {"stance": {"metrics": {"macro_f1": v}}}

    return {
        "config_name": "quick",
        "results": {"test": {"transformer": res(transformer), "baseline": res(baseline)}},
    }


def test_gate_passes_and_fails_on_baseline_and_recorded(tmp_path):
    m = tmp_path / "metrics.json"
    recorded = tmp_path / "recorded.json"
    recorded.write_text(json.dumps({"quick": {"test/transformer/stance/macro_f1": 0.60}}))
    m.write_text(json.dumps(metrics(0.62, 0.58)))
    assert check(m, recorded, 0.05) == []
    m.write_text(json.dumps(metrics(0.54, 0.50)))
    assert check(m, recorded, 0.05) == [
        "test/transformer/stance/macro_f1 = 0.540, more than 0.05 below the recorded 0.600"
    ]
    m.write_text(json.dumps(metrics(0.57, 0.58)))
    assert check(m, recorded, 0.05) == [
        "transformer stance macro-F1 0.570 does not beat the baseline's 0.580"
    ]


def test_gate_cli_exit_codes(tmp_path, capsys):
    m = tmp_path / "metrics.json"
    m.write_text(json.dumps(metrics(0.5, 0.6)))
    assert main(["gate", "--metrics", str(m), "--recorded", str(tmp_path / "none.json")]) == 1
    assert "gate: 1 failure(s)" in capsys.readouterr().out
    assert main(["gate", "--metrics", str(tmp_path / "missing.json")]) == 2
    assert "error: metrics file" in capsys.readouterr().err


@pytest.mark.parametrize("key", ["test/transformer/stance/macro_f1"])
def test_recorded_figures_file_is_valid(key):
    recorded = json.loads(open("configs/recorded_metrics.json").read())
    for config, figures in recorded.items():
        assert config in ("quick", "us_sanctions")
        for k, v in figures.items():
            assert len(k.split("/")) == 4 and 0 < v <= 1
