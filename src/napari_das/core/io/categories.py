"""Song-type categories and channels of DAS annotation files (spec 1.2, 9.1)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def infer_categories(names: list[str], starts: np.ndarray,
                     stops: np.ndarray) -> tuple[dict[str, str], dict[str, str]]:
    """Category and evidence per name, in order of first appearance.

    A name with real rows (finite times) is a segment when any row has ``stop > start``, else an
    event (one-sample segments written by DAS's predict, ``start == stop``, count as events
    only when the type has no longer row).  A name with only NaN placeholder rows follows the
    GUI's convention (``NaN,NaN``: event; ``NaN,<number>``: segment), with evidence
    ``"placeholder"`` (DAS's predict writes ``NaN,0`` for every empty type, events included).
    """
    starts, stops = np.asarray(starts, float), np.asarray(stops, float)
    real = np.isfinite(starts) & np.isfinite(stops) & (stops >= starts)
    categories: dict[str, str] = {}
    evidence: dict[str, str] = {}
    for name in dict.fromkeys(names):
        rows = np.asarray([n == name for n in names])
        if (rows & real).any():
            duration = (stops[rows & real] > starts[rows & real]).any()
            categories[name], evidence[name] = ("segment" if duration else "event"), "rows"
        else:
            both_nan = (rows & np.isnan(starts) & np.isnan(stops)).any()
            categories[name] = "event" if both_nan else "segment"
            evidence[name] = "placeholder"
    return categories, evidence


def parse_channels(column: pd.Series) -> np.ndarray:
    """DAS's ``channel`` column as int64 (blank or NaN -> -1, unassigned)."""
    values = pd.to_numeric(pd.Series(column).astype(str).str.strip().replace("", "nan"),
                           errors="coerce").to_numpy(np.float64)
    return np.where(np.isfinite(values), values, -1).astype(np.int64)
