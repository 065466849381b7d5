"""Predictions with a confidence per item, as the viewer's proofreading reads them.

A proposals file is a DAS ``*_annotations.csv`` with one more column, ``confidence``: for an
event the class probability at its peak, for a segment the mean probability of its song type
over the segment (both computed by :class:`~napari_das.core.post.stream.PostProcessor` while
predicting).  DAS and :meth:`Annotations.from_file` ignore the extra column, so the file is
still an annotation file; :func:`read_proposals` gives the annotations and the confidences
aligned with their rows.

>>> import numpy as np
>>> from napari_das.core.post.stream import Events, Segments
>>> p = Prediction(Events(np.array([0.5]), ["pulse"], np.array([0.9])),
...                Segments(np.array([1.0]), np.array([1.5]), ["sine"], np.array([0.75])),
...                None, 10000.0, ["noise", "pulse", "sine"], ["segment", "event", "segment"])
>>> ann, conf = proposals_of(p)
>>> ann.df.values.tolist(), conf.tolist()
([['pulse', 0.5, 0.5], ['sine', 1.0, 1.5]], [0.9, 0.75])
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import timebase
from ..io.annotations import COLUMNS, Annotations, definitions_path_for, write_definitions
from ..io.files import atomic_write_text
from .predict import Prediction

CONFIDENCE = "confidence"

__all__ = ["CONFIDENCE", "Prediction", "aligned_confidence", "proposals_of", "read_proposals",
           "write_proposals"]


def _key(name: Any, start: float, stop: float) -> tuple[str, float, float]:
    return str(name), float(timebase.round_seconds(start)), float(timebase.round_seconds(stop))


def aligned_confidence(annotations: Annotations, table: pd.DataFrame) -> np.ndarray:
    """Confidence of each row of ``annotations.df`` looked up in ``table`` (name, start, stop,
    confidence); NaN where the table has no such item (e.g. drawn by hand)."""
    pool: dict[tuple, list[float]] = {}
    for row in table.itertuples(index=False):
        start, stop = row.start_seconds, row.stop_seconds
        if not (np.isfinite(start) and np.isfinite(stop)):
            continue
        pool.setdefault(_key(row.name, start, stop), []).append(float(getattr(row, CONFIDENCE)))
    out = np.full(len(annotations.df), np.nan)
    for i, row in enumerate(annotations.df.itertuples(index=False)):
        values = pool.get(_key(row.name, row.start_seconds, row.stop_seconds))
        if values:
            out[i] = values.pop(0)
    return out


def _table(prediction: Prediction) -> pd.DataFrame:
    ev, sg = prediction.events, prediction.segments
    return pd.DataFrame({
        "name": list(ev.names) + list(sg.names),
        "start_seconds": np.r_[np.asarray(ev.seconds, np.float64),
                               np.asarray(sg.onsets_seconds, np.float64)],
        "stop_seconds": np.r_[np.asarray(ev.seconds, np.float64),
                              np.asarray(sg.offsets_seconds, np.float64)],
        CONFIDENCE: np.r_[np.asarray(ev.confidence, np.float64),
                          np.asarray(sg.confidence, np.float64)],
    })


def proposals_of(prediction: Prediction) -> tuple[Annotations, np.ndarray]:
    """The prediction's annotations and the confidence of each of their rows."""
    annotations = prediction.to_annotations()
    return annotations, aligned_confidence(annotations, _table(prediction))


def write_proposals(path: str | os.PathLike, prediction: Prediction) -> Path:
    """Write ``path`` (DAS CSV + ``confidence`` column, placeholder rows for empty types) and
    its ``_definitions.csv``, atomically; returns ``path``."""
    path = Path(path)
    annotations, confidence = proposals_of(prediction)
    table = annotations.df[list(COLUMNS)].copy()
    table[CONFIDENCE] = np.round(confidence, 6)
    present = set(table["name"])
    placeholders = [(n, np.nan, np.nan if c == "event" else 0.0, np.nan)
                    for n, c in annotations.categories.items() if n not in present]
    if placeholders:
        table = pd.concat([table, pd.DataFrame(placeholders, columns=table.columns)],
                          ignore_index=True)
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, lineterminator="\n")
    atomic_write_text(path, buffer.getvalue())
    write_definitions(definitions_path_for(path), annotations.categories)
    return path


def read_proposals(path: str | os.PathLike) -> tuple[Annotations, np.ndarray]:
    """Annotations of a proposals (or plain annotations) file and each row's confidence (NaN
    when the file has no ``confidence`` column)."""
    annotations = Annotations.from_file(path)
    raw = pd.read_csv(path)
    if CONFIDENCE not in raw.columns:
        return annotations, np.full(len(annotations.df), np.nan)
    raw = raw.dropna(subset=["start_seconds", "stop_seconds"])
    return annotations, aligned_confidence(annotations, raw)
