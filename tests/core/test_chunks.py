"""Chunk geometry, sampling and sample weights (golden values on hand-made inputs)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_das.core.config import NetworkConfig
from napari_das.core.data.chunks import (
    ChunkBatches,
    class_weights_from_targets,
    default_steps_per_epoch,
    edge_mask,
    grid_starts,
    random_starts,
    subset_boundaries,
)


def test_grid_starts_golden_never_cross_pieces():
    starts = grid_starts([(0, 100), (100, 130), (130, 300)], nb_hist=40, stride=30)
    assert starts.tolist() == [0, 30, 60, 130, 160, 190, 220, 250]
    # a chunk exactly filling a piece is allowed, one sample less is not
    assert grid_starts([(10, 50)], 40, 7).tolist() == [10]
    assert grid_starts([(10, 49)], 40, 7).tolist() == []


def test_kept_centres_tile_each_piece():
    net = NetworkConfig(nb_hist=256, kernel_size=4, nb_conv=1, dilations=[1, 2]).validated()
    pad, stride = net.data_padding, net.stride
    assert (pad, stride) == (5, 246)  # receptive field 10 -> half 5
    starts = grid_starts([(0, 1000)], net.nb_hist, stride)
    kept = np.concatenate([np.arange(s + pad, s + net.nb_hist - pad) for s in starts])
    assert np.array_equal(kept, np.arange(pad, pad + len(kept)))  # no gaps, no overlap


def test_random_starts_inside_pieces_and_seeded():
    bounds = [(0, 50), (50, 60), (60, 200)]
    rng = np.random.default_rng(0)
    starts = random_starts(bounds, 40, 5000, rng)
    in_first = (starts >= 0) & (starts + 40 <= 50)
    in_third = (starts >= 60) & (starts + 40 <= 200)
    assert np.all(in_first | in_third)
    # uniform over the 11 + 101 valid positions
    assert abs(in_first.mean() - 11 / 112) < 0.02
    assert set(np.unique(starts[in_first])) == set(range(11))
    again = random_starts(bounds, 40, 5000, np.random.default_rng(0))
    assert np.array_equal(starts, again)
    with pytest.raises(ValueError):
        random_starts([(0, 10)], 40, 1, rng)


def test_edge_mask_and_batch_weights_with_class_weights():
    assert edge_mask(8, 2).tolist() == [0, 0, 1, 1, 1, 1, 0, 0]
    T = 40
    x = np.arange(T, dtype=np.float32)[:, None]
    labels = np.zeros(T, dtype=int)
    labels[20:30] = 1
    y = np.eye(2, dtype=np.float32)[labels]
    batches = ChunkBatches(x, y, [(0, T)], nb_hist=10, stride=6, data_padding=2, batch_size=2,
                           class_weights=np.array([0.5, 3.0], np.float32))
    assert batches.starts.tolist() == [0, 6, 12, 18, 24, 30]
    assert len(batches) == 3
    xb, yb, wb = batches.batch(2)  # chunks at 24 and 30
    assert xb.shape == (2, 10, 1) and yb.shape == (2, 10, 2) and wb.shape == (2, 10)
    assert xb[0, :, 0].tolist() == list(range(24, 34))
    assert wb[0].tolist() == [0, 0, 3, 3, 3, 3, 0.5, 0.5, 0, 0]
    assert wb[1].tolist() == [0, 0] + [0.5] * 6 + [0, 0]


def test_balance_without_padding_keeps_class_weights():
    # DAS dropped the weights (and so balancing) when ignore_boundaries was off
    y = np.eye(2, dtype=np.float32)[[0, 0, 0, 1, 1, 0, 0, 0]]
    w = class_weights_from_targets(y, [(0, 8)])
    assert np.allclose(w, [1 / (2 * 6 / 8), 1 / (2 * 2 / 8)])
    batches = ChunkBatches(np.zeros((8, 1)), y, [(0, 8)], nb_hist=4, stride=4, data_padding=0,
                           batch_size=2, class_weights=w)
    _, _, wb = batches.batch(0)
    assert np.allclose(wb, w[[[0, 0, 0, 1], [1, 0, 0, 0]]])


def test_training_batches_reproducible_and_short_last_val_batch():
    x = np.random.default_rng(1).normal(size=(500, 2)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[np.zeros(500, int)]
    kw = dict(nb_hist=32, stride=20, data_padding=6, batch_size=4)
    train_a = ChunkBatches(x, y, [(0, 250), (250, 500)], shuffle=True, seed=7, **kw)
    train_b = ChunkBatches(x, y, [(0, 250), (250, 500)], shuffle=True, seed=7, **kw)
    other = ChunkBatches(x, y, [(0, 250), (250, 500)], shuffle=True, seed=8, **kw)
    assert np.array_equal(train_a.batch(3)[0], train_b.batch(3)[0])
    assert not np.array_equal(train_a.batch(3)[0], train_a.batch(4)[0])
    assert not np.array_equal(train_a.batch(3)[0], other.batch(3)[0])
    # 250-sample pieces hold starts 0, 20, ..., 200 (11 chunks each)
    assert train_a.nb_chunks == 2 * 11 and len(train_a) == 5
    assert default_steps_per_epoch(train_a) == 5 and default_steps_per_epoch(train_a, cap=4) == 4
    val = ChunkBatches(x, y, [(0, 250), (250, 500)], **kw)
    assert len(val) == 6 and len(val.batch(5)[0]) == 2
    assert val.starts_of(2).tolist() == [160, 180, 200, 250]
    val5 = ChunkBatches(x, y, [(0, 250), (250, 480)], **kw)
    assert val5.nb_chunks == 11 + 10 and len(val5.batch(5)[0]) == 1


def test_subset_boundaries_contiguous_and_capped():
    bounds = [(0, 300), (300, 1000)]
    pieces, (first, last) = subset_boundaries(bounds, 0.1, 50, np.random.default_rng(3))
    assert last - first == 100 and 0 <= first <= 900
    assert sum(b - a for a, b in pieces) == 100
    assert all(a >= first and b <= last for a, b in pieces)
    # min_samples wins over a tiny fraction; asking for everything returns everything
    pieces, rng_ = subset_boundaries(bounds, 0.001, 400, np.random.default_rng(3))
    assert rng_[1] - rng_[0] == 400
    pieces, rng_ = subset_boundaries(bounds, 1.0, 0, np.random.default_rng(3))
    assert pieces == [(0, 300), (300, 1000)] and rng_ == (0, 1000)


def test_steps_per_epoch_follow_das_stride_of_the_command_line():
    """DAS's bird command line: DAS's margin (k*S = 96) and DAS's steps per epoch (issue 18)."""
    bird = NetworkConfig(nb_hist=1024, nb_filters=32, kernel_size=32, nb_conv=3, nb_pre_conv=4)
    assert bird.margin_capped and bird.data_padding == 96 and bird.stride == bird.das_stride == 832
    # a network whose chunk holds its receptive field keeps its wider margin, but an epoch
    # still has DAS's number of chunks
    wide = NetworkConfig(nb_hist=4096, nb_filters=8, kernel_size=16, nb_conv=1)
    assert not wide.margin_capped and wide.stride < wide.das_stride == 4096 - 32
    y = np.zeros((100_000, 2), np.float32)
    batches = ChunkBatches(np.zeros((100_000, 1), np.float32), y, [(0, 100_000)], 4096,
                           wide.stride, wide.data_padding, batch_size=4, shuffle=True)
    assert default_steps_per_epoch(batches) == len(grid_starts([(0, 100_000)], 4096,
                                                              wide.stride)) // 4
    assert default_steps_per_epoch(batches, stride=wide.das_stride) == 24 // 4  # 24 DAS chunks
    assert default_steps_per_epoch(batches, cap=3, stride=wide.das_stride) == 3
