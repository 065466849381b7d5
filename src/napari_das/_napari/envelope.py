"""Waveform and envelope of a recording per pixel column, cheap at any zoom (no napari, no Qt).

A view of ``ncols`` pixel columns over ``[t0, t1)`` seconds needs, per column, the lowest and
highest sample value and the RMS.  Where a column holds fewer than :data:`BIN_SAMPLES` samples
the samples themselves are read (a screenful: at most ``ncols * BIN_SAMPLES`` of them), and
where it holds less than two the waveform is drawn through the samples (linear interpolation,
so a 20 ms view shows the wave itself).  Wider views reduce a table of per-bin minima, maxima and
sums of squares (one bin per :data:`BIN_SAMPLES` samples, 12 bytes per bin: 21 MB for an hour at
32 kHz), computed once per recording, block by block: in the caller's thread for short
recordings, in a background thread for long ones (:meth:`EnvelopeTable.start`), so opening an
hour-long file does not wait for it; columns not yet computed come back as NaN.  Coarser tables
of every :data:`COARSE_FACTOR`, ``COARSE_FACTOR**2``, ... bins (updated with each block, 1/7 more
memory) serve columns wider than ``COARSE_FACTOR`` of their bins: an hour across a screen
reduces a few thousand values instead of 1.8 million (120 ms -> 1 ms), with column edges
rounded to those bins (at most 1/16 of a column).

>>> import numpy as np
>>> fs = 1000.0
>>> x = np.sin(2 * np.pi * 5 * np.arange(4000) / fs).astype(np.float32)[:, None]
>>> table = EnvelopeTable(lambda a, b: x[a:b, 0], len(x), fs)
>>> env = table.columns(0.0, 4.0, 8)   # 500 samples per column: from the table
>>> np.round(env.low, 2).tolist()[:2], np.round(env.high, 2).tolist()[:2], env.mode
([-1.0, -1.0], [1.0, 1.0], 'envelope')
>>> round(float(env.rms[0]), 2)  # a sine: peak / sqrt(2)
0.7
>>> table.columns(0.0, 0.01, 20).mode   # 0.5 samples per column: the samples themselves
'samples'
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

#: Samples per bin of the envelope table.
BIN_SAMPLES = 64
#: Bins computed per block (the table fills block by block).
BLOCK_BINS = 16384
#: Recordings up to this many samples get their table in the caller's thread.
SYNCHRONOUS_FRAMES = 2**23
#: Bins per entry of each coarser table over the previous one.
COARSE_FACTOR = 8


@dataclass
class ColumnEnvelope:
    """Per pixel column: ``low``, ``high`` (sample values) and ``rms``; NaN where unknown.

    ``mode`` is ``"samples"`` (the wave through the samples), ``"raw"`` (min/max of the samples
    of each column) or ``"envelope"`` (from the table).
    """

    low: np.ndarray
    high: np.ndarray
    rms: np.ndarray
    mode: str


class EnvelopeTable:
    """Per-bin min, max and sum of squares of one channel, filled lazily.

    ``read(start, stop)`` returns the float samples ``[start, stop)`` of the channel.
    """

    def __init__(self, read: Callable[[int, int], np.ndarray], frames: int, samplerate: float):
        self.read, self.frames, self.samplerate = read, int(frames), float(samplerate)
        self.nbins = -(-self.frames // BIN_SAMPLES)
        self.nblocks = -(-self.nbins // BLOCK_BINS)
        self.low = np.full(self.nbins, np.nan, np.float32)
        self.high = np.full(self.nbins, np.nan, np.float32)
        self.sumsq = np.full(self.nbins, np.nan, np.float32)
        self._done = np.zeros(self.nblocks, bool)
        #: (bins per entry, low, high, sumsq) of the coarser tables (NaN until complete)
        self.coarse: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []
        group, entries = COARSE_FACTOR, -(-self.nbins // COARSE_FACTOR)
        while entries >= 2:
            self.coarse.append((group, np.full(entries, np.nan, np.float32),
                                np.full(entries, np.nan, np.float32),
                                np.full(entries, np.nan, np.float64)))
            group, entries = group * COARSE_FACTOR, -(-entries // COARSE_FACTOR)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._peak = 0.0
        self.error: str | None = None

    # ------------------------------------------------------------------------- filling
    @property
    def ready(self) -> bool:
        """Every block computed."""
        return bool(self._done.all())

    def start(self) -> None:
        """Compute the whole table: now if the recording is short, else in a thread."""
        if self.ready or self._thread is not None:
            return
        if self.frames <= SYNCHRONOUS_FRAMES:
            self._fill()
            return
        self._thread = threading.Thread(target=self._fill, name="das-envelope", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop a background fill (the table keeps what it has)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _fill(self) -> None:
        try:
            for block in range(self.nblocks):
                if self._stop.is_set():
                    return
                self._block(block)
        except Exception as err:  # noqa: BLE001 - a background thread must not die loudly
            self.error = str(err)
            log.warning("envelope of the recording failed: %s", err)

    def _block(self, block: int) -> None:
        if self._done[block]:
            return
        first_bin = block * BLOCK_BINS
        last_bin = min(first_bin + BLOCK_BINS, self.nbins)
        start, stop = first_bin * BIN_SAMPLES, min(last_bin * BIN_SAMPLES, self.frames)
        x = np.asarray(self.read(start, stop), np.float32).reshape(-1)
        pad = (last_bin - first_bin) * BIN_SAMPLES - len(x)
        if pad:  # the last bin is short: repeat its last sample (min/max unchanged)
            x = np.concatenate([x, np.full(pad, x[-1] if len(x) else 0.0, np.float32)])
        bins = x.reshape(-1, BIN_SAMPLES)
        low, high = bins.min(axis=1), bins.max(axis=1)
        sumsq = np.einsum("ij,ij->i", bins, bins)
        if pad:
            sumsq[-1] -= pad * float(x[-1]) ** 2
        with self._lock:
            self.low[first_bin:last_bin] = low
            self.high[first_bin:last_bin] = high
            self.sumsq[first_bin:last_bin] = sumsq
            self._update_coarse(first_bin, last_bin)
            self._peak = max(self._peak, float(max(-low.min(), high.max())))
            self._done[block] = True

    def _update_coarse(self, first: int, last: int) -> None:
        """Recompute the coarse entries over bins ``[first, last)`` (NaN while any of their
        bins is)."""
        finer = (self.low, self.high, self.sumsq)
        for _, low, high, sumsq in self.coarse:
            first, last = first // COARSE_FACTOR, -(-last // COARSE_FACTOR)
            a, b = first * COARSE_FACTOR, min(last * COARSE_FACTOR, len(finer[0]))
            starts = np.arange(last - first) * COARSE_FACTOR
            low[first:last] = np.minimum.reduceat(finer[0][a:b], starts)
            high[first:last] = np.maximum.reduceat(finer[1][a:b], starts)
            sumsq[first:last] = np.add.reduceat(finer[2][a:b].astype(np.float64), starts)
            finer = (low, high, sumsq)

    # ------------------------------------------------------------------------ querying
    def peak(self) -> float:
        """Largest absolute sample value computed so far (0 if none)."""
        return self._peak

    def columns(self, t0: float, t1: float, ncols: int) -> ColumnEnvelope:
        """The envelope of ``ncols`` equal columns over ``[t0, t1)`` seconds."""
        ncols = max(1, int(ncols))
        edges = np.linspace(t0 * self.samplerate, t1 * self.samplerate, ncols + 1)
        per_column = (edges[-1] - edges[0]) / ncols
        if per_column < 2:
            return self._through_samples(edges)
        if per_column < BIN_SAMPLES or self.frames <= BIN_SAMPLES:
            return self._raw(edges)
        if self.frames <= SYNCHRONOUS_FRAMES:
            self.start()
        return self._from_table(edges)

    def _nan(self, ncols: int, mode: str) -> ColumnEnvelope:
        nan = np.full(ncols, np.nan, np.float32)
        return ColumnEnvelope(nan, nan.copy(), nan.copy(), mode)

    def _through_samples(self, edges: np.ndarray) -> ColumnEnvelope:
        ncols = len(edges) - 1
        first = max(0, int(np.floor(edges[0])) - 1)
        last = min(self.frames, int(np.ceil(edges[-1])) + 2)
        out = self._nan(ncols, "samples")
        if last - first < 1:
            return out
        x = np.asarray(self.read(first, last), np.float32).reshape(-1)
        index = np.arange(first, first + len(x), dtype=np.float64)
        inside = (edges >= first) & (edges <= index[-1])
        at_edges = np.where(inside, np.interp(edges, index, x), np.nan)
        low = np.fmin(at_edges[:-1], at_edges[1:])
        high = np.fmax(at_edges[:-1], at_edges[1:])
        col = np.floor((index - edges[0]) / (edges[1] - edges[0])).astype(np.int64)
        keep = (col >= 0) & (col < ncols)
        np.fmin.at(low, col[keep], x[keep])
        np.fmax.at(high, col[keep], x[keep])
        mid = np.where(inside[:-1] & inside[1:], (at_edges[:-1] + at_edges[1:]) / 2, np.nan)
        return ColumnEnvelope(low.astype(np.float32), high.astype(np.float32),
                              np.abs(mid).astype(np.float32), "samples")

    def _raw(self, edges: np.ndarray) -> ColumnEnvelope:
        return _reduce(edges, self.frames, lambda a, b: (self.read(a, b),) * 3, "raw",
                       unit=1)

    def _from_table(self, edges: np.ndarray) -> ColumnEnvelope:
        per_column = (edges[-1] - edges[0]) / (len(edges) - 1) / BIN_SAMPLES
        unit, low, high, sumsq = 1, self.low, self.high, self.sumsq
        for coarse in self.coarse:  # the coarsest table with COARSE_FACTOR entries a column
            if coarse[0] * COARSE_FACTOR > per_column:
                break
            unit, low, high, sumsq = coarse

        def values(a: int, b: int):
            with self._lock:
                return low[a:b].copy(), high[a:b].copy(), sumsq[a:b].copy()

        return _reduce(edges / (BIN_SAMPLES * unit), len(low), values, "envelope",
                       unit=BIN_SAMPLES * unit, frames=self.frames)


def _reduce(edges: np.ndarray, n: int, values: Callable, mode: str, unit: int,
            frames: int | None = None) -> ColumnEnvelope:
    """Reduce items ``[0, n)`` (samples or bins) into the columns between ``edges``."""
    ncols = len(edges) - 1
    nan = np.full(ncols, np.nan, np.float32)
    bounds = np.clip(np.round(edges).astype(np.int64), 0, n)
    first, last = int(bounds[0]), int(bounds[-1])
    if last <= first:
        return ColumnEnvelope(nan, nan.copy(), nan.copy(), mode)
    low, high, third = (np.asarray(v, np.float32).reshape(-1) for v in values(first, last))
    starts = bounds[:-1] - first
    nonempty = bounds[1:] > bounds[:-1]
    idx = starts[nonempty]
    out_low, out_high, out_rms = nan.copy(), nan.copy(), nan.copy()
    if idx.size:
        out_low[nonempty] = np.minimum.reduceat(low, idx)
        out_high[nonempty] = np.maximum.reduceat(high, idx)
        if unit == 1:
            squares = np.add.reduceat(third.astype(np.float64) ** 2, idx)
        else:
            squares = np.add.reduceat(third.astype(np.float64), idx)
        counts = (bounds[1:] - bounds[:-1])[nonempty] * unit
        if frames is not None:  # the table's last bin may be short
            counts = np.minimum(counts, frames - bounds[:-1][nonempty] * unit)
        out_rms[nonempty] = np.sqrt(np.maximum(squares, 0) / np.maximum(counts, 1))
    return ColumnEnvelope(out_low, out_high, out_rms, mode)
