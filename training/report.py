"""Render an evaluation report: ``metrics.json``, ``report.md``, ``report.html`` and PNG plots.

Transformer and baseline are shown side by side on every evaluation set.
"""

from __future__ import annotations

import base64
import html
import json
import shutil
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from model.labels import TASKS  # noqa: E402
from training.evaluation import TaskResult  # noqa: E402

# results[eval_set][backend][task] -> TaskResult
Results = dict[str, dict[str, dict[str, TaskResult]]]


def plot_confusion(result: TaskResult, title: str, path: Path) -> None:
    """Save a labelled confusion-matrix heat map."""
    labels = TASKS[result.task]
    fig, ax = plt.subplots(figsize=(3.6, 3.2), dpi=110)
    ax.imshow(result.confusion, cmap="Blues")
    for i, row in enumerate(result.confusion):
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


def plot_reliability(results: dict[str, TaskResult], title: str, path: Path) -> None:
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


def _fmt(res: TaskResult, key: str) -> str:
    lo, hi = res.ci95.get(key, [float("nan"), float("nan")])
    return f"{res.metrics[key]:.3f} [{lo:.3f}, {hi:.3f}]"


def markdown(summary: dict[str, Any], results: Results, images: list[str]) -> str:
    """Return the Markdown report."""
    lines = [f"# Evaluation report: {summary['run_id']}", ""]
    for key in ("config_name", "created", "model_tag", "data_hash", "train_seconds"):
        if key in summary:
            lines.append(f"- **{key}**: {summary[key]}")
    lines += [
        "",
        "Values are point estimates with 95% bootstrap intervals (documents resampled).",
        "",
    ]
    for eval_set, by_backend in results.items():
        n = next(iter(by_backend.values()))["stance"].metrics["n"]
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
            lines.append(
                f"Per-class F1, {task}: "
                + "; ".join(
                    f"{b}: "
                    + ", ".join(f"{lab} {v['f1']:.2f}" for lab, v in r[task].per_class.items())
                    for b, r in by_backend.items()
                )
            )
        comp = summary.get("comparisons", {}).get(eval_set)
        if comp:
            lines.append("")
            for task, c in comp.items():
                lines.append(
                    f"- {task}: transformer minus baseline macro-F1 = {c['difference']:+.3f} "
                    f"(95% CI {c['ci95_low']:+.3f} to {c['ci95_high']:+.3f}, paired bootstrap "
                    f"p = {c['p_value']:.3f})"
                )
        lines.append("")
    lines += calibration_markdown(summary.get("calibration", {}))
    lines += analysis_markdown(summary.get("analysis", {}))
    onnx = summary.get("onnx")
    if onnx and "parity" in onnx:
        lines += ["## Serving runtime", ""]
        verdict = "passed" if onnx["parity_passed"] else f"FAILED: serving {onnx['runtime']}"
        lines.append(
            f"Served runtime: **{onnx['runtime']}** (candidate {onnx['candidate']}, parity gate "
            f"on the test split {verdict})."
        )
        if "recheck_margin" in onnx:
            lines.append(
                f"int8 recheck margin {onnx['recheck_margin']:.2f}, chosen on validation: items "
                "whose top-two calibrated probabilities are closer than that run again in fp32."
            )
        for task, c in onnx["parity"].items():
            lines.append(
                f"- {task}: agreement with torch fp32 {c['agreement']:.1%}, macro-F1 fp32 "
                f"{c['macro_f1_fp32']:.3f} vs {c['macro_f1_candidate']:.3f} "
                f"(drop {c['f1_drop_points']:+.2f} points); "
                f"{c.get('rechecked_share', 0.0):.1%} of items rechecked in fp32"
            )
        lines.append("")
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
    """Target ablation, per-regime breakdown and confident errors, per evaluation set."""
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
            groups = sorted({g for b in backends for g in by_backend[b].get(key, {})})
            if len(groups) < 2:
                continue
            lines += ["", f"Stance macro-F1 {key.replace('_', ' ')} (groups of 10+ items):", ""]
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
        for b in backends:
            errors = by_backend[b]["confident_errors"]
            if not errors:
                continue
            lines += ["", f"Most confident stance errors, {b}:", ""]
            lines += ["| confidence | gold | predicted | target | text |", "|---|---|---|---|---|"]
            for e in errors:
                text = e["text"].replace("|", "/")
                text = text if len(text) <= 160 else text[:157] + "..."
                lines.append(
                    f"| {e['confidence']:.2f} | {e['gold']} | {e['predicted']} | "
                    f"{e['target']} | {text} |"
                )
        lines.append("")
    return lines


def to_html(md_text: str, out_dir: Path) -> str:
    """Render the Markdown report as a self-contained HTML page (images inlined)."""
    body: list[str] = []
    table: list[str] = []

    def flush() -> None:
        if table:
            rows = [r for r in table if not set(r.replace("|", "").strip()) <= {"-"}]
            cells = [[html.escape(c.strip()) for c in r.strip("|").split("|")] for r in rows]
            head = "".join(f"<th>{c}</th>" for c in cells[0])
            rest = "".join(
                "<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in cells[1:]
            )
            body.append(f"<table><tr>{head}</tr>{rest}</table>")
            table.clear()

    for line in md_text.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        flush()
        if line.startswith("!["):
            src = line[line.index("(") + 1 : -1]
            data = base64.b64encode((out_dir / src).read_bytes()).decode()
            body.append(f'<img alt="{html.escape(src)}" src="data:image/png;base64,{data}">')
        elif line.startswith("## "):
            body.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.startswith("# "):
            body.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line.startswith("- "):
            body.append(f"<li>{html.escape(line[2:]).replace('**', '')}</li>")
        elif line.strip():
            body.append(f"<p>{html.escape(line)}</p>")
    flush()
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
        "padding:3px 8px;font-size:13px}img{margin:4px}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><style>{style}</style>"
        f"<title>Evaluation report</title></head><body>{''.join(body)}</body></html>\n"
    )


def write_report(out_dir: Path, summary: dict[str, Any], results: Results) -> Path:
    """Write metrics.json, report.md, report.html and plots into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    images = []
    for eval_set, by_backend in results.items():
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
    for eval_set, by_backend in summary.get("analysis", {}).items():
        for key in ("by_regime", "by_target"):
            groups = {b: a.get(key, {}) for b, a in by_backend.items()}
            if len({g for v in groups.values() for g in v}) < 2:
                continue
            name = f"{key}_{eval_set}_stance.png"
            plot_groups(
                groups, f"{eval_set}: stance macro-F1 {key.replace('_', ' ')}", out_dir / name
            )
            images.append(name)
    metrics = dict(summary) | {
        "results": {
            s: {b: {t: r.as_dict() for t, r in by_task.items()} for b, by_task in by_b.items()}
            for s, by_b in results.items()
        }
    }
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str) + "\n")
    md = markdown(summary, results, images)
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
