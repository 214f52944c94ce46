import re

import pytest

from service.settings import read_settings
from service.store import backend_folder, resolve_model


def test_defaults_and_every_variable_is_read():
    s = read_settings({})
    assert (s.model, s.backend, s.runtime, s.batch_size) == (
        "stance-classifier:latest", "transformer", None, 64,
    )  # fmt: skip
    assert not s.tracing
    s = read_settings({"STANCE_BACKEND": "baseline", "STANCE_RUNTIME": "onnx-fp32",
                       "STANCE_RECHECK_MARGIN": "0.2", "STANCE_THREADS": "2",
                       "STANCE_ORT_SPIN": "1", "STANCE_ACCESS_LOG": "0",
                       "STANCE_TRACING": "1"})  # fmt: skip
    assert (s.backend, s.runtime, s.recheck_margin, s.threads, s.ort_spin, s.access_log,
            s.tracing) == ("baseline", "onnx-fp32", 0.2, 2, True, False, True)  # fmt: skip
    assert read_settings({"STANCE_RUNTIME": "torch-bf16"}).runtime == "torch-bf16"
    assert (s.batch_wait_ms, read_settings({"STANCE_BATCH_WAIT_MS": "0"}).batch_wait_ms) == (2, 0)
    assert (s.workers, read_settings({"STANCE_WORKERS": "2"}).workers) == (1, 2)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"STANCE_BACKEND": "gpu"}, "STANCE_BACKEND='gpu': Input should be 'transformer' or "),
        ({"STANCE_RECHECK_MARGIN": "2"}, "STANCE_RECHECK_MARGIN='2': Input should be less than"),
        ({"STANCE_THREADS": "many"}, "STANCE_THREADS='many': Input should be a valid integer"),
    ],
)
def test_a_bad_variable_is_one_line_naming_it(env, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        read_settings(env)


def test_a_folder_is_served_as_a_folder(tmp_path):
    (tmp_path / "transformer").mkdir()
    (tmp_path / "transformer" / "config.json").write_text("{}")
    folder, name = resolve_model(str(tmp_path), "transformer")
    assert folder == tmp_path / "transformer" and name == str(tmp_path.resolve())
    assert backend_folder(tmp_path / "transformer", "transformer") == tmp_path / "transformer"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(
        FileNotFoundError,
        match=re.escape(f"{empty} is not a model folder: it holds neither baseline/ nor "
                        "config.json"),
    ):  # fmt: skip
        backend_folder(empty, "baseline")
