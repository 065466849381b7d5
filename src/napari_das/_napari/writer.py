"""napari writer: shapes (segments) and points (events) layers -> DAS ``<stem>_annotations.csv``.

The chosen path ``<stem>.csv`` or ``<stem>_annotations.csv`` becomes ``<stem>_annotations.csv``
plus ``<stem>_definitions.csv`` (the song types and their categories, so empty types survive).
Files are written atomically (temporary file + rename).  napari's save dialog asks before
replacing the file the user picked; a *different* existing file (``<stem>_annotations.csv`` when
``<stem>.csv`` was picked) is never replaced silently.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..core.errors import DasError
from ..core.io.annotations import ANNOTATIONS_SUFFIX, definitions_path_for
from .layers import layers_to_annotations

log = logging.getLogger(__name__)


def annotations_path_for(path: str | os.PathLike) -> Path:
    """``<stem>_annotations.csv`` for a path the user picked (``.csv`` added if missing)."""
    path = Path(path)
    if path.name.endswith(ANNOTATIONS_SUFFIX):
        return path
    stem = path.name[:-4] if path.suffix.lower() == ".csv" else path.name
    return path.with_name(stem + ANNOTATIONS_SUFFIX)


def write_annotations(path: str, layer_data: Sequence[tuple[Any, dict, str]]) -> list[str]:
    """Write shapes/points layers as DAS annotations.

    Parameters
    ----------
    path : str
        The path chosen in napari's save dialog.
    layer_data : list of (data, attributes, layer_type)
        Shapes and points layers (what napari passes to a multi-layer writer).

    Returns
    -------
    list of str
        The annotations file and the definitions file written.

    Raises
    ------
    DasError
        Other layer types, unnamed items, or an existing ``<stem>_annotations.csv`` different
        from the path the user picked.
    """
    if not layer_data:
        raise DasError("no layers to save; select the shapes/points layers with annotations")
    others = [attrs.get("name", kind) for _, attrs, kind in layer_data
              if kind not in ("shapes", "points")]
    if others:
        raise DasError(f"cannot save {', '.join(map(str, others))} as annotations: only shapes "
                       "(segments) and points (events) layers", path)
    target = annotations_path_for(path)
    if target != Path(path) and target.exists():
        raise DasError(f"{target.name} already exists; save to that name to replace it or pick "
                       "another name", path)
    annotations = layers_to_annotations(list(layer_data))
    annotations.to_file(target, overwrite=True, definitions=True)
    log.info("saved %d annotations to %s", len(annotations), target)
    return [os.fspath(target), os.fspath(definitions_path_for(target))]
