"""Prediction: class probabilities for every sample of arbitrarily long recordings.

The network is fully convolutional, so it runs on *windows* much longer than the training chunk.
Consecutive windows overlap only by the receptive field: a window of ``W`` samples keeps the
``core = W - margin_past - margin_future`` samples in its middle, whose outputs depend only on
input inside the window.  Margins and window starts are multiples of the STFT hop, so every
window sees the same frames as a single pass over the whole recording would; the recording ends
are reflect-padded by the margins (the same padding whether it is predicted in one piece or in
blocks).  Predicting in one piece and in streamed blocks therefore gives the same probabilities
up to float rounding, and every input sample gets a prediction (unlike DAS, spec 7.2).

The model call is a ``tf.function`` with a fixed window length ``[None, W, C]``, so it is traced
once per model and window.

Public functions
----------------
:func:`predict_probabilities`
    ``[T, C]`` array -> ``[T, K]`` probabilities.
:func:`iter_probabilities`
    Streams ``(start, probabilities)`` blocks from any random-access source (memory bounded).
:func:`predict` / :func:`predict_file`
    Probabilities + events + segments (:class:`~napari_das.core.prediction.Prediction`).
:func:`predict_paths`
    The ``das predict`` command: files or folders -> annotation CSV / HDF5 files.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .config import NetworkConfig
from .errors import DasError
from .progress import check_stop, emit

log = logging.getLogger(__name__)

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


def network_from_params(params: dict[str, Any]) -> NetworkConfig:
    """The :class:`NetworkConfig` stored in a ``_params.yaml`` dict (DAS names)."""
    values = dict(params)
    if "nb_kernels" in values and "nb_filters" not in values:
        values["nb_filters"] = values["nb_kernels"]
    if "pre_nb_conv" in values and "nb_pre_conv" not in values:
        values["nb_pre_conv"] = values["pre_nb_conv"]
    for key in ("use_separable", "dilations"):
        if key in values and not isinstance(values[key], list | tuple):
            values[key] = [values[key]]
    try:
        return NetworkConfig.from_dict(values).validated()
    except TypeError as err:
        raise DasError(f"the params do not describe a network ({err})") from err


def window_plan(network: NetworkConfig, window: int | None = None) -> WindowPlan:
    """Window geometry for ``network``.

    Parameters
    ----------
    network : NetworkConfig
        The architecture (its receptive extent and hop decide the margins).
    window : int, optional
        Wanted window length in samples (rounded up to the hop and to at least twice the
        margins).  Default: 16 receptive fields, at least 8 chunks and :data:`MIN_WINDOW`.
    """
    hop = int(network.hop)
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


# ------------------------------------------------------------------------------------ runner
class ModelRunner:
    """Calls the model on batches of fixed-length windows through one compiled ``tf.function``.

    Parameters
    ----------
    model : keras.Model
        Input ``[batch, None, C]``, output ``[batch, time, K]`` at the audio rate.
    plan : WindowPlan
        Window geometry.
    batch_size : int
        Windows per call (the batch axis of the compiled call is free, the window length fixed).
    """

    def __init__(self, model: Any, plan: WindowPlan, batch_size: int):
        import tensorflow as tf

        self.model = model
        self.plan = plan
        self.batch_size = int(batch_size)
        self.nb_channels = int(model.input_shape[-1])
        self.nb_classes = int(model.output_shape[-1])
        # batch axis free (one trace serves full and partial batches), window length fixed
        spec = tf.TensorSpec([None, plan.window, self.nb_channels], tf.float32)
        self._call = tf.function(lambda x: model(x, training=False), input_signature=[spec])

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        """``[n, W, C]`` -> ``[n, W, K]`` (n <= batch_size)."""
        n = len(windows)
        out = self._call(np.ascontiguousarray(windows, dtype=np.float32)).numpy()
        if out.shape[1] != self.plan.window:
            raise DasError(f"the model returns {out.shape[1]} steps for {self.plan.window} "
                           "samples: models with upsample=False cannot predict per sample")
        return out[:n]


def default_batch_size(plan: WindowPlan, requested: int | None = None) -> int:
    """Windows per model call: ``requested`` or about :data:`TARGET_SAMPLES_PER_CALL` samples."""
    if requested:
        return max(1, int(requested))
    return max(1, TARGET_SAMPLES_PER_CALL // plan.window)


def iter_probabilities(runner: ModelRunner, read: Reader, frames: int, windows_per_block: int
                       | None = None, progress=None, stop=None,
                       task: str = "predict") -> Iterator[tuple[int, np.ndarray]]:
    """Stream probabilities for a recording of ``frames`` samples.

    Parameters
    ----------
    runner : ModelRunner
        The compiled model call.
    read : callable
        ``read(a, b) -> [b-a, C]`` float32 samples of the (preprocessed) recording.
    frames : int
        Length of the recording.
    windows_per_block : int, optional
        Windows read and predicted per block (default: one batch).
    progress, stop
        Progress callback (``start``/``step`` records in samples) and stop token.

    Yields
    ------
    start : int
        First sample of the block.
    probabilities : np.ndarray
        float32 ``[n, K]``; consecutive blocks tile ``[0, frames)`` exactly.
    """
    plan = runner.plan
    frames = int(frames)
    if frames <= 0:
        return
    per_block = int(windows_per_block or runner.batch_size)
    total = plan.nb_windows(frames)
    emit(progress, "start", task=task, total=frames, message=f"predicting {frames} samples")
    for first in range(0, total, per_block):
        check_stop(stop)
        count = min(per_block, total - first)
        start = first * plan.core
        # padded coordinates: window w starts at w*core - margin_past in recording samples
        span = read_padded(read, frames, start - plan.margin_past,
                           start + (count - 1) * plan.core + plan.window - plan.margin_past)
        span = np.asarray(span, np.float32)
        if span.ndim == 1:
            span = span[:, None]
        if span.shape[1] != runner.nb_channels:
            raise DasError(f"the audio has {span.shape[1]} channel(s) but the model expects "
                           f"{runner.nb_channels}: use a model trained on such recordings")
        pieces = []
        for b in range(0, count, runner.batch_size):
            n = min(runner.batch_size, count - b)
            windows = np.lib.stride_tricks.sliding_window_view(
                span[b * plan.core: (b + n - 1) * plan.core + plan.window],
                plan.window, axis=0)[:: plan.core]  # [n, C, W]
            out = runner(np.swapaxes(windows, 1, 2))
            pieces.append(out[:, plan.margin_past: plan.margin_past + plan.core])
        block = np.concatenate(pieces).reshape(-1, runner.nb_classes)
        block = block[: min(len(block), frames - start)]
        yield start, block
        emit(progress, "step", task=task, current=start + len(block), total=frames)


def predict_probabilities(model: Any, x: np.ndarray, params: dict[str, Any],
                          batch_size: int | None = None, progress=None, stop=None,
                          window: int | None = None) -> np.ndarray:
    """Class probabilities for every sample of ``x``.

    Parameters
    ----------
    model : keras.Model
        Fully convolutional model, input ``[batch, None, C]``.
    x : np.ndarray
        Audio ``[T, C]`` (or ``[T]``) at the model's sample rate, already preprocessed.
    params : dict
        The model's ``_params.yaml`` content (architecture keys decide the window geometry).
    batch_size : int, optional
        Windows per model call (default: about half a million samples per call).
    progress, stop
        Progress callback and stop token.
    window : int, optional
        Window length in samples (default from :func:`window_plan`); results do not depend on
        it beyond float rounding.

    Returns
    -------
    np.ndarray
        float32 ``[T, K]``.
    """
    x = np.asarray(x, np.float32)
    if x.ndim == 1:
        x = x[:, None]
    runner = make_runner(model, params, batch_size=batch_size, window=window)
    out = np.empty((len(x), runner.nb_classes), np.float32)
    for start, block in iter_probabilities(runner, lambda a, b: x[a:b], len(x),
                                           progress=progress, stop=stop):
        out[start: start + len(block)] = block
    emit(progress, "done", task="predict", current=len(x), total=len(x))
    return out


_RUNNERS: dict[tuple, ModelRunner] = {}


def make_runner(model: Any, params: dict[str, Any], batch_size: int | None = None,
                window: int | None = None) -> ModelRunner:
    """A (cached) :class:`ModelRunner` for ``model`` and the geometry in ``params``."""
    plan = window_plan(network_from_params(params), window)
    batch = default_batch_size(plan, batch_size)
    key = (id(model), plan, batch)
    runner = _RUNNERS.get(key)
    if runner is None or runner.model is not model:
        if len(_RUNNERS) > 8:
            _RUNNERS.clear()
        runner = _RUNNERS[key] = ModelRunner(model, plan, batch)
    return runner
