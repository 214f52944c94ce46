"""The BentoML model store: save a trained model pair, find one by tag or path."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

DEFAULT_MODEL = "stance-classifier"


def store_home() -> str:
    """Return the BentoML home in use (``$BENTOML_HOME`` or BentoML's default)."""
    return os.environ.get("BENTOML_HOME", str(Path.home() / "bentoml"))


def _basic(value: Any) -> Any:
    """Drop None values recursively: BentoML metadata takes basic types only."""
    if isinstance(value, dict):
        return {str(k): _basic(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_basic(v) for v in value if v is not None]
    return value


def save_to_store(name: str, artifact_root: Path, metadata: dict[str, Any]) -> str:
    """Copy ``artifact_root`` (holding transformer/ and baseline/) into a new store model."""
    import bentoml

    with bentoml.models.create(name, metadata=_basic(metadata), module="stance_service") as model:
        shutil.copytree(artifact_root, model.path, dirs_exist_ok=True)
    return str(model.tag)


def has_model(tag: str = f"{DEFAULT_MODEL}:latest") -> bool:
    """True when the store holds ``tag``."""
    import bentoml
    from bentoml.exceptions import NotFound

    try:
        bentoml.models.get(tag)
    except NotFound:
        return False
    return True


def resolve_model(model: str | None, backend: str) -> tuple[Path, str]:
    """Return (artifact folder of ``backend``, tag) for a store tag or a local folder."""
    ref = model or f"{DEFAULT_MODEL}:latest"
    local = Path(ref)
    if local.is_dir():
        folder = local / backend if (local / backend).is_dir() else local
        return folder, str(local)
    import bentoml
    from bentoml.exceptions import BentoMLException, NotFound

    try:
        stored = bentoml.models.get(ref)
    except NotFound:
        raise FileNotFoundError(
            f"model {ref!r} is not in the BentoML store at {store_home()}; train one with "
            "`stance train --config configs/us_sanctions.yaml` or pass --model with a tag "
            "or an artifact folder"
        ) from None
    except BentoMLException as exc:
        raise ValueError(f"invalid model tag {ref!r}: {exc}") from None
    folder = Path(stored.path) / backend
    if not folder.is_dir():
        raise FileNotFoundError(f"model {stored.tag} has no {backend!r} backend at {folder}")
    return folder, str(stored.tag)
