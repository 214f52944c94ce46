"""The BentoML model store: save a trained model pair (transformer and baseline artifacts).

Looking a model up (tag or folder) is ``service.store``'s job, shared by the CLI and the service.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _basic(value: Any) -> Any:
    """Drop None values recursively: BentoML metadata takes basic types only."""
    if isinstance(value, dict):
        return {str(k): _basic(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_basic(v) for v in value if v is not None]
    return value


def save_to_store(
    name: str,
    artifact_root: Path,
    metadata: dict[str, Any],
    finish: Callable[[Path, str], None] | None = None,
) -> str:
    """Copy ``artifact_root`` (holding transformer/ and baseline/) into a new store model.

    ``finish(folder, tag)`` runs on the stored copy before it is sealed, for files that name the
    tag (the artifacts' metrics.json and model card).
    """
    import bentoml

    with bentoml.models.create(name, metadata=_basic(metadata), module="stance_service") as model:
        shutil.copytree(artifact_root, model.path, dirs_exist_ok=True)
        if finish is not None:
            finish(Path(model.path), str(model.tag))
    return str(model.tag)
