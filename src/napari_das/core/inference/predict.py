"""Prediction of events, segments and probabilities for recordings in memory or on disk.

:func:`predict_stream` is the common path of every API: preprocessing
(:mod:`~napari_das.core.inference.preprocess`), the model runner
(:mod:`~napari_das.core.inference.runner`) on windows
(:mod:`~napari_das.core.inference.windows`) and the streaming post-processor
(:class:`~napari_das.core.post.stream.PostProcessor`).

Public functions
----------------
:func:`predict` / :func:`predict_file`
    Probabilities + events + segments (:class:`Prediction`).
:func:`predict_probabilities`
    ``[T, C]`` array -> ``[T, K]`` probabilities (no post-processing).
:func:`~napari_das.core.inference.files.predict_paths`
    The ``das predict`` command: files or folders -> annotation CSV / HDF5 files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config import PredictionConfig
from ..errors import DasError
from ..io import audio
from ..io.annotations import Annotations
from ..io.params import model_samplerate
from ..nn.model import load_model_and_params
from ..post.stream import Events, PostProcessor, Segments
from ..progress import emit
from .das_layout import das_blocks, uses_das_layout
from .preprocess import noise_matched_reader, preprocessed_reader
from .runner import iter_probabilities, make_runner
from .windows import Reader


@dataclass
class Prediction:
    """Events, segments and (optionally) per-sample probabilities of one recording.

    Attributes
    ----------
    events : Events
    segments : Segments
    probabilities : np.ndarray or None
        float32 ``[T, K]`` at :attr:`samplerate` (None when streamed without keeping them).
    samplerate : float
        Rate of the probabilities (the model's rate if the audio was resampled).
    class_names, class_types : list of str
        All classes, ``noise`` first.
    frames : int
        Samples predicted.
    """

    events: Events
    segments: Segments
    probabilities: np.ndarray | None
    samplerate: float
    class_names: list[str]
    class_types: list[str]
    frames: int = 0

    def to_annotations(self) -> Annotations:
        """DAS annotations: one row per event/segment, every song type as a category.

        ``noise`` is not a song type (no placeholder row); types without detections keep their
        category and get DAS's NaN placeholder row when written.
        """
        events = {n: [] for n, t in zip(self.class_names, self.class_types)
                  if t == "event" and n != "noise"}
        segments = {n: ([], []) for n, t in zip(self.class_names, self.class_types)
                    if t == "segment" and n != "noise"}
        for name, time in zip(self.events.names, self.events.seconds):
            events.setdefault(name, []).append(float(time))
        for name, on, off in zip(self.segments.names, self.segments.onsets_seconds,
                                 self.segments.offsets_seconds):
            segments.setdefault(name, ([], []))
            segments[name][0].append(float(on))
            segments[name][1].append(float(off))
        return Annotations.from_events_segments(events, segments)

    def summary(self) -> str:
        """One line: counts per song type."""
        counts = {}
        for name in list(self.events.names) + list(self.segments.names):
            counts[name] = counts.get(name, 0) + 1
        parts = [f"{counts[n]} {n}" for n in sorted(counts)] or ["nothing detected"]
        return ", ".join(parts)


def predict_probabilities(model: Any, x: np.ndarray, params: dict[str, Any],
                          batch_size: int | None = None, progress=None, stop=None,
                          window: int | None = None, training_windows: bool = True,
                          precision: str = "float32") -> np.ndarray:
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
    precision : str
        ``float32``, ``bfloat16`` or ``auto``: arithmetic of the dilated convolutions
        (:class:`~napari_das.core.inference.runner.ModelRunner`).

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
                                           progress=progress, stop=stop, precision=precision):
        out[start: start + len(block)] = block
    emit(progress, "done", task="predict", current=len(x), total=len(x))
    return out


def probability_blocks(model: Any, params: dict[str, Any], read: Reader, frames: int,
                       batch_size: int | None = None, window: int | None = None,
                       training_windows: bool = True, progress=None, stop=None,
                       precision: str = "float32") -> Iterator[tuple[int, np.ndarray]]:
    """``(start, probabilities)`` blocks tiling ``[0, frames)``: our windows, or DAS's chunk
    layout for a model imported from DAS (:mod:`napari_das.core.inference.das_layout`)."""
    if uses_das_layout(params):
        return das_blocks(model, params, read, frames, batch_size, progress=progress, stop=stop,
                          precision=precision)
    runner = make_runner(model, params, batch_size=batch_size, window=window,
                         training_windows=training_windows, precision=precision)
    return iter_probabilities(runner, read, frames, progress=progress, stop=stop)


def predict_stream(model: Any, params: dict[str, Any], read: Reader, frames: int,
                   samplerate: float, config: Any = None, keep_probabilities: bool = True,
                   sink: Callable[[int, np.ndarray], None] | None = None, progress=None,
                   stop=None, window: int | None = None) -> Any:
    """Predict a recording given as a random-access reader (the common path of all APIs).

    ``sink(start, block)`` receives every probability block (e.g. to write them to a file);
    with ``keep_probabilities=False`` they are not kept, so memory does not grow with the
    recording's length (beyond the events and segments found).
    """
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
    post = PostProcessor.from_params(params, config, rate, nb_classes)
    kept = np.empty((frames, nb_classes), np.float32) if keep_probabilities else None
    for start, block in probability_blocks(model, params, read, frames, config.batch_size, window,
                                           config.training_windows, progress=progress,
                                           stop=stop, precision=config.precision):
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
    """Predict an audio file, streamed from disk (any format :mod:`core.io.audio` reads).

    The file is opened once and read forward (:class:`~napari_das.core.io.audio.SequentialReader`),
    so the cost is linear in its length in every format, compressed ``.npz`` included.
    """
    with audio.SequentialReader(path) as reader:
        return predict_stream(model, params, reader, reader.frames, reader.samplerate, config,
                              keep_probabilities=keep_probabilities, sink=sink,
                              progress=progress, stop=stop)

