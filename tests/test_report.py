"""Report rendering: per-group bar plots and their place in the Markdown/HTML report."""

from pathlib import Path

import numpy as np

from model.metrics import Comparison, RunMetrics
from training.data import Example
from training.evaluation import score_task
from training.report import markdown, plot_groups, write_report


def _metrics(n: int = 40, **fields: object) -> RunMetrics:
    labels = ["favor", "against", "none"]
    gold = [i % 3 for i in range(n)]
    examples = [
        Example(id=str(i), text="t", target="x", stance=labels[g], sentiment="neutral", doc_id="d")
        for i, g in enumerate(gold)
    ]
    probs = np.eye(3)[gold] * 0.7 + 0.1
    by_task = {
        "stance": score_task("stance", probs, examples, seed=0).scores(),
        "sentiment": score_task("sentiment", probs, examples, seed=0).scores(),
    }
    results = {"test": {"transformer": by_task, "baseline": by_task}}
    return RunMetrics(run_id="r", created="now", results=results, **fields)  # type: ignore[arg-type]


def _groups(values: dict[str, float]) -> dict[str, dict[str, float]]:
    return {g: {"n": 10 + i, "macro_f1": v} for i, (g, v) in enumerate(values.items())}


def test_plot_groups_writes_a_png(tmp_path: Path):
    path = tmp_path / "bars.png"
    plot_groups(
        {
            "transformer": _groups({"us-cuba": 0.7, "un-iraq": 0.5}),
            "baseline": _groups({"us-cuba": 0.6}),
        },
        "test",
        path,
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_embeds_per_regime_and_per_target_bars(tmp_path: Path):
    ablation = {"true": {"macro_f1": 0.6}, "empty": {"macro_f1": 0.5, "changed": 0.2},
                "wrong": {"macro_f1": 0.55, "changed": 0.1}}  # fmt: skip
    analysis = {
        b: {
            "target_ablation": ablation,
            "by_regime": _groups({"us-cuba": 0.7, "un-iraq": 0.5}),
            "by_target": _groups({"the embargo": 0.4, "US sanctions": 0.8, "UN sanctions": 0.6}),
            "by_source": _groups({"news": 0.6}),
            "confident_errors": [],
        }
        for b in ("transformer", "baseline")
    }
    out = write_report(tmp_path, _metrics(analysis={"test": analysis}))
    assert (out / "by_regime_test_stance.png").is_file()
    assert (out / "by_target_test_stance.png").is_file()
    md = (out / "report.md").read_text()
    assert "![by_target_test_stance](by_target_test_stance.png)" in md
    assert "| US sanctions | 11 | 0.800 | 0.800 |" in md
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == md.count("![")


def test_html_renders_markdown_emphasis_code_and_lists(tmp_path: Path):
    comparison = Comparison(difference=0.05, ci95_low=0.01, ci95_high=0.09, p_value=0.0002,
                            permutations=9999, p_resolution=0.0002)  # fmt: skip
    m = _metrics(model_tag="stance-classifier:abc", comparisons={"test": {"stance": comparison}})
    out = write_report(tmp_path, m)
    md = (out / "report.md").read_text()
    assert "paired permutation test over documents, p <= 0.0002, 9,999 permutations" in md
    html = (out / "report.html").read_text()
    assert "**" not in html  # bold is rendered, never shown raw
    assert "<strong>model_tag</strong>" in html
    assert "<ul>" in html and "<li>" in html
    assert "<table>" in html and "<th>task</th>" in html


def test_report_carries_the_experiment_table_one_level_down(tmp_path: Path):
    table = tmp_path / "experiments.md"
    table.write_text(
        "# Model experiments\n\n| experiment | val stance |\n|---|---|\n| `a` | 0.8 |\n"
    )
    md = markdown(_metrics(), [], experiments=table)
    assert "## Model experiments\n\n| experiment | val stance |" in md
    assert "| `a` | 0.8 |" in md
    assert "Model experiments" not in markdown(_metrics(), [], experiments=tmp_path / "none.md")
