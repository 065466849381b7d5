"""Chunk geometry and batches for training (numpy only, no TensorFlow).

A split is a concatenation of recording pieces (``Split.boundaries``, ``[(start, stop), ...]``
sample ranges).  A chunk is ``nb_hist`` consecutive samples and never crosses a piece boundary
(DAS chunked across recordings, spec 10.19).

- Validation/test chunks start at ``piece_start + j * stride`` in every piece (spec 4.2): after
  dropping ``data_padding`` samples at both chunk edges the kept centres tile the piece.
- Training chunks start anywhere inside a piece, drawn uniformly with a generator seeded by
  ``(seed, global_step)``: batch ``i`` is the same in every run with the same seed, and a resumed
  run sees the batches it would have seen without the interruption.
- Temporal sample weights are 0 in the first/last ``data_padding`` samples of every chunk and
  ``class_weights[argmax(y)]`` elsewhere (1 without balancing) - also when ``data_padding`` is 0
  (DAS then silently dropped the class weights, spec 10.3).

A batch is one fancy-index gather from the (memory-mapped) arrays.

Examples
--------
>>> grid_starts([(0, 100), (100, 130), (130, 300)], nb_hist=40, stride=30).tolist()
[0, 30, 60, 130, 160, 190, 220, 250]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

Boundaries = Sequence[tuple[int, int]]

#: Default cap on the number of batches per epoch (DAS's hard-coded 1000, now recorded).
MAX_STEPS_PER_EPOCH = 1000


def _pieces(boundaries: Boundaries) -> np.ndarray:
    arr = np.asarray([(int(a), int(b)) for a, b in boundaries], dtype=np.int64).reshape(-1, 2)
    return arr[arr[:, 1] > arr[:, 0]]


def grid_starts(boundaries: Boundaries, nb_hist: int, stride: int) -> np.ndarray:
    """Chunk starts at multiples of ``stride`` from each piece start, every chunk inside its piece.

    Parameters
    ----------
    boundaries : sequence of (start, stop)
        Recording pieces (sample ranges, stop exclusive).
    nb_hist : int
        Chunk length in samples.
    stride : int
        Step between chunk starts (``NetworkConfig.stride``).

    Returns
    -------
    np.ndarray
        int64 start indices, sorted by piece.
    """
    if stride < 1:
        raise ValueError(f"stride must be positive, not {stride}")
    out = [np.arange(a, b - nb_hist + 1, stride, dtype=np.int64) for a, b in _pieces(boundaries)
           if b - a >= nb_hist]
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def random_starts(boundaries: Boundaries, nb_hist: int, count: int,
                  rng: np.random.Generator) -> np.ndarray:
    """``count`` chunk starts drawn uniformly from all positions where a chunk fits in a piece."""
    pieces = _pieces(boundaries)
    room = np.maximum(pieces[:, 1] - pieces[:, 0] - nb_hist + 1, 0)
    total = int(room.sum())
    if total <= 0:
        raise ValueError(f"no piece is at least {nb_hist} samples long")
    flat = rng.integers(0, total, size=count)
    ends = np.cumsum(room)
    piece = np.searchsorted(ends, flat, side="right")
    offset = flat - (ends[piece] - room[piece])
    return pieces[piece, 0] + offset


def clip_boundaries(boundaries: Boundaries, first: int, last: int) -> list[tuple[int, int]]:
    """The pieces cut to ``[first, last)``; pieces left empty are dropped.

    >>> clip_boundaries([(0, 10), (10, 30), (30, 40)], 5, 30)
    [(5, 10), (10, 30)]
    """
    clipped = [(max(a, first), min(b, last)) for a, b in _pieces(boundaries).tolist()]
    return [(a, b) for a, b in clipped if b > a]


def subset_boundaries(boundaries: Boundaries, fraction: float, min_samples: int,
                      rng: np.random.Generator) -> tuple[list[tuple[int, int]], tuple[int, int]]:
    """Restrict pieces to one contiguous random range of ``fraction`` of the samples.

    The range holds ``max(ceil(fraction * N), min_samples)`` samples (all if that is not less
    than ``N``; DAS crashed there, spec 4.5).

    Returns
    -------
    (pieces, (first, last))
        The pieces clipped to the range, and the range itself.
    """
    pieces = _pieces(boundaries)
    if len(pieces) == 0:
        return [], (0, 0)
    first, last = int(pieces[:, 0].min()), int(pieces[:, 1].max())
    total = last - first
    length = max(int(math.ceil(fraction * total)), int(min_samples))
    if length < total:
        first = first + int(rng.integers(0, total - length + 1))
        last = first + length
    return clip_boundaries(pieces, first, last), (first, last)


def class_weights_from_targets(y: np.ndarray, boundaries: Boundaries,
                               block: int = 1_000_000) -> np.ndarray:
    """Inverse-frequency class weights, scaled so that the mean weight per sample is 1.

    Frequencies are the column sums of the (soft) targets over the pieces; DAS used
    ``1 / frequency``, this is the same up to the factor ``1 / K`` (``weight = 1 / (K * f)``) so
    that balancing does not change the loss scale.  Absent classes get weight 0.
    """
    sums = np.zeros(y.shape[1], dtype=np.float64)
    for a, b in _pieces(boundaries).tolist():
        for s in range(a, b, block):
            sums += np.asarray(y[s : min(b, s + block)], dtype=np.float64).sum(axis=0)
    freq = sums / max(sums.sum(), 1e-12)
    with np.errstate(divide="ignore"):
        weights = np.where(freq > 0, 1.0 / (len(freq) * np.maximum(freq, 1e-12)), 0.0)
    return weights.astype(np.float32)


def edge_mask(nb_hist: int, data_padding: int) -> np.ndarray:
    """``[nb_hist]`` float32 ones with ``data_padding`` zeros at each end."""
    mask = np.ones(nb_hist, dtype=np.float32)
    if data_padding > 0:
        mask[:data_padding] = 0
        mask[nb_hist - data_padding :] = 0
    return mask


@dataclass
class ChunkBatches:
    """Batches of chunks from one split.

    Parameters
    ----------
    x, y : array-like
        ``[T, C]`` audio and ``[T, K]`` targets (arrays or memmaps).
    boundaries : sequence of (start, stop)
        Recording pieces; chunks never cross them.
    nb_hist, stride, data_padding : int
        Chunk geometry (from :class:`~napari_das.core.config.NetworkConfig`).
    batch_size : int
        Chunks per batch.
    shuffle : bool
        True: random chunk starts per batch (training); False: the stride grid in order.
    seed : int
        Seed of the random starts (with the global step).
    class_weights : array, optional
        Per-class weights multiplied into the temporal sample weights.
    output_stride : int
        Subsampling of ``y`` and the weights (1 when the network upsamples).
    augment : callable, optional
        ``augment(x [B, nb_hist, C], rng) -> x`` applied to shuffled (training) batches with a
        generator seeded by ``seed`` and the batch index
        (:class:`~napari_das.core.data.augment.Augmenter`).
    """

    x: np.ndarray
    y: np.ndarray
    boundaries: Boundaries
    nb_hist: int
    stride: int
    data_padding: int
    batch_size: int
    shuffle: bool = False
    seed: int = 0
    class_weights: np.ndarray | None = None
    output_stride: int = 1
    augment: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None

    def __post_init__(self) -> None:
        self.starts = grid_starts(self.boundaries, self.nb_hist, self.stride)
        self._offsets = np.arange(self.nb_hist, dtype=np.int64)
        self._mask = edge_mask(self.nb_hist, self.data_padding)[:: self.output_stride]

    @property
    def nb_chunks(self) -> int:
        """Chunks on the stride grid (one pass over the split)."""
        return int(len(self.starts))

    def __len__(self) -> int:
        """Batches in one pass over the grid (the last one may be short when not shuffling)."""
        if self.shuffle:
            return max(1, self.nb_chunks // self.batch_size)
        return int(math.ceil(self.nb_chunks / self.batch_size))

    def starts_of(self, index: int) -> np.ndarray:
        """Chunk starts of batch ``index`` (the global step when shuffling)."""
        if self.shuffle:
            rng = np.random.default_rng([int(self.seed), int(index)])
            return random_starts(self.boundaries, self.nb_hist, self.batch_size, rng)
        return self.starts[index * self.batch_size : (index + 1) * self.batch_size]

    def batch(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(x [B, nb_hist, C], y [B, nb_hist/output_stride, K], weights [B, ...])`` float32."""
        idx = self.starts_of(index)[:, None] + self._offsets[None, :]
        xb = np.asarray(self.x[idx.ravel()], dtype=np.float32).reshape(len(idx), self.nb_hist, -1)
        yidx = idx[:, :: self.output_stride]
        yb = np.asarray(self.y[yidx.ravel()], dtype=np.float32).reshape(*yidx.shape, -1)
        weights = np.broadcast_to(self._mask, yidx.shape).astype(np.float32)
        if self.class_weights is not None:
            weights = weights * np.asarray(self.class_weights, np.float32)[yb.argmax(axis=-1)]
        if self.augment is not None and self.shuffle:  # training batches only, x only
            xb = self.augment(xb, np.random.default_rng([int(self.seed), int(index), 1]))
        return xb, yb, weights


def default_steps_per_epoch(train: ChunkBatches, cap: int = MAX_STEPS_PER_EPOCH,
                            stride: int | None = None) -> int:
    """One pass over the training chunks, at most ``cap`` batches.

    ``stride``: count the chunks on this grid instead of the batches' own (DAS's stride of the
    same command line, so that an epoch costs what DAS's epoch costs whatever our margin).
    """
    if stride is None:
        return int(min(len(train), cap))
    chunks = len(grid_starts(train.boundaries, train.nb_hist, int(stride)))
    return int(min(max(1, chunks // train.batch_size), cap))
