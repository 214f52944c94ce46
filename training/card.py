"""The model card written into every artifact.

After Mitchell et al., 2019, "Model Cards for Model Reporting": intended use, data, metrics with
intervals, calibration, behaviour, known failures.

Example:
    write_card(Path("runs/.../artifact/transformer"), metrics, "transformer")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from model.artifact import CARD_FILE, ArtifactConfig
from model.metrics import RunMetrics
from training.behaviour import behaviour_verdict, below_target, floor_text, target_text
from training.evaluation import format_p

INTENDED_USE = (
    "Sentence-level stance toward a sanctions regime named in free text (`favor` / `against` / "
    "`none`) and the sentence's sentiment (`positive` / `negative` / `neutral`), for analysts "
    "reading English news, speeches and official statements about sanctions. Scores are "
    "calibrated probabilities; read them per sentence, and aggregate over a document with the "
    "evidence sentences the service returns."
)
LIMITS = [
    "Trained on English only: UN General Debate speeches, US presidential speeches and the "
    "project's written corpus. Other registers (social media, other languages) are untested.",
    "A target unlike any seen in training (a new regime, a new kind of measure) is read less "
    "reliably: see the out-of-regime figures and the target ablation in the report.",
    "Stance is the speaker's, inferred from one sentence (and its previous sentence, for a model "
    "that reads context); irony, long arguments and stances stated elsewhere in a document are "
    "beyond it.",
    "Official voices dominate the training data (governments at the UN, US presidents); the "
    "labels are model-assisted annotators' judgements under the project's guidelines.",
    "Not for decisions about individuals, and not a fact-checker: it reads what a text says, not "
    "whether it is true.",
]


def metric_lines(m: RunMetrics, backend: str) -> list[str]:
    """Macro-F1 with its interval per evaluation set and task."""
    lines = ["| evaluation set | n | stance macro-F1 | sentiment macro-F1 |", "|---|---|---|---|"]
    for name, by_backend in m.results.items():
        if backend not in by_backend:
            continue
        cells = []
        for task in ("stance", "sentiment"):
            r = by_backend[backend][task]
            lo, hi = r.ci95["macro_f1"]
            cells.append(f"{r.metrics['macro_f1']:.3f} [{lo:.3f}, {hi:.3f}]")
        n = int(by_backend[backend]["stance"].metrics["n"])
        lines.append(f"| {name} | {n} | " + " | ".join(cells) + " |")
    return lines


def card(m: RunMetrics, backend: str, config: ArtifactConfig) -> str:
    """The model card's Markdown."""
    data = ", ".join(f"`{s['path']}` (weight {s['weight']})" for s in m.config["data"]["train"])
    lines = [
        f"# Model card: {m.model_tag or m.run_id} ({backend})",
        "",
        f"- run: `{m.run_id}`, config `{m.config_name}`, created {m.created}",
        f"- base model: `{config.base_model}`, max length {config.max_length} tokens, context "
        f"{'read' if config.use_context else 'not read'}, target template "
        f"`{config.target_template}`",
        f"- runtime served: `{config.runtime}`; default target `{config.default_target}`",
        f"- data hash `{m.data_hash}`; seed {config.seed}",
        "",
        "## Intended use",
        "",
        INTENDED_USE,
        "",
        "## Training data",
        "",
        f"{data}; {m.sizes.get('train', 0)} items. Validation (model selection, calibration): "
        f"`{m.config['data']['validation']}`, {m.sizes.get('validation', 0)} items. See "
        "`data/DATASHEET.md`.",
        "",
        "## Metrics (95% document-bootstrap intervals)",
        "",
        *metric_lines(m, backend),
        "",
    ]
    if backend == "transformer" and m.comparisons:
        lines += ["Transformer minus baseline, stance macro-F1 (paired permutation test):", ""]
        for name, by_task in m.comparisons.items():
            c = by_task["stance"]
            lines.append(f"- {name}: {c.difference:+.3f} ({format_p(c.p_value, c.p_resolution)})")
        lines.append("")
    t = config.temperatures
    lines += [
        "## Calibration",
        "",
        f"Temperature scaling fitted on validation: stance T = {t.stance:.2f}, sentiment "
        f"T = {t.sentiment:.2f}. ECE before and after, per set, is in the report.",
        "",
    ]
    if backend == "transformer" and m.behaviour:
        lines += [
            "## Behavioural tests",
            "",
            "| test | pass rate | minimum (gated) | target | verdict |",
            "|---|---|---|---|---|",
        ]
        for name, b in m.behaviour["tests"].items():
            lines.append(
                f"| {name} | {b['pass_rate']:.0%} | {floor_text(b)} | {target_text(b)} | "
                f"{behaviour_verdict(b)} |"
            )
        lines.append("")
    lines += ["## Known limits and failures", ""] + [f"- {x}" for x in LIMITS]
    if backend == "transformer" and m.behaviour:
        lines += [f"- {x}" for x in behaviour_shortfalls(m.behaviour)]
    lines.append("")
    return "\n".join(lines)


def behaviour_shortfalls(behaviour: dict[str, Any]) -> list[str]:
    """One line per behavioural test below its target, with its first failing case."""
    out = []
    for name, t in behaviour.get("tests", {}).items():
        if not below_target(t):
            continue
        target = t["target_pass_rate"]
        example = f" For example: {t['failures'][0]}" if t.get("failures") else ""
        out.append(
            f"Behavioural test `{name}` passes {t['passed']} of {t['cases']} cases "
            f"({t['pass_rate']:.0%}; target {target:.0%}).{example}"
        )
    return out


def write_card(directory: Path, m: RunMetrics, backend: str) -> Path:
    """Write ``MODEL_CARD.md`` into an artifact folder."""
    path = directory / CARD_FILE
    path.write_text(card(m, backend, ArtifactConfig.read(directory)), encoding="utf-8")
    return path
