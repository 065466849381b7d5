"""Window geometry: how a recording is cut into overlapping windows for the network.

The network is fully convolutional, so it runs on *windows* much longer than the training chunk.
Consecutive windows overlap only by the receptive field: a window of ``W`` samples keeps the
``core = W - margin_past - margin_future`` samples in its middle, whose outputs depend only on
input inside the window.  Margins and window starts are multiples of the STFT hop, so every
window sees the same frames as a single pass over the whole recording would; the recording ends
are reflect-padded by the margins (the same padding whether it is predicted in one piece or in
blocks).  Predicting in one piece and in streamed blocks therefore gives the same probabilities
up to float rounding, and every input sample gets a prediction (unlike DAS, spec 7.2).

Option (``training_windows``, ``das predict --training-windows``): a network trained on chunks
shorter than its receptive field (:attr:`~napari_das.core.config.NetworkConfig.predicts_in_chunks`,
e.g. ``--nb-hist 256`` with a 2884-sample field) never saw real signal where its widest kernels
reached past the chunk, only zero padding.  It can be run in its training geometry: windows of
``nb_hist`` samples keeping the ``stride`` samples between the ``data_padding`` margins, exactly
the outputs the loss saw.  Measured on held-out synthetic pulses (seed network, 96-sample margin):
pulse F1 0.94 instead of 0.92 at 3.6x the time; on finch syllables (STFT network) segments
break at chunk borders, so it is not the default.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..config import NetworkConfig
from ..errors import DasError

#: Input samples per model call (batch * window) aimed at when no batch size is given.
TARGET_SAMPLES_PER_CALL = 2**19
#: Smallest window (samples) used for prediction.
MIN_WINDOW = 2**13


# ------------------------------------------------------------------------------------ geometry
@dataclass(frozen=True)
class WindowPlan:
    """How a recording is cut into overlapping windows for the network.

    Attributes
    ----------
    hop : int
        STFT hop (1 without the frontend); window starts and margins are multiples of it.
    margin_past, margin_future : int
        Samples of context before/after the kept part of each window (>= receptive extent).
    window : int
        Samples per window (the fixed input length of the compiled model call).
    """

    hop: int
    margin_past: int
    margin_future: int
    window: int

    @property
    def core(self) -> int:
        """Samples each window contributes to the output (its middle)."""
        return self.window - self.margin_past - self.margin_future

    def nb_windows(self, frames: int) -> int:
        """Windows needed to cover ``frames`` samples (at least one)."""
        return max(1, math.ceil(int(frames) / self.core))


def _round_up(value: float, step: int) -> int:
    return int(math.ceil(value / step) * step)


def window_plan(network: NetworkConfig, window: int | None = None,
                data_padding: int | None = None, training_windows: bool = True) -> WindowPlan:
    """Window geometry for ``network``.

    Parameters
    ----------
    network : NetworkConfig
        The architecture (its receptive extent and hop decide the margins).
    window : int, optional
        Wanted window length in samples (rounded up to the hop and to at least twice the
        margins).  Default: 16 receptive fields, at least 8 chunks and :data:`MIN_WINDOW`.
    data_padding : int, optional
        The margin the network was trained with (``_params.yaml``); default: derived from
        ``network``.
    training_windows : bool
        Run a network trained on chunks shorter than its receptive field
        (:attr:`~napari_das.core.config.NetworkConfig.predicts_in_chunks`) on its training chunks
        (``nb_hist`` samples, ``data_padding`` margins; ``window`` is then ignored).
    """
    hop = int(network.hop)
    if training_windows and network.predicts_in_chunks:
        pad = int(network.data_padding if data_padding is None else data_padding)
        if not 0 <= 2 * pad < int(network.nb_hist):
            raise DasError(f"data_padding {pad} does not fit chunks of {network.nb_hist} samples")
        return WindowPlan(hop=hop, margin_past=pad, margin_future=pad,
                          window=int(network.nb_hist))
    extent = getattr(network, "receptive_extent", None)
    if extent is None:  # conservative: the whole field on both sides
        extent = (network.receptive_field, network.receptive_field)
    past, future = (_round_up(max(int(e), 0), hop) for e in extent)
    field = past + future
    if window is None:
        window = max(16 * field, 8 * int(network.nb_hist), MIN_WINDOW)
    window = _round_up(max(int(window), field + hop), hop)
    return WindowPlan(hop=hop, margin_past=past, margin_future=future, window=window)


# ------------------------------------------------------------------------------------ sources
Reader = Callable[[int, int], np.ndarray]


def _reflect_indices(index: np.ndarray, frames: int) -> np.ndarray:
    """Map indices outside ``[0, frames)`` into it by (repeated) reflection without edge repeat."""
    if frames == 1:
        return np.zeros_like(index)
    period = 2 * (frames - 1)
    folded = np.mod(index, period)
    return np.where(folded >= frames, period - folded, folded)


def read_padded(read: Reader, frames: int, start: int, stop: int) -> np.ndarray:
    """Samples ``[start, stop)`` of the recording reflect-padded on both sides.

    ``read(a, b)`` returns samples ``[a, b)`` (``0 <= a <= b <= frames``) as ``[b-a, C]``.
    """
    inner_start, inner_stop = max(start, 0), min(stop, frames)
    if start >= 0 and stop <= frames:
        return read(start, stop)
    index = _reflect_indices(np.arange(start, stop), frames)
    first, last = int(index.min()), int(index.max()) + 1
    if inner_start < inner_stop:  # one read covering the inside and the reflected edges
        first, last = min(first, inner_start), max(last, inner_stop)
    chunk = read(first, last)
    return chunk[index - first]


def default_batch_size(plan: WindowPlan, requested: int | None = None) -> int:
    """Windows per model call: ``requested`` or about :data:`TARGET_SAMPLES_PER_CALL` samples."""
    if requested:
        return max(1, int(requested))
    return max(1, TARGET_SAMPLES_PER_CALL // plan.window)

