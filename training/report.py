"""Render an evaluation report from a run's ``metrics.json``.

``report.md``, ``report.html`` (the Markdown rendered by markdown-it-py, plots inlined) and PNG
plots.

Transformer and baseline are shown side by side on every evaluation set.

Example:
    write_report(Path("reports/run-1"), RunMetrics.load(Path("runs/run-1/metrics.json")))
"""

from __future__ import annotations

import base64
import re
import shutil
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from model.labels import TASKS  # noqa: E402
from model.metrics import RunMetrics, TaskScores  # noqa: E402
from training.behaviour import behaviour_verdict, floor_text, target_text  # noqa: E402
from training.evaluation import format_p  # noqa: E402


def plot_confusion(result: TaskScores, title: str, path: Path) -> None:
    """Save a labelled confusion-matrix heat map."""
    labels = result.confusion.labels
    fig, ax = plt.subplots(figsize=(3.6, 3.2), dpi=110)
    ax.imshow(result.confusion.matrix, cmap="Blues")
    for i, row in enumerate(result.confusion.matrix):
        for j, v in enumerate(row):
            ax.text(j, i, str(v), ha="center", va="center", fontsize=9)
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_reliability(results: dict[str, TaskScores], title: str, path: Path) -> None:
    """Save a reliability diagram with one line per backend."""
    fig, ax = plt.subplots(figsize=(3.6, 3.2), dpi=110)
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    for backend, res in results.items():
        xs = [b["confidence"] for b in res.reliability]
        ys = [b["accuracy"] for b in res.reliability]
        ax.plot(xs, ys, "o-", label=f"{backend} (ECE {res.ece:.3f})")
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_groups(groups: dict[str, dict[str, dict[str, float]]], title: str, path: Path) -> None:
    """Save horizontal bars of stance macro-F1 per group (regime, target), one bar per backend.

    ``groups`` is ``{backend: {group: {"n": ..., "macro_f1": ...}}}`` as ``analysis.breakdown``
    returns it; groups are sorted by size, the largest on top.
    """
    backends = list(groups)
    sizes: dict[str, int] = {}
    for by_group in groups.values():
        for g, v in by_group.items():
            sizes[g] = int(v["n"])
    names = sorted(sizes, key=lambda g: (sizes[g], g))
    height = 0.8 / max(1, len(backends))
    fig, ax = plt.subplots(figsize=(7.0, 1.0 + 0.32 * len(names)), dpi=110)
    for k, backend in enumerate(backends):
        ys = [i + (k - (len(backends) - 1) / 2) * height for i in range(len(names))]
        xs = [groups[backend].get(g, {}).get("macro_f1", 0.0) for g in names]
        ax.barh(ys, xs, height=height, label=backend)
    ax.set_yticks(range(len(names)), [f"{g} ({sizes[g]})" for g in names], fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_xlabel("stance macro-F1")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))  # beside the bars
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _fmt(res: TaskScores, key: str) -> str:
    lo, hi = res.ci95.get(key, [float("nan"), float("nan")])
    return f"{res.metrics[key]:.3f} [{lo:.3f}, {hi:.3f}]"


def results_markdown(m: RunMetrics) -> list[str]:
    """One table per evaluation set, per-class F1, and the paired comparison."""
    lines: list[str] = []
    for eval_set, by_backend in m.results.items():
        n = int(next(iter(by_backend.values()))["stance"].metrics["n"])
        lines += [f"## {eval_set} (n = {n})", ""]
        lines += [
            "| task | metric | " + " | ".join(by_backend) + " |",
            "|---|---|" + "---|" * len(by_backend),
        ]
        for task in TASKS:
            keys = ["macro_f1", "accuracy"] + (["f_avg"] if task == "stance" else [])
            for key in keys:
                cells = " | ".join(_fmt(r[task], key) for r in by_backend.values())
                lines.append(f"| {task} | {key} | {cells} |")
            cells = " | ".join(f"{r[task].ece:.3f}" for r in by_backend.values())
            lines.append(f"| {task} | ECE | {cells} |")
        lines.append("")
        for task in TASKS:
            per = "; ".join(
                f"{b}: " + ", ".join(f"{lab} {v['f1']:.2f}" for lab, v in r[task].per_class.items())
                for b, r in by_backend.items()
            )
            lines += [f"- per-class F1, {task}: {per}"]
        for task, c in m.comparisons.get(eval_set, {}).items():
            lines.append(
                f"- {task}: transformer minus baseline macro-F1 **{c.difference:+.3f}** "
                f"(95% CI {c.ci95_low:+.3f} to {c.ci95_high:+.3f}; paired permutation test over "
                f"documents, {format_p(c.p_value, c.p_resolution)}, {c.permutations:,} "
                "permutations)"
            )
        lines.append("")
    return lines


