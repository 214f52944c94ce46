"""Behavioural tests: the suite file, the three kinds of test, and what the gate sees."""

import re
from pathlib import Path

import numpy as np
import pytest

from model.predictor import CalibratedMixin, Temperatures
from training.behaviour import (
    behaviour_failures,
    behaviour_verdict,
    load_suite,
    mft_cases,
    run_behaviour,
)
from training.card import behaviour_shortfalls
from training.check import corpus_files
from training.data import read_examples
from training.dedup import near_duplicates

SUITE = Path("configs/behaviour.yaml")


class Keyword(CalibratedMixin):
    """Stance from words: 'despite' or 'illegal' is against, 'keep' is favor, else none."""

    def __init__(self) -> None:
        self.temperatures = Temperatures()

    def logits(self, texts, targets, contexts=None):
        z = np.zeros((len(texts), 3))
        for i, (t, g) in enumerate(zip(texts, targets, strict=True)):
            low = t.lower()
            k = 1 if ("despite" in low or "illegal" in low) else 0 if "keep" in low else 2
            if "UN" in g and "reject" in low:
                k = 0
            z[i, k] = 5.0
        return {"stance": z, "sentiment": z.copy()}  # favor~positive, against~negative


def test_the_suite_file_is_valid_and_states_a_minimum_for_every_test():
    suite = load_suite(SUITE)
    assert {"seed_explicit", "seed_golden", "despite", "negation", "target_swap",
            "target_wording", "headline_vs_sentence"} <= set(suite.tests)  # fmt: skip
    for test in suite.tests.values():
        assert 0 < test.min_pass_rate <= 1
    explicit = mft_cases(suite.tests["seed_explicit"])
    assert len(explicit) == 1 and "despite US threats" in explicit[0].text
    assert explicit[0].stance == "against"
    assert explicit[0].sentiment is None  # the guidelines label its stance only
    golden = mft_cases(suite.tests["seed_golden"])
    assert len(golden) == 17 and all(c.sentiment is not None for c in golden)
    for test in suite.tests.values():
        assert test.target_pass_rate is None or test.min_pass_rate <= test.target_pass_rate


def test_no_behaviour_sentence_is_in_the_training_data():
    import yaml

    raw = yaml.safe_load(SUITE.read_text())
    texts = []
    for test in raw["tests"].values():
        for case in test.get("cases", []):
            if isinstance(case, str):
                texts.append(case)
            else:
                texts += [case["text"]] if "text" in case else case.get("texts", [])
    texts += [c.text for c in mft_cases(load_suite(SUITE).tests["seed_golden"])]
    train = [
        e.text for f in corpus_files(Path("data")) if f.stem == "train" for e in read_examples(f)
    ]
    assert near_duplicates(texts, train) == []


def test_each_kind_counts_passes_and_the_gate_reports_a_test_below_its_minimum(tmp_path):
    suite = tmp_path / "configs" / "behaviour.yaml"
    suite.parent.mkdir()
    suite.write_text(
        """tests:
  despite:
    kind: mft
    min_pass_rate: 1.0
    cases:
      - {text: "We trade despite the embargo.", target: US embargo on Cuba, stance: against}
      - {text: "We keep the sanctions.", target: EU sanctions, stance: favor, sentiment: positive}
      - {text: "The talks resume.", target: EU sanctions, stance: favor}
  swap:
    kind: dir
    min_pass_rate: 0.5
    cases:
      - {text: "We reject this.", targets: {UN sanctions: favor, US sanctions: none}}
  wording:
    kind: inv
    min_pass_rate: 0.5
    variants: ["US sanctions", "American sanctions"]
    cases: ["They are illegal.", "Talks resume."]
"""
    )
    result = run_behaviour(Keyword(), suite)
    tests = result["tests"]
    assert (tests["despite"]["cases"], tests["despite"]["passed"]) == (3, 2)
    assert tests["despite"]["failures"] == [
        "'The talks resume.' (EU sanctions): want favor, got none/neutral"
    ]
    assert tests["swap"]["pass_rate"] == 1.0
    assert tests["wording"]["pass_rate"] == 1.0
    assert behaviour_failures(result) == [
        "behaviour test 'despite' (mft) passed 2 of 3 (67%), below its minimum 100%"
    ]


def test_an_ungated_test_is_reported_below_its_target_but_never_fails_the_gate(tmp_path):
    suite = tmp_path / "configs" / "behaviour.yaml"
    suite.parent.mkdir()
    suite.write_text(
        """tests:
  known:
    kind: mft
    min_pass_rate: 1.0
    target_pass_rate: 1.0
    gated: false
    cases:
      - {text: "The talks resume.", target: EU sanctions, stance: favor}
  floor:
    kind: mft
    min_pass_rate: 0.5
    target_pass_rate: 1.0
    cases:
      - {text: "We trade despite the embargo.", target: US embargo on Cuba, stance: against}
      - {text: "The talks resume.", target: EU sanctions, stance: favor}
"""
    )
    result = run_behaviour(Keyword(), suite)
    assert result["tests"]["known"]["pass_rate"] == 0.0
    assert result["tests"]["known"]["gated"] is False
    assert result["tests"]["floor"]["target_pass_rate"] == 1.0
    assert behaviour_failures(result) == []
    assert [behaviour_verdict(t) for t in result["tests"].values()] == [
        "below target",
        "below target",
    ]
    assert behaviour_shortfalls(result) == [
        "Behavioural test `known` passes 0 of 1 cases (0%; target 100%). For example: "
        "'The talks resume.' (EU sanctions): want favor, got none/neutral",
        "Behavioural test `floor` passes 1 of 2 cases (50%; target 100%). For example: "
        "'The talks resume.' (EU sanctions): want favor, got none/neutral",
    ]
    result["tests"]["floor"]["pass_rate"] = 0.25
    assert behaviour_verdict(result["tests"]["floor"]) == "**FAIL**"


def test_a_broken_suite_is_a_clear_error(tmp_path):
    path = tmp_path / "b.yaml"
    path.write_text("tests: {x: {kind: mft, min_pass_rate: 2}}\n")
    with pytest.raises(ValueError, match=re.escape(f"behaviour suite {path} is invalid")):
        load_suite(path)
    with pytest.raises(FileNotFoundError, match="behaviour suite nope.yaml not found"):
        load_suite(Path("nope.yaml"))
