"""ONNX Runtime inference for the transformer artifact (fp32 or dynamically quantised int8).

The ONNX graph (written by ``training.export``) maps token ids to both heads' logits; tokenizer,
calibration temperatures and labels come from the same artifact folder, so outputs match the
torch path up to quantisation error.

int8 with a recheck margin is a cascade: every item runs through the int8 graph, and the items
whose calibrated top-two probabilities (in either task) are closer than the margin run again in
fp32, whose answer replaces the int8 one. Quantisation error flips labels only near the decision
boundary, so this keeps int8's speed on confident items and fp32's labels on close calls. Training
picks the smallest margin that reaches the parity target on validation (``training.export``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from transformers import AutoTokenizer

from model.artifact import ArtifactConfig
from model.predictor import CalibratedMixin, FloatArray, Temperatures, softmax

RUNTIMES = {"onnx-fp32": "model.onnx", "onnx-int8": "model.int8.onnx"}
RECHECK_KEY = "int8_recheck_margin"  # in the artifact's config.json ``extra``


def top_two_margin(logits: dict[str, FloatArray], temperatures: Temperatures) -> FloatArray:
    """Per item, the smallest gap between the top two calibrated probabilities over both tasks."""
    gaps = []
    for task, z in logits.items():
        p = np.sort(softmax(z, getattr(temperatures, task)), axis=1)
        gaps.append(p[:, -1] - p[:, -2])
    return np.min(gaps, axis=0)  # type: ignore[no-any-return]


def _session(path: Path) -> Any:
    """An ONNX Runtime CPU session: one inter-op thread and all cores inside each op."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = int(os.environ.get("STANCE_THREADS", os.cpu_count() or 1))
    options.inter_op_num_threads = 1
    if os.environ.get("STANCE_ORT_SPIN", "0") != "1":
        # Idle intra-op threads spin by default; on a 2-core box they then take the cores from
        # the other session of the int8 cascade and from the HTTP event loop.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxClassifier(CalibratedMixin):
    """The transformer artifact run by ONNX Runtime on CPU."""

    backend = "transformer"

    def __init__(
        self,
        directory: Path,
        runtime: str = "onnx-int8",
        batch_size: int = 32,
        recheck_margin: float | None = None,
    ) -> None:
        if runtime not in RUNTIMES:
            raise ValueError(
                f"unknown ONNX runtime {runtime!r}: expected one of {sorted(RUNTIMES)}"
            )
        directory = Path(directory)
        path = directory / RUNTIMES[runtime]
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} not found: export it with `stance export --model {directory.parent}`"
            )
        self.config = ArtifactConfig.read(directory)
        self.temperatures: Temperatures = self.config.temperature_object()
        self.tokenizer = AutoTokenizer.from_pretrained(str(directory / "tokenizer"))
        self.runtime = runtime
        self.directory = directory
        self.batch_size = batch_size
        self.session = _session(path)
        self.input_names = {i.name for i in self.session.get_inputs()}
        if recheck_margin is None:  # $STANCE_RECHECK_MARGIN, else the margin training chose
            stored = self.config.extra.get(RECHECK_KEY, 0.0)
            recheck_margin = float(os.environ.get("STANCE_RECHECK_MARGIN", stored))
        if not 0 <= recheck_margin <= 1:
            raise ValueError(f"recheck margin must be within [0, 1], got {recheck_margin}")
        self.recheck_margin = recheck_margin if runtime == "onnx-int8" else 0.0
        self.fp32_session = (
            _session(directory / RUNTIMES["onnx-fp32"]) if self.recheck_margin > 0 else None
        )
        self.items_seen = 0
        self.items_rechecked = 0

    def logits(self, texts: Sequence[str], targets: Sequence[str]) -> dict[str, FloatArray]:
        """Return raw logits for both tasks; close int8 calls are recomputed in fp32."""
        out = self._run(self.session, texts, targets)
        self.items_seen += len(texts)
        if self.fp32_session is None or not len(texts):
            return out
        redo = np.flatnonzero(top_two_margin(out, self.temperatures) < self.recheck_margin).tolist()
        if redo:
            exact = self._run(
                self.fp32_session, [texts[i] for i in redo], [targets[i] for i in redo]
            )
            for task in out:
                out[task][redo] = exact[task]
            self.items_rechecked += len(redo)
        return out

    def _run(
        self, session: Any, texts: Sequence[str], targets: Sequence[str]
    ) -> dict[str, FloatArray]:
        """Logits of ``session`` for both tasks, batching by length."""
        order = np.argsort([len(t) for t in texts], kind="stable")
        stance = np.zeros((len(texts), 3))
        sentiment = np.zeros((len(texts), 3))
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            batch = self.tokenizer(
                [targets[i] for i in idx],
                [texts[i] for i in idx],
                truncation="longest_first",
                max_length=self.config.max_length,
                padding=True,
                return_tensors="np",
            )
            feeds = {k: v.astype(np.int64) for k, v in batch.items() if k in self.input_names}
            s, m = session.run(["stance_logits", "sentiment_logits"], feeds)
            stance[idx], sentiment[idx] = s, m
        return {"stance": stance, "sentiment": sentiment}

    def save(self, directory: Path) -> None:
        """Copy the artifact folder (weights, ONNX files, tokenizer) and write its config.json."""
        directory = Path(directory)
        if directory.resolve() != self.directory.resolve():
            shutil.copytree(self.directory, directory, dirs_exist_ok=True)
        self.config.temperatures = self.temperatures.as_dict()
        self.config.write(directory)
