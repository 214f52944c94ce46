"""Behavioural tests in the CheckList style (Ribeiro et al., ACL 2020) over a trained classifier.

The suite (``configs/behaviour.yaml``) holds minimum-functionality tests (each case's labels must
be right), directional tests (one sentence, two targets, two given stances) and invariance tests
(every variant of a case gets the same stance). Each test states the pass rate it needs; the
results go into ``metrics.json`` and the report, and ``stance gate`` fails below a minimum.

Example:
    run_behaviour(load_classifier("runs/.../artifact/transformer"), Path("configs/behaviour.yaml"))
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from model.predictor import Classifier, to_predictions

Stance = Literal["favor", "against", "none"]
Sentiment = Literal["positive", "negative", "neutral"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Case(_Strict):
    """One labelled sentence (mft)."""

    text: str = Field(min_length=1)
    target: str = Field(min_length=1)
    context: str | None = None
    stance: Stance
    sentiment: Sentiment | None = None
    explicit: bool = False


class SwapCase(_Strict):
    """One sentence and the stance it takes toward each of two or more targets (dir)."""

    text: str = Field(min_length=1)
    targets: dict[str, Stance] = Field(min_length=2)


class VariantCase(_Strict):
    """Texts that must get the same stance toward one target (inv)."""

    target: str = Field(min_length=1)
    texts: list[str] = Field(min_length=2)


class BehaviourTest(_Strict):
    """One test of the suite."""

    kind: Literal["mft", "dir", "inv"]
    min_pass_rate: float = Field(ge=0, le=1)  # the floor the gate enforces
    target_pass_rate: float | None = Field(default=None, ge=0, le=1)  # what we aim for
    gated: bool = True  # false: measured and reported, never failing the gate
    about: str = ""
    golden: Path | None = None  # a JSON Lines file of mft cases, read beside ``cases``
    only_explicit: bool = False
    stance_only: bool = False  # mft: judge the stance alone (the guidelines label only stance)
    variants: list[str] = Field(default_factory=list)  # inv over target wordings
    cases: list[Any] = Field(default_factory=list)


class Suite(_Strict):
    """The whole behaviour file."""

    tests: dict[str, BehaviourTest]


@dataclass
class Outcome:
    """A test's result: cases, how many passed, and the failing cases in words."""

    kind: str
    min_pass_rate: float
    target_pass_rate: float | None = None
    gated: bool = True
    cases: int = 0
    passed: int = 0
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with the pass rate."""
        rate = self.passed / self.cases if self.cases else 0.0
        return {
            "kind": self.kind,
            "min_pass_rate": self.min_pass_rate,
            "target_pass_rate": self.target_pass_rate,
            "gated": self.gated,
            "cases": self.cases,
            "passed": self.passed,
            "pass_rate": rate,
            "failures": self.failures[:20],
        }


def load_suite(path: Path) -> Suite:
    """Read and validate a behaviour file; relative golden paths are read from the project root."""
    if not path.is_file():
        raise FileNotFoundError(f"behaviour suite {path} not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        suite = Suite.model_validate(raw)
    except (yaml.YAMLError, ValidationError) as exc:
        raise ValueError(f"behaviour suite {path} is invalid: {exc}") from None
    root = path.resolve().parent.parent
    for test in suite.tests.values():
        if test.golden is not None and not test.golden.is_absolute():
            test.golden = root / test.golden
    return suite


def mft_cases(test: BehaviourTest) -> list[Case]:
    """The test's inline cases plus its golden file's, explicit ones only when asked."""
    cases = [Case.model_validate(c) for c in test.cases]
    if test.golden is not None:
        for line in test.golden.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                cases.append(
                    Case.model_validate({k: row[k] for k in Case.model_fields if k in row})
                )
    if test.only_explicit:
        cases = [c for c in cases if c.explicit]
    if test.stance_only:
        cases = [c.model_copy(update={"sentiment": None}) for c in cases]
    return cases


def outcome_for(test: BehaviourTest, cases: int) -> Outcome:
    """An empty outcome carrying the test's kind, floor, target and whether it is gated."""
    return Outcome(test.kind, test.min_pass_rate, test.target_pass_rate, test.gated, cases=cases)