def serving_markdown(m: RunMetrics) -> list[str]:
    """The runtime the artifact serves, and the parity checks (and timings) that chose it."""
    s = m.serving
    if s is None or not (s.parity or s.runtimes):
        return []
    verdict = "passed" if s.parity_passed else f"failed: serving `{s.runtime}`"
    lines = [
        "## Serving runtime",
        "",
        f"Served runtime: **{s.runtime}** (configured `{s.candidate}`, parity gate on the test "
        f"split {verdict}). The transformer figures above were measured on this runtime.",
    ]
    if s.recheck_margin is not None:
        lines.append(
            f"The onnx-int8 cascade's recheck margin: {s.recheck_margin:.2f}, chosen on "
            "validation (items whose top-two calibrated probabilities are closer than that run "
            "again in fp32)."
        )
    lines.append("")
    if s.runtimes:
        lines += [
            "Every runtime checked against torch fp32 on the test split (agreement of the labels, "
            "macro-F1 drop in points), and sentences/s on validation items on the training "
            "machine where timed:",
            "",
            "| runtime | stance agreement | sentiment agreement | stance drop | sentiment drop "
            "| sentences/s | passed |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, r in s.runtimes.items():
            p = r.get("parity", {})

            def cell(task: str, key: str, fmt: str, p: dict[str, Any] = p) -> str:
                return format(p[task][key], fmt) if task in p else "reference"

            rate = r.get("sentences_per_s")
            passed = "yes" if r.get("passed") else "no"
            lines.append(
                f"| {name} | {cell('stance', 'agreement', '.1%')} "
                f"| {cell('sentiment', 'agreement', '.1%')} "
                f"| {cell('stance', 'f1_drop_points', '+.2f')} "
                f"| {cell('sentiment', 'f1_drop_points', '+.2f')} "
                f"| {'' if rate is None else f'{rate:.0f}'} | {passed} |"
            )
        return lines + [""]
    for task, c in s.parity.items():
        lines.append(
            f"- {task}: agreement with torch fp32 {c['agreement']:.1%}, macro-F1 fp32 "
            f"{c['macro_f1_fp32']:.3f} vs {c['macro_f1_candidate']:.3f} "
            f"(drop {c['f1_drop_points']:+.2f} points); "
            f"{c.get('rechecked_share', 0.0):.1%} of items rechecked in fp32"
        )
    return lines + [""]


def behaviour_markdown(behaviour: dict[str, Any]) -> list[str]:
    """Pass rates of the behavioural (CheckList) tests against their minimums."""
    if not behaviour:
        return []
    lines = [
        "## Behavioural tests (CheckList style)",
        "",
        "The gate fails a gated test below its minimum; the target is what the model should reach.",
        "",
        "| test | kind | cases | passed | pass rate | minimum (gated) | target | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, t in behaviour.get("tests", {}).items():
        lines.append(
            f"| {name} | {t['kind']} | {t['cases']} | {t['passed']} | {t['pass_rate']:.1%} | "
            f"{floor_text(t)} | {target_text(t)} | {behaviour_verdict(t)} |"
        )
    failures = [f for t in behaviour.get("tests", {}).values() for f in t.get("failures", [])]
    if failures:
        lines += ["", "Failing cases (first 12):", ""]
        lines += [f"- {f}" for f in failures[:12]]
    return lines + [""]


# The committed table of model experiments (``python -m benchmarks.experiments``).
EXPERIMENTS_TABLE = Path(__file__).resolve().parent.parent / "docs" / "experiments.md"


def experiments_markdown(path: Path = EXPERIMENTS_TABLE) -> list[str]:
    """The experiment table the default config was chosen from, one heading level down."""
    if not path.is_file():
        return []
    body = path.read_text(encoding="utf-8").splitlines()
    return [("#" + line) if line.startswith("#") else line for line in body] + [""]


def markdown(m: RunMetrics, images: list[str], experiments: Path = EXPERIMENTS_TABLE) -> str:
    """Return the Markdown report."""
    lines = [f"# Evaluation report: {m.run_id}", ""]
    for key in ("config_name", "created", "model_tag", "data_hash", "train_seconds"):
        value = getattr(m, key)
        if value:
            lines.append(f"- **{key}**: {value}")
    lines += ["", "Point estimates with 95% bootstrap intervals (documents resampled).", ""]
    lines += results_markdown(m)
    lines += behaviour_markdown(m.behaviour)
    lines += calibration_markdown(m.calibration)
    lines += analysis_markdown(m.analysis)
    lines += serving_markdown(m)
    lines += experiments_markdown(experiments)
    if images:
        lines += ["## Plots", ""] + [f"![{Path(i).stem}]({i})" for i in images] + [""]
    return "\n".join(lines)


def calibration_markdown(calibration: dict[str, Any]) -> list[str]:
    """ECE before and after temperature scaling (fitted on validation)."""
    if not calibration:
        return []
    lines = [
        "## Calibration (temperature scaling fitted on validation)",
        "",
        "| set | backend | task | T | ECE before | ECE after |",
        "|---|---|---|---|---|---|",
    ]
    for name, by_backend in calibration.items():
        for backend, by_task in by_backend.items():
            for task, c in by_task.items():
                lines.append(
                    f"| {name} | {backend} | {task} | {c['temperature']:.2f} | "
                    f"{c['ece_before']:.3f} | {c['ece_after']:.3f} |"
                )
    return lines + [""]


def analysis_markdown(analysis: dict[str, Any]) -> list[str]:
    """Target ablation, per-group breakdowns and confident errors, per evaluation set."""
    lines: list[str] = []
    for eval_set, by_backend in analysis.items():
        backends = list(by_backend)
        lines += [f"## Stance analysis: {eval_set}", ""]
        lines += ["Target ablation (stance macro-F1; share of labels the target changes):", ""]
        lines += [
            "| target given | " + " | ".join(backends) + " |",
            "|---|" + "---|" * len(backends),
        ]
        for variant in ("true", "empty", "wrong"):
            cells = []
            for b in backends:
                v = by_backend[b]["target_ablation"][variant]
                changed = f" ({v['changed']:.0%} changed)" if "changed" in v else ""
                cells.append(f"{v['macro_f1']:.3f}{changed}")
            lines.append(f"| {variant} | " + " | ".join(cells) + " |")
        for key in ("by_regime", "by_target", "by_source"):
            lines += group_table(by_backend, key)
        for b in backends:
            lines += error_table(b, by_backend[b]["confident_errors"])
        lines.append("")
    return lines


def group_table(by_backend: dict[str, Any], key: str) -> list[str]:
    """Stance macro-F1 per group (regime, target, source) of 10+ items, one column a backend."""
    backends = list(by_backend)
    groups = sorted({g for b in backends for g in by_backend[b].get(key, {})})
    if len(groups) < 2:
        return []
    lines = ["", f"Stance macro-F1 {key.replace('_', ' ')} (groups of 10+ items):", ""]
    lines += [
        f"| {key[3:]} | n | " + " | ".join(backends) + " |",
        "|---|---|" + "---|" * len(backends),
    ]
    for g in groups:
        n = next(by_backend[b][key][g]["n"] for b in backends if g in by_backend[b][key])
        cells = [
            f"{by_backend[b][key][g]['macro_f1']:.3f}" if g in by_backend[b][key] else ""
            for b in backends
        ]
        lines.append(f"| {g} | {n} | " + " | ".join(cells) + " |")
    return lines


def error_table(backend: str, errors: list[dict[str, Any]]) -> list[str]:
    """The most confident stance errors of one backend."""
    if not errors:
        return []
    lines = ["", f"Most confident stance errors, {backend}:", ""]
    lines += ["| confidence | gold | predicted | target | text |", "|---|---|---|---|---|"]
    for e in errors:
        text = e["text"].replace("|", "/")
        text = text if len(text) <= 160 else text[:157] + "..."
        lines.append(
            f"| {e['confidence']:.2f} | {e['gold']} | {e['predicted']} | {e['target']} | {text} |"
        )
    return lines


STYLE = (
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.4}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
    "padding:3px 8px;font-size:13px}img{margin:4px}"
)


def to_html(md_text: str, out_dir: Path) -> str:
    """Render the Markdown report as one self-contained HTML page (images inlined)."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(md_text)

    def inline(match: re.Match[str]) -> str:
        data = base64.b64encode((out_dir / match.group(1)).read_bytes()).decode()
        return f'src="data:image/png;base64,{data}"'

    body = re.sub(r'src="([\w.-]+\.png)"', inline, body)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><style>{STYLE}</style>"
        f"<title>Evaluation report</title></head><body>{body}</body></html>\n"
    )


def plots(m: RunMetrics, out_dir: Path) -> list[str]:
    """Write the confusion, reliability and per-group plots; return their file names."""
    images = []
    for eval_set, by_backend in m.results.items():
        for task in TASKS:
            for backend, res in by_backend.items():
                name = f"confusion_{eval_set}_{task}_{backend}.png"
                plot_confusion(res[task], f"{eval_set} {task} {backend}", out_dir / name)
                images.append(name)
            name = f"reliability_{eval_set}_{task}.png"
            plot_reliability(
                {b: r[task] for b, r in by_backend.items()}, f"{eval_set} {task}", out_dir / name
            )
            images.append(name)
    for eval_set, by_backend in m.analysis.items():
        for key in ("by_regime", "by_target"):
            groups = {b: a.get(key, {}) for b, a in by_backend.items()}
            if len({g for v in groups.values() for g in v}) < 2:
                continue
            name = f"{key}_{eval_set}_stance.png"
            plot_groups(
                groups, f"{eval_set}: stance macro-F1 {key.replace('_', ' ')}", out_dir / name
            )
            images.append(name)
    return images


def write_report(out_dir: Path, m: RunMetrics) -> Path:
    """Write metrics.json, report.md, report.html and plots into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    m.write(out_dir / "metrics.json")
    md = markdown(m, plots(m, out_dir))
    (out_dir / "report.md").write_text(md, encoding="utf-8")
    (out_dir / "report.html").write_text(to_html(md, out_dir), encoding="utf-8")
    return out_dir


def publish_latest(run_dir: Path) -> Path:
    """Copy a run's report to ``<reports>/latest`` (a copy, not a link, so it survives moves)."""
    latest = run_dir.parent / "latest"
    if latest.exists():
        shutil.rmtree(latest)
    shutil.copytree(run_dir, latest)
    return latest
