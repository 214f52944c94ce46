"""ONNX Runtime inference for the transformer artifact (fp32 or dynamically quantised int8).

The ONNX graph (written by ``training.export``) maps token ids to both heads' logits; tokenizer,
calibration temperatures and labels come from the same artifact folder, so outputs match the
torch path up to quantisation error.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from transformers import AutoTokenizer

from model.artifact import ArtifactConfig
from model.predictor import CalibratedMixin, FloatArray, Temperatures

RUNTIMES = {"onnx-fp32": "model.onnx", "onnx-int8": "model.int8.onnx"}


class OnnxClassifier(CalibratedMixin):
    """The transformer artifact run by ONNX Runtime on CPU."""

    backend = "transformer"

    def __init__(self, directory: Path, runtime: str = "onnx-int8", batch_size: int = 32) -> None:
        import onnxruntime as ort

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
        options = ort.SessionOptions()
        # One inter-op thread and all cores inside each op: the best split on small CPU boxes.
        options.intra_op_num_threads = int(os.environ.get("STANCE_THREADS", os.cpu_count() or 1))
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names = {i.name for i in self.session.get_inputs()}

    def logits(self, texts: Sequence[str], targets: Sequence[str]) -> dict[str, FloatArray]:
        """Return raw logits for both tasks, batching by length."""
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
            s, m = self.session.run(["stance_logits", "sentiment_logits"], feeds)
            stance[idx], sentiment[idx] = s, m
        return {"stance": stance, "sentiment": sentiment}

    def save(self, directory: Path) -> None:
        """Copy the artifact folder (weights, ONNX files, tokenizer) and write its config.json."""
        directory = Path(directory)
        if directory.resolve() != self.directory.resolve():
            shutil.copytree(self.directory, directory, dirs_exist_ok=True)
        self.config.temperatures = self.temperatures.as_dict()
        self.config.write(directory)
