import json

from cli.main import main
from model.metrics import Comparison, RunMetrics, TaskScores
from training.gate import check, notes


def scores(v: float) -> TaskScores:
    return TaskScores(
        metrics={"macro_f1": v, "n": 100},
        ci95={},
        per_class={},
        confusion={"labels": ["favor", "against", "none"], "matrix": [[0] * 3] * 3},
        ece=0.0,
        reliability=[],
    )


def write(path, transformer: float, baseline: float, p: float = 0.001, behaviour=None) -> None:
    m = RunMetrics(
        run_id="r",
        config_name="quick",
        created="now",
        results={
            "test": {
                "transformer": {"stance": scores(transformer)},
                "baseline": {"stance": scores(baseline)},
            }
        },
        comparisons={
            "test": {
                "stance": Comparison(
                    difference=transformer - baseline,
                    ci95_low=0,
                    ci95_high=0,
                    p_value=p,
                    permutations=9999,
                    p_resolution=1e-4,
                )
            }
        },
        behaviour=behaviour or {},
    )
    m.write(path)


def test_gate_passes_and_fails_on_baseline_significance_and_recorded(tmp_path):
    m = tmp_path / "metrics.json"
    recorded = tmp_path / "recorded.json"
    recorded.write_text(json.dumps({"quick": {"test/transformer/stance/macro_f1": 0.60}}))
    write(m, 0.62, 0.58)
    assert check(m, recorded, 0.05) == []
    write(m, 0.54, 0.50)
    assert check(m, recorded, 0.05) == [
        "test/transformer/stance/macro_f1 = 0.540, more than 0.05 below the recorded 0.600"
    ]
    write(m, 0.57, 0.58, p=0.4)
    assert check(m, recorded, 0.05) == [
        "test: transformer stance macro-F1 0.570 vs the baseline's 0.580: the transformer is not "
        "ahead (p = 0.4000)"
    ]
    write(m, 0.63, 0.60, p=0.2)
    assert check(m, recorded, 0.05) == []
    assert notes(RunMetrics.load(m)) == [
        "test: the transformer's stance lead +0.030 over the baseline is not significant "
        "(p = 0.2000); `stance gate --require-significant` fails on it"
    ]
    assert check(m, recorded, 0.05, require_significant=True) == [
        "test: transformer stance macro-F1 0.630 vs the baseline's 0.600: +0.030 is not "
        "significant (p = 0.2000, need < 0.05)"
    ]
    write(m, 0.57, 0.58, p=0.4)
    assert check(m, recorded, 0.05, beat_baseline=False) == []


def test_gate_fails_a_behavioural_test_below_its_minimum(tmp_path):
    m = tmp_path / "metrics.json"
    behaviour = {
        "tests": {
            "despite": {"kind": "mft", "cases": 10, "passed": 6, "pass_rate": 0.6,
                        "min_pass_rate": 0.75, "failures": []},
            "negation": {"kind": "mft", "cases": 10, "passed": 9, "pass_rate": 0.9,
                         "min_pass_rate": 0.7, "failures": []},
        }
    }  # fmt: skip
    write(m, 0.62, 0.58, behaviour=behaviour)
    assert check(m, tmp_path / "none.json", 0.05) == [
        "behaviour test 'despite' (mft) passed 6 of 10 (60%), below its minimum 75%"
    ]
    behaviour["tests"]["despite"] |= {"gated": False, "target_pass_rate": 0.9}
    behaviour["tests"]["negation"]["target_pass_rate"] = 1.0
    write(m, 0.62, 0.58, behaviour=behaviour)
    assert check(m, tmp_path / "none.json", 0.05) == []
    assert notes(RunMetrics.load(m)) == [
        "behaviour test 'despite' passed 6 of 10 (60%), below its target 90%, not gated",
        "behaviour test 'negation' passed 9 of 10 (90%), below its target 100%",
    ]


def test_gate_cli_exit_codes(tmp_path, capsys):
    m = tmp_path / "metrics.json"
    write(m, 0.5, 0.6)
    assert main(["gate", "--metrics", str(m), "--recorded", str(tmp_path / "none.json")]) == 1
    assert "gate: 1 failure(s)" in capsys.readouterr().out
    assert main(["gate", "--metrics", str(tmp_path / "missing.json")]) == 2
    assert capsys.readouterr().err == (
        f"error: metrics file {tmp_path / 'missing.json'} not found; run `stance train` first\n"
    )
    m.write_text("{not json")
    assert main(["gate", "--metrics", str(m)]) == 2
    assert capsys.readouterr().err.startswith(f"error: metrics file {m} is not valid JSON")


def test_recorded_figures_file_names_real_metrics():
    recorded = json.loads(open("configs/recorded_metrics.json").read())
    assert set(recorded) <= {"quick", "us_sanctions"}
    for figures in recorded.values():
        for key, value in figures.items():
            eval_set, backend, task, metric = key.split("/")
            assert backend in ("transformer", "baseline") and task in ("stance", "sentiment")
            assert metric in ("macro_f1", "accuracy", "f_avg") and 0 < value <= 1
