"""The model runner: one compiled model call on fixed-length windows, and the loops that stream
a recording through it.

The model call is a ``tf.function`` with a fixed window length ``[None, W, C]``, so it is traced
once per model and window.  Runners are cached per model object (weakly: the cache entry goes
with the model), so predicting many files or recording pieces with one model traces once.

Public functions
----------------
:func:`make_runner`
    The (cached) :class:`ModelRunner` for a model and the geometry in its params.
:func:`iter_probabilities`
    Streams ``(start, probabilities)`` blocks from any random-access source (memory bounded).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import DasError
from ..nn.model import network_from_params
from ..progress import check_stop, emit
from .windows import (
    Reader,
    WindowPlan,
    read_padded,
    samples_per_call,
    window_plan,
    windows_per_call,
)


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
    precision : str
        ``float32``, ``bfloat16`` or ``auto`` (:func:`~napari_das.core.nn.precision.resolve_precision`):
        the arithmetic of the dilated convolutions.  In bfloat16 each layer's convolution runs
        in bfloat16 only at shapes (windows per call included) that a numeric check passed
        (:class:`~napari_das.core.nn.fastconv.PredictionConvolutions`), in float32 otherwise.
    """

    def __init__(self, model: Any, plan: WindowPlan, batch_size: int,
                 precision: str = "float32"):
        import tensorflow as tf

        from ..nn.fastconv import PredictionConvolutions
        from ..nn.precision import compute_dtype

        # weak: the runner cache is keyed by the model, so a strong reference would keep it alive
        self._model = weakref.ref(model)
        self.plan = plan
        self.batch_size = int(batch_size)
        self.nb_channels = int(model.input_shape[-1])
        self.nb_classes = int(model.output_shape[-1])
        low = compute_dtype(precision)
        self.precision = "bfloat16" if low else "float32"
        # the dilated convolutions as fast_conv's forward (taps that only read the padding
        # skipped), in bfloat16 per layer where checked; installed only while tracing
        self.convolutions = fast = PredictionConvolutions(model, low)
        self._flags: dict[int, np.ndarray] = {}
        # batch axis free (one trace serves full and partial batches), window length fixed
        spec = tf.TensorSpec([None, plan.window, self.nb_channels], tf.float32)
        # autograph=False: a plain model call needs no conversion (the bench saw a 423-byte
        # autograph source file in TMPDIR; not reproduced by the test)
        model_ref = self._model
        if low is None:
            def call(x):
                with fast.installed():
                    return model_ref()(x, training=False)

            self._call = tf.function(call, input_signature=[spec], autograph=False)
        else:
            def call_low(x, flags):
                with fast.installed(flags):
                    return model_ref()(x, training=False)

            flags_spec = tf.TensorSpec([fast.count()], tf.bool)
            self._call_low = tf.function(call_low, input_signature=[spec, flags_spec],
                                         autograph=False)
            self._call = self._padded_low_call

    def call_size(self, n: int) -> int:
        """Windows actually passed to the model for a call of ``n``: in bfloat16 a partial
        call is padded to the next power of two (at most the batch), so that few shapes need
        the numeric check (TensorFlow's bug has depended on the batch size)."""
        if self.precision != "bfloat16":
            return n
        return min(self.batch_size, 1 << max(int(n) - 1, 0).bit_length())

    def _padded_low_call(self, x: np.ndarray) -> Any:
        n = len(x)
        size = self.call_size(n)
        flags = self.flags(size)
        if not flags.any():  # float32 everywhere: no padding needed
            return self._call_low(x, flags)
        if size > n:
            x = np.concatenate([x, np.zeros((size - n, *x.shape[1:]), np.float32)])
        return self._call_low(x, flags)

    def flags(self, n: int) -> np.ndarray:
        """Which layers run in bfloat16 in a call of ``n`` windows (checked once per ``n``)."""
        flags = self._flags.get(n)
        if flags is None:
            if not any(self.convolutions.shapes):  # the layer shapes are known once traced
                self._call_low.get_concrete_function()
            flags = self._flags[n] = self.convolutions.flags(n)
        return flags

    def low_precision_layers(self, n: int | None = None) -> tuple[int, int]:
        """``(layers in bfloat16, dilated layers)`` for calls of ``n`` windows (default: a
        full batch)."""
        if self.precision != "bfloat16":
            return 0, self.convolutions.count()
        flags = self.flags(self.call_size(int(n or self.batch_size)))
        return int(flags.sum()), len(flags)

    @property
    def model(self) -> Any:
        """The model (None once it has been garbage-collected)."""
        return self._model()

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        """``[n, W, C]`` -> ``[n, W, K]`` (n <= batch_size)."""
        n = len(windows)
        out = self._call(np.ascontiguousarray(windows, dtype=np.float32)).numpy()
        if out.shape[1] != self.plan.window:
            raise DasError(f"the model returns {out.shape[1]} steps for {self.plan.window} "
                           "samples: models with upsample=False cannot predict per sample")
        return out[:n]


#: Runners per live model object: ``{model: {(plan, batch_size, precision): ModelRunner}}``.
#: Weak keys, so a model that is no longer used takes its runners (and their traced calls) with
#: it.
_RUNNERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def cached_runner(model: Any, plan: WindowPlan, batch: int,
                  precision: str = "float32") -> ModelRunner:
    """The :class:`ModelRunner` of ``model`` for this geometry and precision (made once)."""
    from ..nn.precision import resolve_precision

    key = (plan, int(batch), resolve_precision(precision))
    runners = _RUNNERS.setdefault(model, {})
    runner = runners.get(key)
    if runner is None:
        runner = runners[key] = ModelRunner(model, plan, batch, key[2])
    return runner


def make_runner(model: Any, params: dict[str, Any], batch_size: int | None = None,
                window: int | None = None, training_windows: bool = True,
                precision: str = "float32") -> ModelRunner:
    """A (cached) :class:`ModelRunner` for ``model`` and the geometry in ``params``.

    ``batch_size`` counts training chunks per model call (``batch_size x nb_hist`` input
    samples, :func:`~napari_das.core.inference.windows.samples_per_call`); the runner calls the
    model on as many whole windows as that holds.  ``precision``: see :class:`ModelRunner`.
    """
    pad = params.get("data_padding")
    network = network_from_params(params)
    samples = samples_per_call(network, batch_size)
    plan = window_plan(network, window, None if pad is None else int(pad), training_windows,
                       samples)
    batch = windows_per_call(plan, samples)
    return cached_runner(model, plan, batch, precision)


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
