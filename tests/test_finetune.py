"""Where fine-tuning runs (CPU, a GPU, several processes) and in which precision."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import ROOT, write_config
from training.config import TransformerConfig
from training.data import read_examples
from training.finetune import check_precision, fine_tune, pick_device, training_arguments


@pytest.mark.parametrize(
    ("wanted", "gpu", "device"),
    [("auto", False, "cpu"), ("auto", True, "cuda"), ("cpu", True, "cpu"), ("cuda", True, "cuda")],
)
def test_device_follows_the_config_and_the_gpus_torch_sees(wanted, gpu, device, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)
    assert pick_device(wanted) == device


def test_auto_is_cpu_on_this_machine():
    assert pick_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")


def test_cuda_without_a_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", None)
    message = (
        f"transformer.device is cuda but torch {torch.__version__} (a CPU-only build) sees no "
        "GPU; set device: auto or cpu, or install a CUDA build of torch on a machine with a GPU"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        pick_device("cuda")


def test_bf16_on_a_gpu_without_bfloat16_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda: "Tesla T4")
    message = (
        "transformer.bf16 needs a GPU with bfloat16 (compute capability 8.0 or newer); "
        "Tesla T4 has none: set bf16: false"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        check_precision(True, "cuda")
    check_precision(False, "cuda")
    check_precision(True, "cpu")  # CPU autocast has bfloat16


@pytest.mark.parametrize(("device", "bf16"), [("cpu", False), ("cpu", True), ("cuda", False)])
def test_trainer_arguments_take_the_device_and_precision(device, bf16, tmp_path):
    config = TransformerConfig(bf16=bf16)
    args = training_arguments(config, device, tmp_path, 3, 10, "stance_macro_f1")
    assert args.use_cpu is (device == "cpu")
    assert args.bf16 is bf16
    assert args.seed == args.data_seed == 3


def test_bf16_fine_tuning_runs_and_keeps_fp32_weights(tiny_encoder, corpus_dir, tmp_path):
    train = read_examples(corpus_dir / "train.jsonl")[:24]
    validation = read_examples(corpus_dir / "validation.jsonl")[:12]
    config = TransformerConfig(epochs=1, batch_size=8, max_length=48, bf16=True, device="auto")
    clf, summary = fine_tune(train, validation, config, tiny_encoder, 7, tmp_path / "trainer")
    assert (summary["device"], summary["bf16"], summary["processes"]) == ("cpu", True, 1)
    assert {p.dtype for p in clf.model.parameters()} == {torch.float32}
    probs = clf.predict_proba([e.text for e in validation], [e.target for e in validation])
    assert np.allclose(probs.stance.sum(axis=1), 1.0)


def test_two_process_launch_trains_one_run(tiny_encoder, corpus_dir, tmp_path):
    """torchrun on CPU (gloo) runs what `accelerate launch --multi_gpu` runs on GPUs."""
    config = write_config(tmp_path / "tiny.yaml", corpus_dir, str(tiny_encoder), tmp_path)
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    torchrun = Path(sys.executable).parent / "torchrun"
    argv = [str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "cli.main"]
    done = subprocess.run(
        [*argv, "train", "--config", str(config), "--no-save"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "process 1 of 2: fine-tuning done; process 0 writes the model\n" in done.stderr
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1  # both processes trained in the run folder process 0 named
    summary = json.loads(done.stdout[done.stdout.index('{\n  "run_id"') :])  # after Trainer logs
    assert summary["run_id"] == runs[0].name
    metrics = json.loads((Path(summary["report_dir"]) / "metrics.json").read_text())
    assert metrics["training_log"]["processes"] == 2
    assert (runs[0] / "artifact" / "transformer" / "model.onnx").is_file()
