"""``das predict``: recordings (a file or a folder) -> annotation CSVs and probability files.

Output names: ``<stem>_annotations.csv`` (DAS format, read back by ``make_dataset``) and, with
``--save-format h5|both`` or ``--probabilities``, ``<stem>_das.h5`` (``class_probabilities``
``[T, K]`` streamed to disk, ``class_names``, events and segments).  Existing files are never
replaced without ``overwrite`` (DAS silently overwrote the ground-truth CSV next to the audio).
A recording that cannot be read is reported and skipped; the outcome is then not ``ok``.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import PredictionConfig
from ..errors import DasError, StopRequested
from ..io import audio
from ..io.annotations import definitions_path_for
from ..io.audio import AUDIO_SUFFIXES, resample_ratio
from ..io.params import class_info, model_samplerate
from ..nn.model import load_model_and_params
from ..progress import emit
from .predict import predict_file

log = logging.getLogger(__name__)

#: .h5 files in a folder that are results, not recordings.
NOT_AUDIO_SUFFIXES = ("_das.h5", "_model.h5", "_results.h5", ".weights.h5")


@dataclass
class FileOutcome:
    """What happened to one recording."""

    path: str
    outputs: list[str] = field(default_factory=list)
    summary: str = ""
    error: str | None = None
    seconds: float = 0.0


@dataclass
class PredictOutcome:
    """Result of :func:`predict_paths`: one :class:`FileOutcome` per recording."""

    files: list[FileOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True if every recording was predicted and written."""
        return bool(self.files) and all(f.error is None for f in self.files)

    def format(self) -> str:
        """Human summary: one line per recording plus a total."""
        lines = []
        for f in self.files:
            if f.error:
                error = f.error if f.error.startswith(f.path) else f"{f.path}: {f.error}"
                lines.append(f"FAILED {error}")
            else:
                lines.append(f"{f.path}: {f.summary} -> {', '.join(f.outputs)} "
                             f"({f.seconds:.1f} s)")
        failed = sum(f.error is not None for f in self.files)
        lines.append(f"predicted {len(self.files) - failed} of {len(self.files)} recording(s)"
                     + (f", {failed} failed" if failed else ""))
        return "\n".join(lines)


def list_recordings(folder: Path) -> list[Path]:
    """Audio files of every supported format in ``folder`` (not recursive, sorted)."""
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
                  and not p.name.endswith(NOT_AUDIO_SUFFIXES))


def output_paths(audio_path: Path, save_format: str, save_probabilities: bool,
                 save_filename: str | None, folder_input: bool) -> dict[str, Path]:
    """``{"csv": ..., "h5": ...}`` for one recording (keys only for what is written)."""
    stem = audio_path.stem
    base = audio_path.with_name(stem)
    if save_filename and folder_input:
        base = Path(save_filename) / stem
    elif save_filename:
        given = Path(save_filename)
        name = given.name
        for ending in ("_annotations.csv", "_das.h5", ".csv", ".h5"):
            if name.endswith(ending):
                name = name[: -len(ending)]
                break
        base = given.with_name(name)
    out = {}
    if save_format in ("csv", "both"):
        given = Path(save_filename) if save_filename and not folder_input else None
        out["csv"] = given if given is not None and given.suffix == ".csv" else \
            Path(f"{base}_annotations.csv")
    if save_format in ("h5", "both") or save_probabilities:
        given = Path(save_filename) if save_filename and not folder_input else None
        out["h5"] = given if given is not None and given.suffix == ".h5" else Path(f"{base}_das.h5")
    return out


class ProbabilityWriter:
    """Streams ``[T, K]`` probabilities into ``class_probabilities`` of a temp HDF5 file."""

    def __init__(self, path: Path, frames: int, class_names: list[str], samplerate: float):
        import h5py

        self.path = path
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
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


