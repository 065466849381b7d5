"""Song annotations in DAS's CSV format (spec 1.2, 1.3, 9.1, 9.2).

An :class:`Annotations` object holds a table of real annotations (``name``, ``start_seconds``,
``stop_seconds``, sorted by start) and the category of every song type (``"event"``: a point in
time, ``start == stop``; ``"segment"``: an interval).  Song types without any annotation are kept
in :attr:`Annotations.categories` and written as DAS's NaN placeholder rows (event: ``NaN,NaN``;
segment: ``NaN,0``) so that a file round trip never loses a type.

>>> ann = Annotations.from_events_segments({"pulse": [0.5, 0.25]}, {"sine": ([1.0], [1.5])})
>>> ann.events("pulse")
array([0.25, 0.5 ])
>>> ann.categories
{'pulse': 'event', 'sine': 'segment'}
>>> ann.cropped(0.3, 2.0).df.values.tolist()
[['pulse', 0.2, 0.2], ['sine', 0.7, 1.2]]
"""

from __future__ import annotations

import csv
import io
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .. import timebase
from ..errors import DasError
from .categories import infer_categories, parse_channels
from .files import atomic_write_text

log = logging.getLogger(__name__)

COLUMNS = ("name", "start_seconds", "stop_seconds")
CHANNEL = "channel"
CATEGORIES = ("event", "segment")
ANNOTATIONS_SUFFIX = "_annotations.csv"
DEFINITIONS_SUFFIX = "_definitions.csv"


def _times(column) -> np.ndarray:
    return timebase.round_seconds(pd.to_numeric(column).to_numpy(np.float64))


