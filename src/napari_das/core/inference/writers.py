"""Probability files: ``class_probabilities`` ``[T, K]`` streamed into a temporary HDF5 file,
plus class names, events and segments, renamed into place when the recording is finished."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..io.audio import resample_ratio
from ..io.files import sibling_temp_file
from ..io.params import class_info, model_samplerate


class ProbabilityWriter:
    """Streams ``[T, K]`` probabilities into ``class_probabilities`` of a temp HDF5 file."""

    def __init__(self, path: Path, frames: int, class_names: list[str], samplerate: float):
        import h5py

        self.path = path
        fd, tmp = sibling_temp_file(path)
        os.close(fd)
        self.tmp = Path(tmp)
        self.file = h5py.File(self.tmp, "w")
        self.samplerate = samplerate
        self.class_names = class_names
        self.frames = frames
        self.dataset = None

    def __call__(self, start: int, block: np.ndarray) -> None:
        if self.dataset is None:
            self.dataset = self.file.create_dataset(
                "class_probabilities", shape=(self.frames, block.shape[1]), dtype="float32",
                chunks=(min(max(self.frames, 1), 65536), block.shape[1]), compression="gzip",
                compression_opts=1)
        self.dataset[start: start + len(block)] = block

    def finish(self, prediction: Any) -> Path:
        f = self.file
        if self.dataset is None:
            f.create_dataset("class_probabilities", shape=(0, len(self.class_names)),
                             dtype="float32")
        f.attrs["samplerate_Hz"] = float(prediction.samplerate)
        f["class_names"] = np.array(prediction.class_names, dtype=object).astype("S")
        f["class_types"] = np.array(prediction.class_types, dtype=object).astype("S")
        ev, sg = prediction.events, prediction.segments
        f["events/seconds"] = np.asarray(ev.seconds, np.float64)
        f["events/names"] = np.array(list(ev.names) or [], dtype="S")
        f["events/probabilities"] = np.asarray(ev.confidence, np.float64)
        f["segments/onsets_seconds"] = np.asarray(sg.onsets_seconds, np.float64)
        f["segments/offsets_seconds"] = np.asarray(sg.offsets_seconds, np.float64)
        f["segments/names"] = np.array(list(sg.names) or [], dtype="S")
        f["segments/probabilities"] = np.asarray(sg.confidence, np.float64)
        f.close()
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        try:
            self.file.close()
        finally:
            self.tmp.unlink(missing_ok=True)


def lazy_writer(path: Path, info: Any, params: dict, config: Any) -> ProbabilityWriter:
    """A writer sized for the recording at the rate the model will see it."""
    frames = info.frames
    target = model_samplerate(params) if config.resample else None
    if target and float(target) != float(info.samplerate):
        up, down = resample_ratio(info.samplerate, target)
        frames = int(math.ceil(frames * up / down))
    names, _ = class_info(params)
    return ProbabilityWriter(path, frames, names, target or info.samplerate)