def predict_paths(path: str, model_stem: str, config: Any = None, save_format: str = "csv",
                  save_filename: str | None = None, save_probabilities: bool = False,
                  overwrite: bool = False, progress=None, stop=None) -> PredictOutcome:
    """Predict a recording or every recording in a folder and write the results.

    Parameters
    ----------
    path : str
        An audio file or a folder of them (.wav .flac .ogg .npz .h5).
    model_stem : str
        Save name of the model (path before ``_model.h5``).
    config : PredictionConfig, optional
    save_format : {"csv", "h5", "both"}
    save_filename : str, optional
        Output file for a single recording, output folder for a folder.
    save_probabilities : bool
        Also write ``<stem>_das.h5`` with per-sample probabilities.
    overwrite : bool
        Replace existing output files.

    Returns
    -------
    PredictOutcome
        ``.ok`` is False if any recording failed (the others are still written).
    """
    if save_format not in ("csv", "h5", "both"):
        raise DasError(f"--save-format must be csv, h5 or both, not {save_format!r}")
    config = (config or PredictionConfig()).validated()
    source = Path(path)
    if not source.exists():
        raise DasError("no such file or folder: give a recording or a folder of recordings",
                       source)
    folder_input = source.is_dir()
    recordings = list_recordings(source) if folder_input else [source]
    if not recordings:
        raise DasError("no recordings (.wav .flac .ogg .npz .h5) in this folder", source)
    if save_filename:  # the output folder (or the output file's folder) is created up front
        out_dir = Path(save_filename) if folder_input else Path(save_filename).parent
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise DasError(f"cannot create the output folder ({err.strerror}); choose another "
                           "--save-filename", out_dir) from None
    model, params = load_model_and_params(model_stem)
    outcome = PredictOutcome()
    for number, recording in enumerate(recordings, 1):
        result = FileOutcome(str(recording))
        outcome.files.append(result)
        targets = output_paths(recording, save_format, save_probabilities, save_filename,
                               folder_input)
        writer = None
        started = time.perf_counter()
        try:
            # the definitions file keeps categories exact (a one-sample segment has start == stop
            # and would otherwise read back as an event)
            aux = [definitions_path_for(targets["csv"])] if "csv" in targets else []
            existing = [str(p) for p in [*targets.values(), *aux] if p.exists()]
            if existing and not overwrite:
                raise DasError(f"output {', '.join(existing)} exists (maybe ground truth): "
                               "choose --save-filename or pass --overwrite")
            emit(progress, "message", message=f"[{number}/{len(recordings)}] {recording}")
            if "h5" in targets:
                info = audio.info(recording)
                writer = _lazy_writer(targets["h5"], info, params, config)
            prediction = predict_file(str(recording), model, params, config,
                                      sink=writer, progress=progress, stop=stop)
            if "csv" in targets:
                prediction.to_annotations().to_file(targets["csv"], overwrite=True,
                                                    definitions=True)
                result.outputs.append(str(targets["csv"]))
            if writer is not None:
                writer.finish(prediction)
                writer = None
                result.outputs.append(str(targets["h5"]))
            result.summary = prediction.summary()
        except DasError as err:
            if not folder_input:
                if err.path is None:
                    raise DasError(str(err), recording) from err
                raise
            result.error = str(err)
            log.error("%s", err)
        except StopRequested:
            raise
        except (OSError, ValueError, RuntimeError) as err:
            if not folder_input:
                raise DasError(f"cannot predict ({type(err).__name__}: {err})", recording) from err
            result.error = f"{type(err).__name__}: {err}"
            log.error("%s: %s", recording, result.error)
        finally:
            if writer is not None:
                writer.abort()
            result.seconds = time.perf_counter() - started
    emit(progress, "done", message=outcome.format().splitlines()[-1],
         data={"outputs": [o for f in outcome.files for o in f.outputs], "ok": outcome.ok})
    return outcome


def _lazy_writer(path: Path, info: Any, params: dict, config: Any) -> ProbabilityWriter:
    """A writer sized for the recording at the rate the model will see it."""
    frames = info.frames
    target = model_samplerate(params) if config.resample else None
    if target and float(target) != float(info.samplerate):
        up, down = resample_ratio(info.samplerate, target)
        frames = int(math.ceil(frames * up / down))
    names, _ = class_info(params)
    return ProbabilityWriter(path, frames, names, target or info.samplerate)
