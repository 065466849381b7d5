"""Prediction: class probabilities for every sample of arbitrarily long recordings.

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

The model call is a ``tf.function`` with a fixed window length ``[None, W, C]``, so it is traced
once per model and window.

Public functions
----------------
:func:`predict_probabilities`
    ``[T, C]`` array -> ``[T, K]`` probabilities.
:func:`iter_probabilities`
    Streams ``(start, probabilities)`` blocks from any random-access source (memory bounded).
:func:`predict` / :func:`predict_file`
    Probabilities + events + segments (:class:`~napari_das.core.post.stream.Prediction`).
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

from ..config import NetworkConfig
from ..errors import DasError
from ..progress import check_stop, emit

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


def window_plan(network: NetworkConfig, window: int | None = None,
                data_padding: int | None = None, training_windows: bool = False) -> WindowPlan:
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
        # autograph=False: a plain model call needs no conversion (the bench saw a 423-byte
        # autograph source file in TMPDIR; not reproduced by the test)
        self._call = tf.function(lambda x: model(x, training=False), input_signature=[spec],
                                 autograph=False)

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
                          window: int | None = None,
                          training_windows: bool = False) -> np.ndarray:
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
    training_windows : bool
        Run a short-chunk network on its training chunks (see :func:`window_plan`).

    Returns
    -------
    np.ndarray
        float32 ``[T, K]``.
    """
    x = np.asarray(x, np.float32)
    if x.ndim == 1:
        x = x[:, None]
    out = np.empty((len(x), int(model.output_shape[-1])), np.float32)
    for start, block in probability_blocks(model, params, lambda a, b: x[a:b], len(x),
                                           batch_size, window, training_windows,
                                           progress=progress, stop=stop):
        out[start: start + len(block)] = block
    emit(progress, "done", task="predict", current=len(x), total=len(x))
    return out


def probability_blocks(model: Any, params: dict[str, Any], read: Reader, frames: int,
                       batch_size: int | None = None, window: int | None = None,
                       training_windows: bool = False, progress=None,
                       stop=None) -> Iterator[tuple[int, np.ndarray]]:
    """``(start, probabilities)`` blocks tiling ``[0, frames)``: our windows, or DAS's chunk
    layout for a model imported from DAS (:mod:`napari_das.core.inference.das_layout`)."""
    from .das_layout import das_blocks, uses_das_layout

    if uses_das_layout(params):
        return das_blocks(model, params, read, frames, batch_size, progress=progress, stop=stop)
    runner = make_runner(model, params, batch_size=batch_size, window=window,
                         training_windows=training_windows)
    return iter_probabilities(runner, read, frames, progress=progress, stop=stop)


_RUNNERS: dict[tuple, ModelRunner] = {}


def make_runner(model: Any, params: dict[str, Any], batch_size: int | None = None,
                window: int | None = None, training_windows: bool = False) -> ModelRunner:
    """A (cached) :class:`ModelRunner` for ``model`` and the geometry in ``params``."""
    pad = params.get("data_padding")
    plan = window_plan(network_from_params(params), window,
                       None if pad is None else int(pad), training_windows)
    batch = default_batch_size(plan, batch_size)
    key = (id(model), plan, batch)
    runner = _RUNNERS.get(key)
    if runner is None or runner.model is not model:
        if len(_RUNNERS) > 8:
            _RUNNERS.clear()
        runner = _RUNNERS[key] = ModelRunner(model, plan, batch)
    return runner


# ------------------------------------------------------------------------------------ preprocessing
def _resample_ratio(fs_in: float, fs_out: float) -> tuple[int, int]:
    """(up, down) as :func:`napari_das.core.io.audio.resample` reduces them."""
    from fractions import Fraction

    ratio = Fraction(repr(float(fs_out))) / Fraction(repr(float(fs_in)))
    if max(ratio.numerator, ratio.denominator) > 100_000:
        ratio = ratio.limit_denominator(1000)
    return ratio.numerator, ratio.denominator


