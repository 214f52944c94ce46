"""Read `stance classify-docs` JSON Lines back in the shape of `/classify_document`'s answer, so
tests can compare the command and the HTTP API document by document."""

from __future__ import annotations

import json
from typing import Any

STANCES = ("favor", "against", "none")
SENTIMENTS = ("positive", "negative", "neutral")


def read_rows(jsonl: str) -> list[dict[str, Any]]:
    """The rows of the command's JSON Lines output."""
    return [json.loads(line) for line in jsonl.splitlines() if line.strip()]


def as_api_results(rows: list[dict[str, Any]], document: str) -> list[dict[str, Any]]:
    """The rows of ``document`` as the ``results`` list of a /classify_document answer."""
    results: list[dict[str, Any]] = []
    sentences: list[dict[str, Any]] = []
    for row in (r for r in rows if r["document"] == document):
        if row["kind"] == "sentence":
            sentences.append(
                {
                    "index": row["sentence"], "start": row["start"], "end": row["end"],
                    "text": row["text"], "windows": row["windows"], "stance": row["stance"],
                    "stance_scores": {k: row[f"stance_{k}"] for k in STANCES},
                    "sentiment": row["sentiment"],
                    "sentiment_scores": {k: row[f"sentiment_{k}"] for k in SENTIMENTS},
                }
            )  # fmt: skip
            continue
        results.append(
            {
                "target": row["target"], "stance": row["stance"],
                "stance_confidence": row["confidence"],
                "stance_distribution": {k: row[f"stance_{k}"] for k in STANCES},
                "sentiment_distribution": {k: row[f"sentiment_{k}"] for k in SENTIMENTS},
                "evidence": row["evidence"], "sentences": sentences,
            }
        )  # fmt: skip
        sentences = []
    return results