class Annotations:
    """A table of annotations plus the category of every song type.

    Parameters
    ----------
    df : pandas.DataFrame, optional
        Columns ``name``, ``start_seconds``, ``stop_seconds`` (others are ignored); real rows
        only (finite times, ``stop >= start``, non-empty names).  Times are kept rounded to 1 ns
        (:func:`napari_das.core.timebase.round_seconds`): what is written is what is held, and
        every time of a sample (``n / fs``) still reads back to that sample.
    categories : mapping of str to str, optional
        ``"event"`` or ``"segment"`` per name, including names without rows.  Names in ``df``
        missing here are segments if any of their rows has ``stop > start``, else events.
    evidence : mapping of str to str, optional
        How each category was decided (``"definitions"``, ``"rows"``, ``"placeholder"``); used
        to decide a type across files (a placeholder row never outweighs real rows).

    Attributes
    ----------
    df : pandas.DataFrame
        The annotations sorted by start (then stop, then name), index 0..n-1; with an integer
        ``channel`` column (-1: unassigned) when the source had one (DAS's GUI writes it).
    categories : dict[str, str]
        Insertion-ordered category per song type.
    """

    def __init__(self, df: pd.DataFrame | None = None, categories: Mapping[str, str] | None = None,
                 evidence: Mapping[str, str] | None = None):
        if df is None:
            df = pd.DataFrame({c: [] for c in COLUMNS})
        missing = [c for c in COLUMNS if c not in df.columns]
        if missing:
            raise DasError(f"annotation table lacks column(s) {', '.join(missing)}")
        try:
            table = pd.DataFrame(
                {
                    "name": [str(n) for n in df["name"]],
                    "start_seconds": _times(df["start_seconds"]),
                    "stop_seconds": _times(df["stop_seconds"]),
                }
            )
        except (ValueError, TypeError) as exc:
            raise DasError(f"annotation times must be numbers of seconds ({exc})") from exc
        if CHANNEL in df.columns:
            table[CHANNEL] = parse_channels(df[CHANNEL])
        _check_rows(table, where=None)
        self.categories: dict[str, str] = {}
        #: why each category was chosen: "definitions", "rows" or "placeholder"
        self.evidence: dict[str, str] = dict(evidence or {})
        for name, category in (categories or {}).items():
            if category not in CATEGORIES:
                raise DasError(
                    f"category of {name!r} must be 'event' or 'segment', got {category!r}"
                )
            self.categories[str(name)] = category
        has_duration = set(table.loc[table["stop_seconds"] > table["start_seconds"], "name"])
        for name in table["name"]:
            if name not in self.categories:
                self.categories[name] = "segment" if name in has_duration else "event"
                self.evidence.setdefault(name, "rows")
        self.df = table.sort_values(
            ["start_seconds", "stop_seconds", "name"], kind="mergesort", ignore_index=True
        )

    # ---------------------------------------------------------------------------------------
    # construction

    @classmethod
    def from_events_segments(
        cls,
        events: Mapping[str, Iterable[float]] | None = None,
        segments: Mapping[str, tuple[Iterable[float], Iterable[float]]] | None = None,
    ) -> Annotations:
        """Build annotations from event times and segment on/offsets (seconds).

        Parameters
        ----------
        events : dict
            ``{name: times}``; an empty list keeps the type (placeholder row when written).
        segments : dict
            ``{name: (onsets, offsets)}`` with matching lengths.
        """
        events, segments = dict(events or {}), dict(segments or {})
        both = sorted(set(events) & set(segments))
        if both:
            raise DasError(f"song type(s) {', '.join(both)} given as both events and segments")
        names, starts, stops, categories = [], [], [], {}
        for name, times in events.items():
            times = np.asarray(
                list(times) if not isinstance(times, np.ndarray) else times, dtype=np.float64
            ).ravel()
            categories[str(name)] = "event"
            names += [str(name)] * len(times)
            starts.append(times)
            stops.append(times)
        for name, (onsets, offsets) in segments.items():
            onsets = np.asarray(onsets, dtype=np.float64).ravel()
            offsets = np.asarray(offsets, dtype=np.float64).ravel()
            if onsets.shape != offsets.shape:
                raise DasError(
                    f"segment type {name!r}: {len(onsets)} onsets but {len(offsets)} offsets"
                )
            categories[str(name)] = "segment"
            names += [str(name)] * len(onsets)
            starts.append(onsets)
            stops.append(offsets)
        df = pd.DataFrame(
            {
                "name": names,
                "start_seconds": np.concatenate(starts) if starts else np.zeros(0),
                "stop_seconds": np.concatenate(stops) if stops else np.zeros(0),
            }
        )
        return cls(df, categories)

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> Annotations:
        """Read a DAS ``*_annotations.csv`` (and its ``*_definitions.csv`` if present).

        Tolerates a leading unnamed index column; keeps a ``channel`` column.  A type is a
        segment when any of its rows has ``stop > start`` or its definitions say so; NaN
        placeholder rows decide only types without real rows (see :func:`infer_categories`).
        Rows with ``stop < start`` are skipped (DAS skips them) with one warning per file.

        Raises
        ------
        DasError
            Missing/unreadable file, missing columns, non-numeric or infinite times, empty
            names (the message names the file and the line).
        """
        path = Path(path)
        if not path.is_file():
            raise DasError("annotation file not found; check the path", path)
        try:
            raw = pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                encoding="utf-8-sig",
                skipinitialspace=False,
            )
        except pd.errors.EmptyDataError as exc:
            raise DasError(
                "the annotation file is empty; it needs the header line "
                "name,start_seconds,stop_seconds",
                path,
            ) from exc
        except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
            raise DasError(
                f"not a readable CSV file ({' '.join(str(exc).split())[:150]}); "
                "save it as UTF-8 CSV with columns name,start_seconds,stop_seconds",
                path,
            ) from exc
        raw.columns = [str(c).strip() for c in raw.columns]
        missing = [c for c in COLUMNS if c not in raw.columns]
        if missing:
            found = ", ".join(c for c in raw.columns if not c.startswith("Unnamed:")) or "none"
            raise DasError(
                f"missing column(s) {', '.join(missing)} (found: {found}); the header "
                "must be name,start_seconds,stop_seconds",
                path,
            )
        names = raw["name"].tolist()
        starts = _parse_times(raw["start_seconds"], "start_seconds", path)
        stops = _parse_times(raw["stop_seconds"], "stop_seconds", path)
        for row, name in enumerate(names):
            if not name.strip():
                raise DasError(f"line {row + 2}: empty name; give every annotation a name", path)
        table = pd.DataFrame({"name": names, "start_seconds": starts, "stop_seconds": stops})
        if CHANNEL in raw.columns:
            table[CHANNEL] = parse_channels(raw[CHANNEL])
        placeholder = np.isnan(starts) | np.isnan(stops)
        backwards = ~placeholder & (stops < starts)
        if backwards.any():  # DAS skips them too (spec 2.2)
            lines = ", ".join(str(int(i) + 2) for i in np.flatnonzero(backwards)[:5])
            more = " ..." if backwards.sum() > 5 else ""
            log.warning("%s: skipped %d row(s) with stop_seconds < start_seconds (line %s%s)",
                        path, int(backwards.sum()), lines, more)
        categories, evidence = infer_categories(names, starts, stops)
        table = table[~placeholder & ~backwards]
        _check_rows(table, where=path)

        definitions_path = definitions_path_for(path)
        if definitions_path.is_file():
            definitions = read_definitions(definitions_path)
            categories = _merge_definitions(categories, definitions, definitions_path)
            evidence |= {name: "definitions" for name in definitions}
        return cls(table, categories, evidence)

    # ---------------------------------------------------------------------------------------
    # writing

    def to_file(
        self, path: str | os.PathLike, overwrite: bool = True, definitions: bool = False
    ) -> Path:
        """Write DAS's CSV format atomically.

        Real rows sorted by start, then one NaN placeholder row per type without rows
        (event: ``NaN,NaN``; segment: ``NaN,0``).  Reading the file back gives the same table
        and categories.

        Parameters
        ----------
        path : str or os.PathLike
            Usually ``<stem>_annotations.csv``.
        overwrite : bool
            Replace an existing file (the definitions file follows the same rule).
        definitions : bool
            Also write ``<stem>_definitions.csv`` (``name,category`` lines, no header).
        """
        path = Path(path)
        targets = [path] + ([definitions_path_for(path)] if definitions else [])
        for target in targets:
            if target.exists() and not overwrite:
                raise DasError("file exists; choose another name or allow overwriting", target)
        present = set(self.df["name"])
        columns = list(COLUMNS) + ([CHANNEL] if CHANNEL in self.df.columns else [])
        placeholders = [
            (name, np.nan, np.nan if category == "event" else 0.0, -1)[: len(columns)]
            for name, category in self.categories.items()
            if name not in present
        ]
        table = (
            pd.concat(
                [self.df, pd.DataFrame(placeholders, columns=columns)], ignore_index=True
            )
            if placeholders
            else self.df
        )
        buffer = io.StringIO()
        table.to_csv(buffer, index=False, columns=columns, lineterminator="\n")
        atomic_write_text(path, buffer.getvalue())
        if definitions:
            write_definitions(targets[1], self.categories)
        log.debug("wrote %d annotations to %s", len(self.df), path)
        return path

    # ---------------------------------------------------------------------------------------
    # queries and transforms

    def events(self, name: str) -> np.ndarray:
        """Sorted times (seconds) of the annotations called ``name`` (empty if none)."""
        return self.df.loc[self.df["name"] == name, "start_seconds"].to_numpy(np.float64)

    def segments(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Onsets and offsets (seconds) of the annotations called ``name``, sorted by onset."""
        rows = self.df[self.df["name"] == name]
        return (
            rows["start_seconds"].to_numpy(np.float64),
            rows["stop_seconds"].to_numpy(np.float64),
        )

    def names_of(self, category: str) -> list[str]:
        """Names of the song types of ``category`` (``"event"`` or ``"segment"``), in order."""
        if category not in CATEGORIES:
            raise ValueError(f"category must be 'event' or 'segment', got {category!r}")
        return [name for name, cat in self.categories.items() if cat == category]

    def shifted(self, offset_seconds: float) -> Annotations:
        """A copy with every time moved by ``offset_seconds``."""
        df = self.df.copy()
        df[["start_seconds", "stop_seconds"]] += float(offset_seconds)
        return Annotations(df, self.categories, self.evidence)

    def cropped(self, t0: float, t1: float) -> Annotations:
        """Annotations lying entirely inside ``[t0, t1]``, shifted so that ``t0`` becomes 0.

        Unlike DAS's export (spec 9.2 [QUIRK]), segments that only partly overlap the range are
        left out, so no time is negative or beyond ``t1 - t0``.  All categories are kept.
        """
        if t1 < t0:
            raise ValueError(f"need t0 <= t1, got {t0}, {t1}")
        inside = (self.df["start_seconds"] >= t0) & (self.df["stop_seconds"] <= t1)
        return Annotations(self.df[inside], self.categories, self.evidence).shifted(-t0)

    def clipped(self, duration: float) -> tuple[Annotations, int, int]:
        """Rows clipped to ``[0, duration]`` seconds: ``(annotations, nb_clipped, nb_dropped)``.

        DAS's export writes segments that only partly overlap the exported range (spec 9.2);
        their times are clipped.  Rows entirely outside (and events outside) are dropped.
        """
        df = self.df
        start, stop = df["start_seconds"], df["stop_seconds"]
        outside = (stop < 0) | (start > duration)
        partly = ~outside & ((start < 0) | (stop > duration))
        kept = df[~outside].copy()
        kept["start_seconds"] = kept["start_seconds"].clip(0.0, duration)
        kept["stop_seconds"] = kept["stop_seconds"].clip(0.0, duration)
        return (Annotations(kept, self.categories, self.evidence), int(partly.sum()),
                int(outside.sum()))

    def __len__(self) -> int:
        return len(self.df)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Annotations):
            return NotImplemented
        return self.categories == other.categories and self.df.equals(other.df)

    @property
    def channels(self) -> np.ndarray | None:
        """Channel of every row (-1: unassigned), None when the source had no channel column."""
        return self.df[CHANNEL].to_numpy(np.int64) if CHANNEL in self.df.columns else None

    def __repr__(self) -> str:
        counts = self.df["name"].value_counts()
        parts = [
            f"{name} ({cat}): {int(counts.get(name, 0))}" for name, cat in self.categories.items()
        ]
        return f"Annotations({'; '.join(parts) or 'empty'})"


# -------------------------------------------------------------------------------------------
# definitions files


def definitions_path_for(annotations_path: str | os.PathLike) -> Path:
    """``<stem>_definitions.csv`` next to ``<stem>_annotations.csv`` (or ``<stem>.csv``)."""
    path = Path(annotations_path)
    name = path.name
    if name.endswith(ANNOTATIONS_SUFFIX):
        stem = name[: -len(ANNOTATIONS_SUFFIX)]
    else:
        stem = path.stem
    return path.with_name(stem + DEFINITIONS_SUFFIX)


def read_definitions(path: str | os.PathLike) -> dict[str, str]:
    """Read a ``*_definitions.csv``: no header, one ``name,category`` per line.

    Files with a single line work (DAS fails on them, spec 1.3 [BUG]); blank lines are skipped.
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            rows = list(csv.reader(file))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DasError(
            f"cannot read the definitions file ({exc}); save it as UTF-8 text with "
            "name,category lines",
            path,
        ) from exc
    categories: dict[str, str] = {}
    for line, row in enumerate(rows, start=1):
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) != 2 or row[1].strip() not in CATEGORIES or not row[0].strip():
            raise DasError(
                f"line {line}: expected 'name,event' or 'name,segment', got {','.join(row)!r}", path
            )
        categories[row[0]] = row[1].strip()
    return categories


