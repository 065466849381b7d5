"""From per-sample class probabilities to segments, and tuning the post-processing (spec 6.3).

:func:`label_segments` marks song where the segment classes' summed probability is above the
threshold and labels it with the most probable segment class (:class:`SongLabeller` and
:func:`label_trace` add a lower threshold for a syllable's soft start and end),
:func:`segments_from_labels` fills short gaps, removes short segments, cuts runs and labels each
run by majority vote (noise excluded), :func:`detect_segments` does both.  The search of fill
gap / minimum length is :func:`napari_das.core.evaluation.tune.post_opt`.  Events are in
:mod:`napari_das.core.post.events`.

Conventions (fixes of spec section 10, items 10, 11, 29):

- label traces hold **class indices** (0 = noise), not positions within the segment classes;
- a segment's onset is its first sample and its offset its last sample (the metrics use the same);
- gap filling and length filtering also apply to segments touching the first or last sample;
- a segment is never labelled noise; names are always strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from .. import timebase
from .events import seconds_to_samples


# ------------------------------------------------------------------------------------- segments
class Segment(NamedTuple):
    """One detected segment; times in seconds, offset = time of the last sample of the run."""

    onset_seconds: float
    offset_seconds: float
    name: str
    confidence: float | None


#: Up to this many segment classes :func:`label_segments` walks the columns one by one (numpy's
#: row-wise argmax over a few columns costs several times more); above, it uses argmax.
_FEW_COLUMNS = 8


def label_segments(p: Any, segment_class_indices: Sequence[int], thres: float = 0.5) -> np.ndarray:
    """Per-sample label: the most probable segment class where segment classes together are
    more probable than ``thres``.

    A sample is song when the probabilities of all segment classes add up to more than
    ``thres`` (with one segment class: when that class is above ``thres``, as in DAS); its label
    is then the most probable segment class.  With many song types (12 finch syllables) the
    network often spreads a syllable's probability over two or three similar types, none of
    them above 0.5, and a threshold on the winning class alone cut syllables into pieces and
    moved their boundaries (choosing set: onset/offset F1 0.940-0.977 / 0.924-0.957 over three
    seeds, 0.990-0.994 / 0.985-0.990 with the sum; bench/BIRDS.md).

    Parameters
    ----------
    p : array [T, K]
        Class probabilities (or soft targets).
    segment_class_indices : sequence of int
        Columns of the segment classes (0, noise, is never one).
    thres : float
        The segment classes' summed probability must be strictly above this value, else the
        label is 0.

    Returns
    -------
    int array [T]
        Class indices (0 = noise).  Ties between classes go to the lower index; a NaN row is 0.
    """
    p = np.asarray(p)
    columns = sorted({int(c) for c in segment_class_indices} - {0})
    dtype = np.int16 if not columns or columns[-1] < 2**15 else np.int32
    if not columns:
        return np.zeros(len(p), dtype)
    contiguous = columns[-1] - columns[0] + 1 == len(columns)
    # a slice is a view: with every class a segment (birds) no [T, K] copy is made
    sub = p[:, columns[0]: columns[-1] + 1] if contiguous else p[:, columns]
    if sub.shape[1] <= _FEW_COLUMNS:
        value = np.array(sub[:, 0], dtype=np.result_type(sub.dtype, np.float32))
        total = value.copy()
        best = np.zeros(len(sub), dtype)
        for j in range(1, sub.shape[1]):
            column = sub[:, j]
            best[column > value] = j  # strictly greater: ties keep the lower index
            np.maximum(value, column, out=value)
            total += column
    else:
        best = np.argmax(sub, axis=1).astype(dtype)
        total = sub.sum(axis=1)
    labels = best + dtype(columns[0]) if contiguous else np.asarray(columns, dtype)[best]
    labels[~(total > thres)] = 0  # NaN anywhere in the row: not song
    return labels


#: How far (s) the low threshold of :class:`SongLabeller` may move an onset back: it bounds the
#: samples a stream holds back (a soft start is tens of milliseconds long).
MAX_ONSET_EXTENSION_SECONDS = 0.5


def resolve_thres_low(thres_low: float | None, thres: float, nb_segment_classes: int) -> float | None:
    """The low (hysteresis) threshold to use, None for none.

    ``thres_low`` None means automatic: half of ``thres`` when the model has two or more segment
    classes (their summed probability is soft at syllable edges; bird choosing sets, bench/BIRDS.md),
    none with one segment class (DAS's single threshold, e.g. fly sine).  A value at or above
    ``thres`` switches it off.
    """
    if thres_low is None:
        return 0.5 * float(thres) if nb_segment_classes >= 2 else None
    return float(thres_low) if float(thres_low) < float(thres) else None


def config_thres_low(config: Any, class_types: Sequence[str]) -> float | None:
    """The low threshold a prediction config (``segment_thres``, ``segment_thres_low``) gives a
    model of ``class_types`` (``noise`` first): one rule for ``das predict`` and the viewer."""
    nb_segment_classes = sum(t == "segment" for t in list(class_types)[1:])
    return resolve_thres_low(getattr(config, "segment_thres_low", None), config.segment_thres,
                             nb_segment_classes)


class SongLabeller:
    """:func:`label_segments` with hysteresis, over probability blocks fed in order.

    A sample is song when the segment classes' summed probability is above ``thres``, or above
    ``thres_low`` in a stretch of such samples (sum above ``thres_low`` throughout) that holds a
    sample above ``thres``: a syllable found at ``thres`` keeps its soft start and end down to
    ``thres_low``.  The start is moved back by at most ``max_back`` samples (the end is not
    bounded), so a stream holds back at most ``max_back`` samples.  Song samples are labelled
    with the most probable segment class.  Without ``thres_low`` it is :func:`label_segments`.

    :meth:`push` returns the labels and probabilities of the samples decided so far (a prefix of
    what was fed, in order); :meth:`finish` returns the rest.  The concatenated labels do not
    depend on how the trace was cut into blocks.
    """

    def __init__(self, segment_class_indices: Sequence[int], thres: float = 0.5,
                 thres_low: float | None = None, max_back: int = 0):
        self.columns = sorted({int(c) for c in segment_class_indices} - {0})
        self.thres = float(thres)
        self.thres_low = None if thres_low is None or thres_low >= thres else float(thres_low)
        self.max_back = max(int(max_back), 0)
        self._held: np.ndarray | None = None  # probabilities held back
        self._in_song = False  # the last decided sample is song and above thres_low

    def _labels(self, p: np.ndarray, song: np.ndarray) -> np.ndarray:
        labels = label_segments(p, self.columns, -np.inf)
        labels[~song] = 0
        return labels

    def push(self, block: Any) -> tuple[np.ndarray, np.ndarray]:
        p = np.asarray(block)
        if self.thres_low is None or not self.columns:
            return label_segments(p, self.columns, self.thres), p
        if self._held is not None and len(self._held):
            p = np.concatenate([self._held, p])
        n = len(p)
        total = p[:, self.columns].sum(axis=1)
        high, low = total > self.thres, total > self.thres_low
        song = np.zeros(n, bool)
        starts, stops = runs(low)
        # prefix count of high samples: the first high sample of every low stretch
        hi_cum = np.r_[0, np.cumsum(high)]
        decided = n
        for a, b in zip(starts, stops):
            if a == 0 and self._in_song:  # goes on from a song stretch of the last block
                song[: b + 1] = True
                continue
            if hi_cum[b + 1] > hi_cum[a]:
                first_high = a + int(np.argmax(high[a: b + 1]))
                song[max(a, first_high - self.max_back): b + 1] = True
            elif b == n - 1:  # open, no song yet: hold back what a later start could reach
                decided = max(a, n - self.max_back)
        self._in_song = bool(n and low[-1] and song[-1])
        self._held = p[decided:] if decided < n else None
        out = p[:decided]
        return self._labels(out, song[:decided]), out

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """The held-back samples (not song: no sample above ``thres`` followed)."""
        held = self._held if self._held is not None else np.zeros((0, 0), np.float32)
        self._held, self._in_song = None, False
        return np.zeros(len(held), np.int16), held


def label_trace(p: Any, segment_class_indices: Sequence[int], thres: float = 0.5,
                thres_low: float | None = None, max_back: int = 0) -> np.ndarray:
    """Per-sample labels of a whole trace, with the hysteresis of :class:`SongLabeller`."""
    if thres_low is None or thres_low >= thres:
        return label_segments(p, segment_class_indices, thres)
    labeller = SongLabeller(segment_class_indices, thres, thres_low, max_back)
    labels, _ = labeller.push(p)
    rest, _ = labeller.finish()
    return np.concatenate([labels, rest.astype(labels.dtype)])


def runs(binary: Any) -> tuple[np.ndarray, np.ndarray]:
    """First and last (inclusive) sample index of every run of True.

    >>> runs([1, 1, 0, 0, 1, 0, 1])
    (array([0, 4, 6]), array([1, 4, 6]))
    """
    padded = np.r_[False, np.asarray(binary, dtype=bool), False]
    steps = np.flatnonzero(padded[1:] != padded[:-1])
    return steps[0::2], steps[1::2] - 1


def fill_gaps(binary: Any, gap_samples: int) -> np.ndarray:
    """Set to True every run of False *between* two True runs that is shorter than ``gap_samples``.

    Leading and trailing False runs are not gaps.  Returns a new boolean array.
    """
    out = np.array(binary, dtype=bool)
    starts, stops = runs(out)
    gaps = starts[1:] - stops[:-1] - 1
    for i in np.flatnonzero(gaps < gap_samples):
        out[stops[i] + 1 : starts[i + 1]] = True
    return out


def remove_short(binary: Any, min_samples: int) -> np.ndarray:
    """Set to False every True run shorter than ``min_samples`` (edge runs included)."""
    out = np.array(binary, dtype=bool)
    starts, stops = runs(out)
    for i in np.flatnonzero(stops - starts + 1 < min_samples):
        out[starts[i] : stops[i] + 1] = False
    return out


class RunTable:
    """Raw song runs of a label trace and per-run/per-gap sums, for fast fill/min-length/vote.

    Elements alternate run 0, gap 0, run 1, ..., run n-1; ``*_cum`` are prefix sums over elements
    (leading zero row) so any merged run (runs s..e) sums as ``cum[2e + 1] - cum[2s]``.
    """

    def __init__(
        self,
        labels: np.ndarray,
        nb_classes: int,
        probabilities: np.ndarray | None,
        labels_true: np.ndarray | None = None,
    ):
        self.nb_classes = nb_classes
        self.starts, self.stops = runs(labels > 0)
        n = self.starts.size
        self.gaps = self.starts[1:] - self.stops[:-1] - 1
        self.counts_cum = self.prob_cum = self.true_cum = None
        if n == 0:
            return
        lo, hi = int(self.starts[0]), int(self.stops[-1]) + 1
        bounds = np.empty(2 * n - 1, dtype=np.int64)
        bounds[0::2] = self.starts
        bounds[1::2] = self.stops[:-1] + 1
        marker = np.zeros(hi - lo, dtype=np.int64)
        marker[bounds[1:] - lo] = 1
        element = np.cumsum(marker)

        def element_counts(values: np.ndarray) -> np.ndarray:
            flat = np.bincount(
                element * nb_classes + values[lo:hi], minlength=(2 * n - 1) * nb_classes
            )
            return _prefix(flat.reshape(2 * n - 1, nb_classes))

        self.counts_cum = element_counts(labels)
        if labels_true is not None:
            self.true_cum = element_counts(labels_true)
        if probabilities is not None:
            sums = np.add.reduceat(probabilities[lo:hi], bounds - lo, axis=0, dtype=np.float64)
            self.prob_cum = _prefix(sums)

    def merged(self, gap_samples: int, min_samples: int) -> dict[str, np.ndarray]:
        """Runs after gap filling and length filtering, with their vote and sums."""
        if self.starts.size == 0:
            empty = np.zeros(0, dtype=np.int64)
            return {
                "first": empty,
                "last": empty,
                "start": empty,
                "stop": empty,
                "label": empty,
                "confidence": np.zeros(0),
                "length": empty,
            }
        breaks = np.flatnonzero(self.gaps >= gap_samples)
        first = np.r_[0, breaks + 1]
        last = np.r_[breaks, self.starts.size - 1]
        length = self.stops[last] - self.starts[first] + 1
        ok = length >= min_samples
        first, last, length = first[ok], last[ok], length[ok]
        counts = self.counts_cum[2 * last + 1] - self.counts_cum[2 * first]
        counts[:, 0] = 0  # never vote for noise
        tied = counts == counts.max(axis=1, keepdims=True)
        rows = np.arange(first.size)
        if self.prob_cum is not None:
            sums = self.prob_cum[2 * last + 1] - self.prob_cum[2 * first]
            label = np.argmax(np.where(tied, sums, -np.inf), axis=1)
            confidence = sums[rows, label] / length
        else:
            label = np.argmax(tied, axis=1)
            confidence = np.full(first.size, np.nan)
        return {
            "first": first,
            "last": last,
            "start": self.starts[first],
            "stop": self.stops[last],
            "label": label,
            "confidence": confidence,
            "length": length,
        }


def _prefix(values: np.ndarray) -> np.ndarray:
    out = np.zeros((values.shape[0] + 1,) + values.shape[1:], dtype=values.dtype)
    np.cumsum(values, axis=0, out=out[1:])
    return out


def _check_labels(labels: Any, nb_classes: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"expected a 1-D label trace, got shape {labels.shape}")
    labels = labels.astype(np.int64, copy=False)
    if labels.size and (labels.min() < 0 or labels.max() >= nb_classes):
        raise ValueError(f"labels must lie in 0..{nb_classes - 1} (one name per class index)")
    return labels


def segments_from_labels(
    labels: Any,
    samplerate: float,
    names: Sequence[str],
    fillgap_seconds: float | None = None,
    minlen_seconds: float | None = None,
    probabilities: Any = None,
) -> list[Segment]:
    """Segments from a per-sample label trace (spec 6.3 steps 2-6, fixed).

    Parameters
    ----------
    labels : int array [T]
        Class indices, 0 = noise (e.g. from :func:`label_segments`).
    samplerate : float
        Hz.
    names : sequence of str
        Name of every class index (``names[0]`` is noise).
    fillgap_seconds, minlen_seconds : float, optional
        Fill gaps shorter than this, then remove segments shorter than this.
    probabilities : array [T, len(names)], optional
        Breaks vote ties (highest mean probability) and gives each segment a confidence (mean
        probability of its class over the run); without it ties go to the lower class index and
        confidences are None.

    Returns
    -------
    list of Segment
        Sorted by onset; onset/offset = first/last sample of the run in seconds.
    """
    labels = _check_labels(labels, len(names))
    probs = None if probabilities is None else np.asarray(probabilities)
    runs = RunTable(labels, len(names), probs).merged(
        seconds_to_samples(fillgap_seconds, samplerate),
        seconds_to_samples(minlen_seconds, samplerate),
    )
    fs = float(samplerate)
    return [
        Segment(
            timebase.to_seconds(int(a), fs), timebase.to_seconds(int(b), fs), str(names[int(c)]),
            None if probs is None else float(conf)
        )
        for a, b, c, conf in zip(runs["start"], runs["stop"], runs["label"], runs["confidence"])
    ]


def clean_labels(
    labels: Any,
    samplerate: float,
    nb_classes: int,
    fillgap_seconds: float | None = None,
    minlen_seconds: float | None = None,
    probabilities: Any = None,
) -> np.ndarray:
    """The label trace after post-processing: every run carries its voted class, 0 elsewhere."""
    labels = _check_labels(labels, nb_classes)
    probs = None if probabilities is None else np.asarray(probabilities)
    runs = RunTable(labels, nb_classes, probs).merged(
        seconds_to_samples(fillgap_seconds, samplerate),
        seconds_to_samples(minlen_seconds, samplerate),
    )
    return _paint(labels.size, runs["start"], runs["stop"], runs["label"], labels.dtype)


def _paint(
    size: int, starts: np.ndarray, stops: np.ndarray, values: np.ndarray, dtype: Any
) -> np.ndarray:
    marker = np.zeros(size + 1, dtype=np.int64)
    np.add.at(marker, starts, values)
    np.add.at(marker, stops + 1, -values)
    return np.cumsum(marker[:-1]).astype(dtype)


def detect_segments(
    p: Any,
    samplerate: float,
    segment_class_indices: Sequence[int],
    class_names: Sequence[str],
    thres: float = 0.5,
    fillgap_seconds: float | None = None,
    minlen_seconds: float | None = None,
    thres_low: float | None = None,
) -> list[Segment]:
    """:func:`label_trace` then :func:`segments_from_labels` on ``[T, K]`` probabilities.

    ``thres_low``: hysteresis as in :class:`SongLabeller` (onsets moved back by at most
    :data:`MAX_ONSET_EXTENSION_SECONDS`); None: none (resolve the automatic default with
    :func:`resolve_thres_low`).
    """
    p = np.asarray(p)
    labels = label_trace(p, segment_class_indices, thres, thres_low,
                         seconds_to_samples(MAX_ONSET_EXTENSION_SECONDS, samplerate))
    return segments_from_labels(
        labels, samplerate, class_names, fillgap_seconds, minlen_seconds, probabilities=p
    )
