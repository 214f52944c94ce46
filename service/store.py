"""Finding a model: a BentoML store tag or an artifact folder, for the CLI and the service alike.

Example:
    >>> folder, name = resolve_model("stance-classifier:latest", "transformer")
"""

from __future__ import annotations

import os
from pathlib import Path

from model.labels import MODEL_NAME

DEFAULT_TAG = f"{MODEL_NAME}:latest"
BACKENDS = ("transformer", "baseline")
TRAIN_HINT = "train one with `stance train --config configs/us_sanctions.yaml`"


def store_home() -> str:
    """The BentoML home in use (``$BENTOML_HOME`` or BentoML's default)."""
    return os.environ.get("BENTOML_HOME", str(Path.home() / "bentoml"))


def is_folder_ref(ref: str) -> bool:
    """True when ``ref`` names a folder on disk rather than a store tag."""
    return Path(ref).is_dir()


def backend_folder(folder: Path, backend: str) -> Path:
    """The artifact of ``backend`` in a model folder (one subfolder per backend), or the folder."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: expected one of {list(BACKENDS)}")
    if (folder / backend).is_dir():
        return folder / backend
    if (folder / "config.json").is_file():
        return folder
    raise FileNotFoundError(
        f"{folder} is not a model folder: it holds neither {backend}/ nor config.json; {TRAIN_HINT}"
    )


def resolve_model(ref: str | None, backend: str) -> tuple[Path, str]:
    """Return (artifact folder of ``backend``, the model's name) for a tag or a folder."""
    ref = ref or DEFAULT_TAG
    if is_folder_ref(ref):
        return backend_folder(Path(ref), backend), str(Path(ref).resolve())
    if "/" in ref or "\\" in ref:  # a store tag is name:version and never holds a slash
        raise FileNotFoundError(
            f"model folder {ref} not found: pass an artifact folder that exists or a stored tag "
            f"such as {DEFAULT_TAG}"
        )
    import bentoml
    from bentoml.exceptions import BentoMLException, NotFound

    try:
        stored = bentoml.models.get(ref)
    except NotFound:
        raise FileNotFoundError(
            f"model {ref!r} is not in the BentoML store at {store_home()}; {TRAIN_HINT}, or pass "
            "--model with a stored tag or an artifact folder"
        ) from None
    except BentoMLException as exc:
        raise ValueError(f"invalid model tag {ref!r}: {exc}") from None
    folder = Path(stored.path) / backend
    if not folder.is_dir():
        raise FileNotFoundError(f"model {stored.tag} has no {backend!r} backend at {folder}")
    return folder, str(stored.tag)


def has_model(tag: str = DEFAULT_TAG) -> bool:
    """True when the store holds ``tag``."""
    try:
        resolve_model(tag, "transformer")
    except (FileNotFoundError, ValueError):
        return False
    return True