def _bandpass_sos(samplerate: float, low: float | None, high: float | None) -> np.ndarray | None:
    """5th-order Butterworth band-pass (second-order sections), cut-offs clipped below fs/2."""
    from scipy.signal import butter

    if low is None and high is None:
        return None
    nyquist = samplerate / 2
    low = 1.0 if not low else float(low)
    high = nyquist - 1 if high is None else min(float(high), nyquist * 0.999)
    if not 0 < low < high:
        raise DasError(f"band-pass {low:g}-{high:g} Hz is empty at {samplerate:g} Hz: "
                       "choose cut-offs between 0 and half the sample rate")
    return butter(5, [low, high], btype="bandpass", fs=samplerate, output="sos")


def _impulse_decay(sos: np.ndarray, limit: int) -> int:
    """Samples until the filter's impulse response falls below 1e-7 of its peak (<= limit)."""
    from scipy.signal import sosfilt

    impulse = np.zeros(limit)
    impulse[0] = 1.0
    h = np.abs(sosfilt(sos, impulse))
    above = np.flatnonzero(h > 1e-7 * h.max())
    return int(above[-1]) + 1 if above.size else 1


def preprocessed_reader(read: Reader, frames: int, samplerate: float,
                        target_samplerate: float | None = None, bandpass_low: float | None = None,
                        bandpass_high: float | None = None) -> tuple[Reader, int, float]:
    """Random-access reader of band-passed and resampled audio, computed block by block.

    Band-pass: zero-phase (forward-backward) 5th-order Butterworth; each block is filtered with
    extra context until the impulse response has decayed (1e-7), so blocks match a whole-file
    filter to float precision.  Resampling: polyphase, blocks start at multiples of the
    decimation factor with the filter's half length as context, so it is exact.

    Returns
    -------
    read, frames, samplerate
        Reader in output samples, the output length and rate.
    """
    from scipy.signal import resample_poly, sosfiltfilt

    sos = _bandpass_sos(samplerate, bandpass_low, bandpass_high)
    if sos is not None:
        context = _impulse_decay(sos, limit=int(min(max(frames, 1), 30 * samplerate) + 1))
        raw = read

        def read(a: int, b: int) -> np.ndarray:  # noqa: F811 - wraps the raw reader
            lo, hi = max(a - context, 0), min(b + context, frames)
            chunk = np.asarray(raw(lo, hi), np.float64)
            if chunk.ndim == 1:
                chunk = chunk[:, None]
            if len(chunk) > 3 * (2 * len(sos) + 1):
                chunk = sosfiltfilt(sos, chunk, axis=0)
            return chunk[a - lo: b - lo].astype(np.float32)

    if target_samplerate is None or float(target_samplerate) == float(samplerate):
        return read, frames, float(samplerate)
    up, down = _resample_ratio(samplerate, target_samplerate)
    out_frames = int(math.ceil(frames * up / down))
    context = int(math.ceil(10 * max(up, down) / up)) + 2
    source = read

    def resampled(a: int, b: int) -> np.ndarray:
        lo = max(0, (a * down // up - context) // down * down)
        hi = min(frames, int(math.ceil(b * down / up)) + context)
        chunk = np.asarray(source(lo, hi), np.float32)
        if chunk.ndim == 1:
            chunk = chunk[:, None]
        out = resample_poly(chunk, up, down, axis=0).astype(np.float32)
        offset = lo * up // down
        return out[a - offset: b - offset]

    return resampled, out_frames, float(target_samplerate)


def noise_matched_reader(read: Reader, frames: int, samplerate: float,
                         params: dict[str, Any]) -> Reader:
    """``read`` scaled so the recording's noise level matches the training audio's.

    Unchanged when the params record no ``noise_level`` (DAS models) or the levels already
    match; see :mod:`napari_das.core.data.levels`.
    """
    from ..data.levels import matching_gain, recording_noise_level

    training_level = params.get("noise_level")
    if not training_level or frames <= 0:
        return read
    gain = matching_gain(training_level, recording_noise_level(read, frames, samplerate))
    if gain is None:
        return read
    log.info("noise level matched to the training audio: gain %s",
             ", ".join(f"{g:.3g}" for g in gain))
    gain32 = gain.astype(np.float32)

    def scaled(a: int, b: int) -> np.ndarray:
        chunk = np.asarray(read(a, b), np.float32)
        return chunk * gain32 if chunk.ndim == 2 else chunk * gain32[0]

    return scaled


# ------------------------------------------------------------------------------------ models
def model_samplerate(params: dict[str, Any]) -> float | None:
    """The audio rate the model was trained at (``samplerate_x_Hz``), None if unknown."""
    for key in ("samplerate_x_Hz", "samplerate", "samplerate_Hz"):
        value = params.get(key)
        if value:
            return float(value)
    return None


def class_info(params: dict[str, Any], nb_classes: int | None = None) -> tuple[list, list]:
    """``(class_names, class_types)`` from params (DAS defaults: noise first, segments)."""
    names = [str(n) for n in params.get("class_names") or []]
    types = [str(t) for t in params.get("class_types") or []]
    if not names and nb_classes:
        names = ["noise"] + [f"class{k}" for k in range(1, nb_classes)]
    if len(types) != len(names):
        types = ["segment"] * len(names)
    return names, types


def load_model_and_params(model_stem: str) -> tuple[Any, dict[str, Any]]:
    """Load ``<stem>_model.keras|h5`` and ``<stem>_params.yaml`` and check they belong together.

    Raises
    ------
    DasError
        Missing files, an unloadable model, or a model whose class/channel count differs from
        the params.
    """
    from ..io.params import load_params, strip_result_suffix
    from ..nn.das_import import is_das_stem
    from ..nn.model import load_model

    stem = strip_result_suffix(str(model_stem))
    params = load_params(stem)
    if is_das_stem(stem):  # a DAS model: rebuilt from its params, never deserialised
        from ..nn.das_import import load_das_model

        model, params = load_das_model(stem, params)
    else:
        model = load_model(stem)
    nb_classes = int(model.output_shape[-1])
    names = params.get("class_names") or []
    if names and len(names) != nb_classes:
        raise DasError(f"the model predicts {nb_classes} classes but its params list "
                       f"{len(names)} ({', '.join(map(str, names))}): the _model and _params "
                       "files come from different trainings", stem)
    channels = params.get("nb_channels")
    if channels and int(channels) != int(model.input_shape[-1]):
        raise DasError(f"the model takes {model.input_shape[-1]} channel(s) but its params say "
                       f"{channels}: the _model and _params files do not belong together", stem)
    network_from_params(params)  # architecture keys readable
    return model, params


def _postprocessor(params: dict[str, Any], config: Any, samplerate: float,
                   nb_classes: int) -> Any:
    from ..post.stream import PostProcessor

    names, types = class_info(params, nb_classes)
    fillgap, minlen = config.segment_fillgap, config.segment_minlen
    optimized = params.get("post_opt") or {}
    if config.segment_use_optimized and isinstance(optimized, dict):
        if fillgap is None and optimized.get("gap_dur") is not None:
            fillgap = float(optimized["gap_dur"])
        if minlen is None and optimized.get("min_len") is not None:
            minlen = float(optimized["min_len"])
    return PostProcessor(samplerate, names, types, event_thres=config.event_thres,
                         event_dist=config.event_dist, event_dist_min=config.event_dist_min,
                         event_dist_max=config.event_dist_max,
                         segment_thres=config.segment_thres, segment_fillgap=fillgap,
                         segment_minlen=minlen)


def predict_stream(model: Any, params: dict[str, Any], read: Reader, frames: int,
                   samplerate: float, config: Any = None, keep_probabilities: bool = True,
                   sink: Callable[[int, np.ndarray], None] | None = None, progress=None,
                   stop=None, window: int | None = None) -> Any:
    """Predict a recording given as a random-access reader (the common path of all APIs).

    ``sink(start, block)`` receives every probability block (e.g. to write them to a file);
    with ``keep_probabilities=False`` they are not kept, so memory does not grow with the
    recording's length (beyond the events, segments and a song bout in progress).
    """
    from ..config import PredictionConfig
    from ..post.stream import Prediction

    config = (config or PredictionConfig()).validated()
    target = model_samplerate(params) if config.resample else None
    if not config.resample and model_samplerate(params) and \
            abs(model_samplerate(params) - samplerate) > 1e-6 * samplerate:
        raise DasError(f"the audio is at {samplerate:g} Hz but the model was trained at "
                       f"{model_samplerate(params):g} Hz: allow resampling (--resample)")
    read, frames, rate = preprocessed_reader(read, frames, samplerate, target,
                                             config.bandpass_low_freq, config.bandpass_up_freq)
    if config.match_noise:
        read = noise_matched_reader(read, frames, rate, params)
    nb_classes = int(model.output_shape[-1])
    post = _postprocessor(params, config, rate, nb_classes)
    kept = np.empty((frames, nb_classes), np.float32) if keep_probabilities else None
    for start, block in probability_blocks(model, params, read, frames, config.batch_size, window,
                                           config.training_windows, progress=progress,
                                           stop=stop):
        post.push(start, block)
        if kept is not None:
            kept[start: start + len(block)] = block
        if sink is not None:
            sink(start, block)
    events, segments = post.finish()
    return Prediction(events, segments, kept, rate, post.class_names, post.class_types, frames)


def predict(x: np.ndarray, samplerate: float, model: Any, config: Any = None,
            params: dict[str, Any] | None = None, progress=None, stop=None) -> Any:
    """Predict events, segments and probabilities for audio in memory (no files written).

    Parameters
    ----------
    x : np.ndarray
        Audio ``[T, C]`` or ``[T]``.
    samplerate : float
        Rate of ``x`` in Hz.
    model : str or keras.Model or (keras.Model, dict)
        A model save name (stem), or a loaded model with ``params``, or a ``(model, params)``
        pair.
    config : PredictionConfig, optional
        Thresholds, post-processing, band-pass, resampling, batch size.

    Returns
    -------
    Prediction
        ``.events``, ``.segments``, ``.probabilities`` ``[T', K]`` and ``.to_annotations()``.
    """
    if isinstance(model, tuple):
        model, params = model
    elif isinstance(model, str) or hasattr(model, "__fspath__"):
        model, params = load_model_and_params(str(model))
    if params is None:
        raise DasError("predict needs the model's params (pass model=(model, params) or a "
                       "model save name)")
    x = np.asarray(x, np.float32)
    if x.ndim == 1:
        x = x[:, None]
    return predict_stream(model, params, lambda a, b: x[a:b], len(x), float(samplerate), config,
                          progress=progress, stop=stop)


def predict_file(path: str, model: Any, params: dict[str, Any], config: Any = None,
                 keep_probabilities: bool = False, sink=None, progress=None, stop=None) -> Any:
    """Predict an audio file, streamed from disk (any format :mod:`core.audio` reads)."""
    from ..io import audio

    info = audio.info(path)
    return predict_stream(model, params, lambda a, b: audio.read(path, a, b)[0], info.frames,
                          info.samplerate, config, keep_probabilities=keep_probabilities,
                          sink=sink, progress=progress, stop=stop)


def predict_paths(path: str, model_stem: str, config: Any = None, save_format: str = "csv",
                  save_filename: str | None = None, save_probabilities: bool = False,
                  overwrite: bool = False, progress=None, stop=None) -> Any:
    """The ``das predict`` command; see :func:`napari_das.core.inference.files.predict_paths`."""
    from .files import predict_paths as run

    return run(path, model_stem, config, save_format=save_format, save_filename=save_filename,
               save_probabilities=save_probabilities, overwrite=overwrite, progress=progress,
               stop=stop)
