"""Segments of a label trace fed block by block, for several fill gaps at once.

:class:`MergedRuns` gives, for every fill gap, the runs that
``RunTable(labels, nb_classes, probabilities).merged(gap, 0)`` gives on the whole trace (same
starts, stops and voted labels, the same float64 sums for the vote's tie-break and the
confidence), while holding only the current block, one open run per fill gap and the merged runs
not taken yet (:meth:`MergedRuns.take`).  A minimum length is a filter on those runs
(``stop - start + 1 >= min_len``): the vote of a run does not depend on it.  This is what lets
the post-processing search (:mod:`napari_das.core.evaluation.post_choice`) read a split once, in
blocks, instead of building a run table of the whole split for every candidate, and the
streaming post-processor (:class:`napari_das.core.post.stream.PostProcessor`) hold a number of
runs instead of the samples of a song bout.

How the sums compare: ``RunTable`` sums the probabilities of every element (a run of song or
the gap after it) in float64 with ``np.add.reduceat`` and takes prefix sums over elements; a
merged run's sums are a difference of two prefix rows.  Here an element cut by block edges is
the carried sum of its earlier parts plus ``reduceat`` of its part in the block, and the prefix
goes on from the carried prefix row by row, as a cumulative sum does.  The result is identical
whenever an element's float64 sum is exact, which it is for float32 probabilities unless the
element is long for its smallest values (values of at least 2**-k sum exactly over up to about
2**(30 - k) samples: 5e8 above 1/2, 1e6 above 1e-3); otherwise, since ``reduceat`` sums pairwise,
the sums may differ in the last bits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def vote(counts: np.ndarray, sums: np.ndarray | None) -> np.ndarray:
    """Label of merged runs from their label counts ``[n, K]`` (and probability sums ``[n, K]``).

    The most frequent non-noise label; ties go to the highest probability sum, or without sums
    to the lower class index (as ``RunTable.merged``).
    """
    counts = np.array(counts, copy=True)
    if counts.shape[0] == 0:
        return np.zeros(0, np.int64)
    counts[:, 0] = 0  # never vote for noise
    tied = counts == counts.max(axis=1, keepdims=True)
    if sums is not None:
        return np.argmax(np.where(tied, sums, -np.inf), axis=1).astype(np.int64)
    return np.argmax(tied, axis=1).astype(np.int64)


class _Open:
    """A merged run that may still grow: samples ``start..stop`` (inclusive)."""

    __slots__ = ("start", "stop", "counts", "p_start", "p_end")

    def __init__(self, start: int, stop: int, counts: np.ndarray, p_start: Any, p_end: Any):
        self.start, self.stop, self.counts = start, stop, counts
        self.p_start, self.p_end = p_start, p_end


class MergedRuns:
    """Runs of song (labels > 0) of one trace, merged across gaps shorter than each fill gap.

    Parameters
    ----------
    nb_classes : int
        Number of classes (label values ``0 .. nb_classes - 1``; 0 = noise).
    gaps : sequence of int
        Fill gaps in samples: gaps between runs *shorter* than a fill gap are filled.
    probabilities : bool
        Whether :meth:`push` gets probabilities ``[n, nb_classes]`` (vote ties then go to the
        highest sum, else to the lower class index).

    Feed the trace with :meth:`push` in order, then call :meth:`finish`; or :meth:`take` the
    runs as they complete and :meth:`close` at the end (memory: the open runs only).

    >>> runs = MergedRuns(3, [0, 2], probabilities=False)
    >>> runs.push([0, 1, 1, 0]); runs.push([2, 2, 0, 0, 0, 2])
    >>> {g: [a.tolist() for a in r] for g, r in runs.finish().items()}
    {0: [[1, 4, 9], [2, 5, 9], [1, 2, 2]], 2: [[1, 9], [5, 9], [1, 2]]}
    """

    def __init__(self, nb_classes: int, gaps: Sequence[int], probabilities: bool = True):
        self.nb = int(nb_classes)
        self.gaps = sorted({int(g) for g in gaps})
        self.with_probs = bool(probabilities)
        self._next = 0
        # the element (run or gap) that touches the end of the last block
        self._cur: dict[str, Any] | None = None
        self._prefix = np.zeros(self.nb) if self.with_probs else None
        self._open: dict[int, _Open | None] = {g: None for g in self.gaps}
        self._out: dict[int, list[tuple[np.ndarray, ...]]] = {g: [] for g in self.gaps}

    def push(self, labels: Any, probabilities: Any = None) -> None:
        """The next ``n`` labels (class indices) and, if enabled, their probabilities ``[n, K]``."""
        lab = np.asarray(labels).astype(np.int64, copy=False).ravel()
        n = lab.size
        if n == 0:
            return
        p = None
        if self.with_probs:
            if probabilities is None:
                raise ValueError("MergedRuns(probabilities=True) needs probabilities")
            p = np.asarray(probabilities)
            if p.shape != (n, self.nb):
                raise ValueError(f"probabilities of shape {p.shape} for {n} labels")
        first = self._next
        self._next += n
        song = lab > 0
        change = np.flatnonzero(song[1:] != song[:-1]) + 1
        starts, ends = np.r_[0, change], np.r_[change, n]
        is_run = song[starts]
        element = np.zeros(n, np.int64)
        element[change] = 1
        np.cumsum(element, out=element)
        m = starts.size
        counts = np.bincount(element[song] * self.nb + lab[song],
                             minlength=m * self.nb).reshape(m, self.nb)
        cur = self._cur
        goes_on = cur is not None and cur["run"] == bool(is_run[0])
        sums = np.add.reduceat(p, starts, axis=0, dtype=np.float64) if p is not None else None
        if goes_on and sums is not None:  # the carried part of the element, then this block's
            sums[0] = cur["sums"] + sums[0]
        starts, ends = starts + first, ends + first
        gap_before = np.inf
        if cur is not None:
            gap_before = cur["gap_before"]
            if goes_on:  # the element goes on in this block
                starts[0] = cur["start"]
                counts[0] += cur["counts"]
            else:  # it ended with the last block
                starts = np.r_[cur["start"], starts]
                ends = np.r_[first, ends]
                is_run = np.r_[cur["run"], is_run]
                counts = np.concatenate([cur["counts"][None], counts])
                if p is not None:
                    sums = np.concatenate([cur["sums"][None], sums])
        else:  # leading noise is no element (nothing to fill before the first run)
            keep = np.flatnonzero(is_run)
            if keep.size == 0:
                return
            k = int(keep[0])
            starts, ends, is_run, counts = starts[k:], ends[k:], is_run[k:], counts[k:]
            sums = sums[k:] if sums is not None else None
        self._elements(starts, ends, is_run, counts, sums, gap_before, final=False)

    def _elements(self, starts: np.ndarray, ends: np.ndarray, is_run: np.ndarray,
                  counts: np.ndarray, sums: np.ndarray | None, gap_before: float,
                  final: bool) -> None:
        """Elements in order; all but the last are complete (the last too when ``final``)."""
        size = starts.size
        lengths = ends - starts
        gaps = np.full(size, np.inf)
        gaps[0] = gap_before
        gaps[1:] = np.where(is_run[1:], lengths[:-1], np.inf)  # a run follows a gap
        done = size if final else size - 1
        if not final:
            self._cur = {"run": bool(is_run[-1]), "start": int(starts[-1]),
                         "counts": counts[-1].copy(), "gap_before": float(gaps[-1]),
                         "sums": None if sums is None else sums[-1].copy()}
        if done == 0:
            return
        prefix = None
        if sums is not None:
            prefix = np.cumsum(np.concatenate([self._prefix[None], sums[:done]]), axis=0)
            self._prefix = prefix[-1].copy()
        runs = np.flatnonzero(is_run[:done])
        if runs.size == 0:
            return
        p_before = prefix[runs] if prefix is not None else None
        p_after = prefix[runs + 1] if prefix is not None else None
        for g in self.gaps:
            self._merge(g, starts[runs], ends[runs] - 1, counts[runs], p_before, p_after,
                        gaps[runs])

    def _merge(self, g: int, start: np.ndarray, stop: np.ndarray, counts: np.ndarray,
               p_before: np.ndarray | None, p_after: np.ndarray | None,
               gap_before: np.ndarray) -> None:
        heads = np.flatnonzero(gap_before >= g)  # runs that start a merged run
        first_head = int(heads[0]) if heads.size else start.size
        open_run = self._open[g]
        if first_head > 0:  # these runs extend the open merged run
            assert open_run is not None, "a first run always starts a merged run"
            open_run.counts = open_run.counts + counts[:first_head].sum(axis=0)
            open_run.stop = int(stop[first_head - 1])
            if p_after is not None:
                open_run.p_end = p_after[first_head - 1]
        if heads.size == 0:
            return
        if open_run is not None:
            self._emit(g, np.array([open_run.start]), np.array([open_run.stop]),
                       open_run.counts[None],
                       None if p_after is None else (open_run.p_end - open_run.p_start)[None])
        if heads.size > 1:
            f, last = heads[:-1], heads[1:] - 1
            c = np.add.reduceat(counts[: heads[-1]], f, axis=0)
            s = None if p_after is None else p_after[last] - p_before[f]
            self._emit(g, start[f], stop[last], c, s)
        h = int(heads[-1])
        self._open[g] = _Open(int(start[h]), int(stop[-1]), counts[h:].sum(axis=0),
                              None if p_before is None else p_before[h],
                              None if p_after is None else p_after[-1])

    def _emit(self, g: int, start: np.ndarray, stop: np.ndarray, counts: np.ndarray,
              sums: np.ndarray | None) -> None:
        start, stop = np.asarray(start, np.int64), np.asarray(stop, np.int64)
        label = vote(counts, sums)
        if sums is None:
            confidence = np.full(start.size, np.nan)
        else:  # the mean probability of the voted class, computed as RunTable.merged does
            confidence = sums[np.arange(start.size), label] / (stop - start + 1)
        self._out[g].append((start, stop, label, confidence))

    def take(self, gap: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(start, stop, label, confidence)`` of the merged runs for fill gap ``gap`` that
        were completed since the last call (and are dropped here, so a caller that takes them
        as it goes holds only the open runs).

        A run is complete once a gap of at least ``gap`` samples follows it, or after
        :meth:`close`.  Confidence: the mean probability of the voted class over the run (NaN
        without probabilities).
        """
        parts, self._out[gap] = self._out[gap], []
        if not parts:
            empty = np.zeros(0, np.int64)
            return empty, empty.copy(), empty.copy(), np.zeros(0)
        if len(parts) == 1:
            return parts[0]
        return tuple(np.concatenate([x[i] for x in parts]) for i in range(4))  # type: ignore

    def close(self) -> None:
        """End of the trace: the run in progress and every open merged run are complete."""
        cur, self._cur = self._cur, None
        if cur is not None and cur["run"]:  # trailing noise is no element
            self._elements(np.array([cur["start"]]), np.array([self._next]), np.array([True]),
                           cur["counts"][None], None if cur["sums"] is None else
                           cur["sums"][None], cur["gap_before"], final=True)
        for g in self.gaps:
            o, self._open[g] = self._open[g], None
            if o is not None:
                self._emit(g, np.array([o.start]), np.array([o.stop]), o.counts[None],
                           None if o.p_end is None else (o.p_end - o.p_start)[None])

    def finish(self) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """``{fill gap: (start, stop, label)}`` of the merged runs (stop = last sample) not
        taken yet; ends the trace (:meth:`close`)."""
        self.close()
        return {g: self.take(g)[:3] for g in self.gaps}
