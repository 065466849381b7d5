"""The waveform strip's envelope table and its coarse tables (no viewer needed)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_das._napari import envelope
from napari_das._napari.envelope import BIN_SAMPLES, COARSE_FACTOR, EnvelopeTable


@pytest.mark.parametrize("ncols", [7, 50, 300])
def test_wide_columns_from_the_coarse_tables_equal_the_samples_reduced(rng, monkeypatch, ncols):
    """A column of at least COARSE_FACTOR entries of a coarse table is that table's entries
    reduced (edges rounded to its bins): min, max and RMS of exactly those samples."""
    monkeypatch.setattr(envelope, "BLOCK_BINS", 512)  # several blocks, coarse groups across them
    frames = BIN_SAMPLES * 512 * 7 + 1234
    x = (rng.standard_normal(frames) * np.linspace(0.1, 1, frames)).astype(np.float32)
    table = EnvelopeTable(lambda a, b: x[a:b], frames, 1000.0)
    table.start()
    assert table.ready and [c[0] for c in table.coarse] == [8, 64, 512]  # 3604 bins
    for t0, t1 in ((0.0, frames / 1000), (3.3, 180.0), (-20.0, frames / 1000 + 50)):
        env = table.columns(t0, t1, ncols)
        assert env.mode == "envelope"
        per_column = (t1 - t0) * 1000 / ncols / BIN_SAMPLES
        unit = max([1] + [g for g, *_ in table.coarse if g * COARSE_FACTOR <= per_column])
        step = BIN_SAMPLES * unit
        edges = np.clip(np.round(np.linspace(t0 * 1000, t1 * 1000, ncols + 1) / step).astype(int)
                        * step, 0, frames)
        for c in range(ncols):
            piece = x[edges[c]:edges[c + 1]]
            if not len(piece):
                assert np.isnan(env.high[c])
                continue
            assert env.low[c] == piece.min() and env.high[c] == piece.max()
            assert env.rms[c] == pytest.approx(np.sqrt(np.mean(piece.astype(np.float64) ** 2)),
                                               rel=1e-4)


def test_coarse_entries_are_unknown_until_all_their_bins_are(rng, monkeypatch):
    monkeypatch.setattr(envelope, "BLOCK_BINS", 64)
    frames = BIN_SAMPLES * 64 * 20
    x = rng.standard_normal(frames).astype(np.float32)
    table = EnvelopeTable(lambda a, b: x[a:b], frames, 1000.0)
    for block in (0, 1, 3):  # blocks 0-1 fill the first coarse entry at 128 bins; 3 does not
        table._block(block)
    bins, low, high, _ = table.coarse[1]  # 64 bins an entry
    assert bins == 64 and np.isfinite(low[:2]).all() and np.isnan(low[2]) and np.isfinite(low[3])
    bins, low, _, sumsq = table.coarse[2]  # 512 bins
    assert np.isnan(low).all() and np.isnan(sumsq).all()
    env = table._from_table(np.array([0.0, frames / 2, frames]))  # (columns() would fill it)
    assert np.isnan(env.high).all()  # each column needs unknown bins
