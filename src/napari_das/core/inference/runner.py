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
from .windows import Reader, WindowPlan, default_batch_size, read_padded, window_plan


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

        # weak: the runner cache is keyed by the model, so a strong reference would keep it alive
        self._model = weakref.ref(model)
        self.plan = plan
        self.batch_size = int(batch_size)
        self.nb_channels = int(model.input_shape[-1])
        self.nb_classes = int(model.output_shape[-1])
        # batch axis free (one trace serves full and partial batches), window length fixed
        spec = tf.TensorSpec([None, plan.window, self.nb_channels], tf.float32)
        # autograph=False: a plain model call needs no conversion (the bench saw a 423-byte
        # autograph source file in TMPDIR; not reproduced by the test)
        model_ref = self._model
        self._call = tf.function(lambda x: model_ref()(x, training=False),
                                 input_signature=[spec], autograph=False)

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


#: Runners per live model object: ``{model: {(plan, batch_size): ModelRunner}}``.  Weak keys,
#: so a model that is no longer used takes its runners (and their traced calls) with it.
_RUNNERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def make_runner(model: Any, params: dict[str, Any], batch_size: int | None = None,
                window: int | None = None, training_windows: bool = True) -> ModelRunner:
    """A (cached) :class:`ModelRunner` for ``model`` and the geometry in ``params``."""
    pad = params.get("data_padding")
    plan = window_plan(network_from_params(params), window,
                       None if pad is None else int(pad), training_windows)
    batch = default_batch_size(plan, batch_size)
    runners = _RUNNERS.setdefault(model, {})
    runner = runners.get((plan, batch))
    if runner is None:
        runner = runners[(plan, batch)] = ModelRunner(model, plan, batch)
    return runner


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