def write_definitions(path: str | os.PathLike, categories: Mapping[str, str]) -> Path:
    """Write ``name,category`` lines (no header) atomically."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for name, category in categories.items():
        if category not in CATEGORIES:
            raise DasError(f"category of {name!r} must be 'event' or 'segment', got {category!r}")
        writer.writerow([name, category])
    return atomic_write_text(path, buffer.getvalue())


# -------------------------------------------------------------------------------------------
# helpers


def _parse_times(column: pd.Series, label: str, path: Path) -> np.ndarray:
    text = column.str.strip()
    nan_like = text.str.lower().isin(["", "nan"])
    values = pd.to_numeric(text.where(~nan_like, "nan"), errors="coerce").to_numpy(np.float64)
    bad = np.flatnonzero(np.isnan(values) & ~nan_like.to_numpy())
    if len(bad):
        row = int(bad[0])
        raise DasError(
            f"line {row + 2}: {label} {column.iloc[row]!r} is not a number of "
            "seconds; fix or delete that row",
            path,
        )
    return values


def _check_rows(table: pd.DataFrame, where: Path | None) -> None:
    """Real rows: non-empty names, finite times, stop >= start (row numbers as CSV lines)."""
    starts = table["start_seconds"].to_numpy(np.float64)
    stops = table["stop_seconds"].to_numpy(np.float64)
    lines = (np.asarray(table.index) + 2) if where is not None else np.arange(len(table)) + 1
    label = "line" if where is not None else "row"
    empty = np.flatnonzero([not str(n).strip() for n in table["name"]])
    if len(empty):
        raise DasError(
            f"{label} {lines[empty[0]]}: empty name; give every annotation a name", where
        )
    infinite = np.flatnonzero(~np.isfinite(starts) | ~np.isfinite(stops))
    if len(infinite):
        i = infinite[0]
        raise DasError(
            f"{label} {lines[i]}: times must be finite, got {starts[i]}, {stops[i]}", where
        )
    backwards = np.flatnonzero(stops < starts)
    if len(backwards):
        i = backwards[0]
        raise DasError(
            f"{label} {lines[i]}: stop_seconds {stops[i]} is before start_seconds "
            f"{starts[i]}; swap or fix them",
            where,
        )


def _merge_definitions(
    categories: dict[str, str], definitions: dict[str, str], where: Path
) -> dict[str, str]:
    """Order by the definitions file, then types only in the CSV.

    A type declared ``segment`` stays a segment even if its first row has start == stop (a
    one-sample segment, as prediction can produce).  A type declared ``event`` whose rows have
    durations is a conflict: the CSV wins, with a warning.
    """
    merged: dict[str, str] = {}
    for name, category in definitions.items():
        inferred = categories.get(name, category)
        if inferred != category and category == "event":
            log.warning(
                "%s: %r is an event in the definitions but its annotations have durations; "
                "using segment",
                where,
                name,
            )
            category = inferred
        merged[name] = category
    for name, category in categories.items():
        merged.setdefault(name, category)
    return merged