def run_mft(clf: Classifier, test: BehaviourTest) -> Outcome:
    """Each case passes when its stance (and sentiment, if given) is predicted."""
    cases = mft_cases(test)
    out = outcome_for(test, cases=len(cases))
    preds = clf.predict(
        [c.text for c in cases], [c.target for c in cases], [c.context for c in cases]
    )
    for c, p in zip(cases, preds, strict=True):
        ok = p.stance == c.stance and (c.sentiment is None or p.sentiment == c.sentiment)
        out.passed += ok
        if not ok:
            want = c.stance + (f"/{c.sentiment}" if c.sentiment else "")
            out.failures.append(
                f"{c.text!r} ({c.target}): want {want}, got {p.stance}/{p.sentiment}"
            )
    return out


def run_dir(clf: Classifier, test: BehaviourTest) -> Outcome:
    """A case passes when every target gets its own stance."""
    cases = [SwapCase.model_validate(c) for c in test.cases]
    out = outcome_for(test, cases=len(cases))
    for c in cases:
        targets = list(c.targets)
        got = [p.stance for p in clf.predict([c.text] * len(targets), targets)]
        want = [c.targets[t] for t in targets]
        out.passed += got == want
        if got != want:
            wanted = dict(zip(targets, want, strict=True))
            out.failures.append(f"{c.text!r}: want {wanted}, got {got}")
    return out


def run_inv(clf: Classifier, test: BehaviourTest) -> Outcome:
    """A case passes when all its variants get the same stance."""
    groups: list[tuple[list[str], list[str]]] = []
    if test.variants:  # the same sentence with the target written several ways
        groups = [([str(c)] * len(test.variants), list(test.variants)) for c in test.cases]
    else:
        for c in test.cases:
            case = VariantCase.model_validate(c)
            groups.append((case.texts, [case.target] * len(case.texts)))
    out = outcome_for(test, cases=len(groups))
    for texts, targets in groups:
        probs = clf.predict_proba(texts, targets)
        got = [p.stance for p in to_predictions(probs)]
        same = len(set(got)) == 1
        out.passed += same
        if not same:
            pairs = ", ".join(
                f"{t!r}/{x!r}: {g}" for t, x, g in zip(texts, targets, got, strict=True)
            )
            out.failures.append(f"not invariant: {pairs}")
    return out


RUNNERS = {"mft": run_mft, "dir": run_dir, "inv": run_inv}


def run_behaviour(clf: Classifier, path: Path | None) -> dict[str, Any]:
    """Run every test of the suite at ``path``; {} when no suite is configured."""
    if path is None:
        return {}
    suite = load_suite(path)
    tests = {name: RUNNERS[t.kind](clf, t).as_dict() for name, t in suite.tests.items()}
    return {"suite": str(path), "tests": tests}


def behaviour_failures(behaviour: dict[str, Any]) -> list[str]:
    """One line per gated test below its minimum pass rate (what the gate reports)."""
    out = []
    for name, t in behaviour.get("tests", {}).items():
        if fails_floor(t):
            out.append(
                f"behaviour test {name!r} ({t['kind']}) passed {t['passed']} of {t['cases']} "
                f"({t['pass_rate']:.0%}), below its minimum {t['min_pass_rate']:.0%}"
            )
    return out


def floor_text(t: dict[str, Any]) -> str:
    """The gated minimum, or "not gated"."""
    return f"{t['min_pass_rate']:.0%}" if t.get("gated", True) else "not gated"


def target_text(t: dict[str, Any]) -> str:
    """The target pass rate, or a dash when the test sets none."""
    target = t.get("target_pass_rate")
    return "–" if target is None else f"{target:.0%}"


def fails_floor(t: dict[str, Any]) -> bool:
    """A gated test below its minimum pass rate: what fails the gate."""
    return bool(t.get("gated", True)) and t["pass_rate"] < t["min_pass_rate"]


def below_target(t: dict[str, Any]) -> bool:
    """A test below the pass rate it aims for (never a failure by itself)."""
    target = t.get("target_pass_rate")
    return target is not None and t["pass_rate"] < target


def behaviour_verdict(t: dict[str, Any]) -> str:
    """Pass / below target / **FAIL** (a gated test below its minimum)."""
    if fails_floor(t):
        return "**FAIL**"
    return "below target" if below_target(t) else "pass"
