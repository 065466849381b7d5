"""Decimated probability traces: what the viewer draws under the spectrogram.

The network gives a probability per class and sample (an hour at 32 kHz with 40 classes is
18 GB as float32).  :class:`TraceRecorder` receives the probability blocks while a recording is
predicted (the ``sink`` of :func:`~napari_das.core.inference.predict.predict_file`) and keeps,
for every bin of ``factor`` samples, the maximum of each class (so a click one sample long still
shows) as ``uint8`` (probability x 255).  The bin is at least a millisecond
(:data:`MAX_RATE`) and the whole trace at most :data:`MAX_VALUES` values, so memory is bounded
whatever the recording's length (an hour with 40 classes: 16 MB).

>>> rec = TraceRecorder(frames=10, samplerate=4.0, class_names=["noise", "a"], max_rate=2.0)
>>> rec.factor, rec.rate
(2, 2.0)
>>> import numpy as np
>>> rec.push(0, np.array([[1, 0], [0.5, 0.5], [0, 1], [1, 0]], np.float32))
>>> rec.push(4, np.array([[1, 0]] * 6, np.float32))
>>> t = rec.result()
>>> t.values[:, 1].tolist(), t.seconds(1), t.duration
([128, 255, 0, 0, 0], 0.5, 2.5)
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import DasError

#: Highest rate of a trace (bins per second): a bin is at least a millisecond.
MAX_RATE = 1000.0
#: Largest trace (bins x classes, one byte each).
MAX_VALUES = 16_000_000


@dataclass
class ProbabilityTrace:
    """Per-class maxima of the probabilities over bins of ``factor`` samples.

    ``values`` is uint8 ``[bins, classes]`` (probability x 255, rounded); bin ``i`` covers
    seconds ``offset + i / rate`` to ``offset + (i + 1) / rate``.
    """

    values: np.ndarray
    rate: float
    class_names: list[str]
    class_types: list[str] = field(default_factory=list)
    offset: float = 0.0

    @property
    def duration(self) -> float:
        return len(self.values) / self.rate

    def seconds(self, index: int) -> float:
        return self.offset + index / self.rate

    def probabilities(self, name: str) -> np.ndarray:
        """The trace of one class as floats in [0, 1]."""
        return self.values[:, self.class_names.index(name)] / 255.0

    def columns(self, t0: float, t1: float, width: int) -> np.ndarray:
        """Maximum of each class in each of ``width`` equal columns of ``[t0, t1]`` (float
        ``[width, classes]`` in [0, 1], NaN where the trace has no bin)."""
        out = np.full((width, self.values.shape[1]), np.nan)
        if width < 1 or not t1 > t0 or not len(self.values):
            return out
        edges = (t0 + (t1 - t0) * np.arange(width + 1) / width - self.offset) * self.rate
        first = np.clip(np.floor(edges[:-1]).astype(np.int64), 0, len(self.values))
        last = np.clip(np.ceil(edges[1:]).astype(np.int64), 0, len(self.values))
        last = np.maximum(last, np.minimum(first + 1, len(self.values)))
        has = (edges[1:] > 0) & (edges[:-1] < len(self.values)) & (last > first)
        if has.any():
            starts, end = first[has], int(last[has][-1])
            # each column runs to the next one's start (the last to its own end); columns
            # narrower than a bin (zoomed in) share its value
            if end < len(self.values):
                maxima = np.maximum.reduceat(self.values, np.r_[starts, end], axis=0)[:-1]
            else:
                maxima = np.maximum.reduceat(self.values, starts, axis=0)
            out[has] = maxima / 255.0
        return out

    def patched(self, other: ProbabilityTrace) -> ProbabilityTrace:
        """This trace with the time range of ``other`` (a prediction of part of the recording)
        replaced by it; ``other`` alone when the two do not share a rate and classes."""
        if (abs(other.rate - self.rate) > 1e-9 * self.rate or other.class_names !=
                self.class_names):
            return other
        start = int(round((other.offset - self.offset) * self.rate))
        if start < 0 or start + len(other.values) > len(self.values):
            return other
        values = self.values.copy()
        values[start: start + len(other.values)] = other.values
        return ProbabilityTrace(values, self.rate, self.class_names, self.class_types,
                                self.offset)


class TraceRecorder:
    """Builds a :class:`ProbabilityTrace` from probability blocks (any order, any sizes)."""

    def __init__(self, frames: int, samplerate: float, class_names, class_types=(),
                 max_rate: float = MAX_RATE, max_values: int = MAX_VALUES):
        self.frames, self.samplerate = int(frames), float(samplerate)
        self.class_names, self.class_types = [str(n) for n in class_names], list(class_types)
        classes = max(1, len(self.class_names))
        self.factor = max(1, math.ceil(self.samplerate / max_rate - 1e-9),
                          math.ceil(self.frames * classes / max_values))
        self.rate = self.samplerate / self.factor
        self.values = np.zeros((max(1, -(-self.frames // self.factor)), classes), np.uint8)

    def push(self, start: int, block: np.ndarray) -> None:
        block = np.asarray(block)
        if not len(block):
            return
        if block.shape[1] != self.values.shape[1]:
            raise DasError(f"the probabilities have {block.shape[1]} classes, the trace "
                           f"{self.values.shape[1]}")
        positions = start + np.arange(len(block))
        bins = positions // self.factor
        cuts = np.flatnonzero(np.diff(bins)) + 1
        starts = np.r_[0, cuts]
        maxima = np.maximum.reduceat(block, starts, axis=0)
        scaled = np.clip(np.rint(maxima * 255.0), 0, 255).astype(np.uint8)
        index = bins[starts]
        keep = index < len(self.values)
        index, scaled = index[keep], scaled[keep]
        self.values[index] = np.maximum(self.values[index], scaled)  # bins split by blocks

    def result(self, offset: float = 0.0) -> ProbabilityTrace:
        return ProbabilityTrace(self.values, self.rate, self.class_names, self.class_types,
                                float(offset))


def write_trace(path: str | os.PathLike, trace: ProbabilityTrace) -> None:
    """Save as ``.npz`` (written next to ``path`` and renamed into place)."""
    path = os.fspath(path)
    temp = f"{path}.tmp.npz"
    try:
        np.savez(temp, values=trace.values, rate=trace.rate, offset=trace.offset,
                 class_names=np.array(trace.class_names, dtype=str),
                 class_types=np.array(trace.class_types, dtype=str))
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.remove(temp)


def read_trace(path: str | os.PathLike) -> ProbabilityTrace:
    try:
        with np.load(os.fspath(path), allow_pickle=False) as data:
            return ProbabilityTrace(np.asarray(data["values"], np.uint8), float(data["rate"]),
                                    [str(n) for n in data["class_names"]],
                                    [str(t) for t in data["class_types"]],
                                    float(data["offset"]))
    except (OSError, KeyError, ValueError) as err:
        raise DasError(f"not a probability trace ({err})", path) from None


def trace_of_file(path: str, model: Any, params: dict[str, Any], config: Any = None,
                  **kwargs: Any) -> tuple[Any, ProbabilityTrace]:
    """Predict a file and record its trace at the same time: ``(prediction, trace)``."""
    from ..io import audio
    from ..io.params import model_samplerate
    from .predict import predict_file

    info = audio.info(path)
    rate = float(info.samplerate)
    target = model_samplerate(params)
    resample = getattr(config, "resample", True) if config is not None else True
    if resample and target:
        frames = int(math.ceil(info.frames * float(target) / rate)) + 1
        rate = float(target)
    else:
        frames = int(info.frames)
    names = [str(n) for n in params.get("class_names") or []]
    recorder = TraceRecorder(frames, rate, names, params.get("class_types") or [])
    prediction = predict_file(path, model, params, config, sink=recorder.push, **kwargs)
    if abs(prediction.samplerate - rate) > 1e-6 * rate:  # never: the rate is the model's
        raise DasError(f"the prediction came at {prediction.samplerate:g} Hz, not {rate:g}")
    recorder.values = recorder.values[: max(1, -(-int(prediction.frames) // recorder.factor))]
    return prediction, recorder.result()
