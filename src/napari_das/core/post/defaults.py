"""Post-processing defaults from the song itself, for models without a tuned ``post_opt``.

Training records the durations of each segment type and the gaps between segments of the
training split in ``_params.yaml`` (``song_durations``, :func:`song_durations`).  A model
without ``post_opt`` (trained with ``--no-post-opt``, stopped early, or without validation
data) then still predicts with a minimum length and a fill gap that cannot delete or merge
true syllables: half the 5th percentile of the segment durations and half the 5th percentile
of the gaps (:func:`derived_postprocessing`).  Without either, prediction returns every
fragment the network produces (thousands of one-sample "syllables" on finch song).

>>> y = np.zeros((100, 2)); y[10:30, 1] = 1; y[40:50, 1] = 1; y[60:90, 1] = 1
>>> d = song_durations(y, ["noise", "a"], ["segment", "segment"], 1000.0)
>>> d["a"]["count"], d["a"]["p05"], d["gaps"]["p05"]
(3, 0.011, 0.01)
>>> derived_postprocessing({"song_durations": d})
(0.005, 0.0055)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: Fraction of the short durations (5th percentile) used as minimum length and fill gap.
FRACTION = 0.5
#: Percentile of durations and gaps the defaults are derived from (robust to a few outliers).
PERCENTILE = 5.0


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and (exclusive) stops of the True runs of a 1-D mask."""
    edges = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _stats(seconds: np.ndarray) -> dict[str, float]:
    if not seconds.size:
        return {"count": 0}
    return {"count": int(seconds.size), "min": float(seconds.min()),
            "p05": float(np.round(np.percentile(seconds, PERCENTILE), 6)),
            "median": float(np.round(np.median(seconds), 6)), "max": float(seconds.max())}


def song_durations(y: Any, class_names: Sequence[str], class_types: Sequence[str],
                   samplerate: float, boundaries: Sequence[tuple[int, int]] | None = None
                   ) -> dict[str, dict[str, float]]:
    """Durations (s) of every segment type in targets ``y [T, K]`` and of the gaps between
    segments (``"gaps"``), per recording piece; segments cut by a piece edge are left out.

    Returns ``{name: {count, min, p05, median, max}, ..., "gaps": {...}}`` (plain types).
    """
    pieces = [(0, len(y))] if not boundaries else [(int(a), int(b)) for a, b in boundaries]
    segment = [k for k, t in enumerate(class_types) if t == "segment" and k > 0]
    lengths: dict[str, list[np.ndarray]] = {class_names[k]: [] for k in segment}
    gaps: list[np.ndarray] = []
    for a, b in pieces:
        if b <= a or not segment:
            continue
        block = np.asarray(y[a:b])[:, segment] > 0.5
        for j, k in enumerate(segment):
            starts, stops = _runs(block[:, j])
            whole = (starts > 0) & (stops < b - a)
            lengths[class_names[k]].append((stops - starts)[whole])
        starts, stops = _runs(block.any(axis=1))
        if starts.size > 1:
            gaps.append(starts[1:] - stops[:-1])
    out = {name: _stats(np.concatenate(v) / samplerate if v else np.zeros(0))
           for name, v in lengths.items()}
    out["gaps"] = _stats(np.concatenate(gaps) / samplerate if gaps else np.zeros(0))
    return out


def derived_postprocessing(params: dict[str, Any]) -> tuple[float | None, float | None]:
    """``(fill gap, minimum length)`` in seconds from a model's ``song_durations`` (None where
    the params lack them)."""
    durations = params.get("song_durations")
    if not isinstance(durations, dict):
        return None, None
    gaps = durations.get("gaps") or {}
    fillgap = FRACTION * float(gaps["p05"]) if gaps.get("p05") else None
    shortest = [float(v["p05"]) for k, v in durations.items()
                if k != "gaps" and isinstance(v, dict) and v.get("p05")]
    minlen = FRACTION * min(shortest) if shortest else None
    return (None if fillgap is None else round(fillgap, 6),
            None if minlen is None else round(minlen, 6))


def describe_postprocessing(params: dict[str, Any]) -> str:
    """One line saying which fill gap and minimum length ``das predict`` uses by default.

    >>> describe_postprocessing({"post_opt": {"gap_dur": 0.005, "min_len": 0.02}})
    "the model's post-processing: fill gap 5 ms, min length 20 ms (chosen at training)"
    >>> describe_postprocessing({})
    'the model has no post-processing: set a min length and fill gap, or every fragment stays'
    """
    optimized = params.get("post_opt")
    if isinstance(optimized, dict) and optimized.get("gap_dur") is not None:
        gap, minlen, source = optimized.get("gap_dur"), optimized.get("min_len"), \
            "chosen at training"
    else:
        gap, minlen = derived_postprocessing(params)
        source = "from the song durations at training"
    if gap is None and minlen is None:
        return ("the model has no post-processing: set a min length and fill gap, or every "
                "fragment stays")

    def ms(value: Any) -> str:
        return "none" if value is None else f"{1000 * float(value):.3g} ms"

    return f"the model's post-processing: fill gap {ms(gap)}, min length {ms(minlen)} ({source})"
