"""``das predict``: recordings -> annotation CSVs and probability files.

One recording is predicted here, in this process, with per-window progress (the Predict widget's
path).  A folder (optionally ``recursive``), a glob or a list file of recordings is a resumable
batch run (:mod:`.batch`, on Dask workers with :class:`~.batch.BatchOptions`).

Output names: ``<stem>_annotations.csv`` (DAS format, read back by ``make_dataset``) and, with
``--save-format h5|both`` or ``--probabilities``, ``<stem>_das.h5`` (``class_probabilities``
``[T, K]`` streamed to disk, ``class_names``, events and segments).  Existing files are never
replaced without ``overwrite`` (DAS silently overwrote the ground-truth CSV next to the audio).
A recording that cannot be read is reported and skipped; the outcome is then not ``ok``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import PredictionConfig
from ..errors import DasError, StopRequested
from ..io import audio
from ..io.annotations import definitions_path_for
from ..nn.model import load_model_and_params
from ..progress import emit
from .batch import BatchOptions, run_batch
from .predict import predict_file
from .sources import NOT_AUDIO_SUFFIXES, find_sources, list_recordings, output_paths
from .writers import ProbabilityWriter, lazy_writer

log = logging.getLogger(__name__)

__all__ = ["NOT_AUDIO_SUFFIXES", "BatchOptions", "FileOutcome", "PredictOutcome",
           "ProbabilityWriter", "list_recordings", "output_paths", "predict_paths"]


@dataclass
class FileOutcome:
    """What happened to one recording (``status``: done, skipped, failed)."""

    path: str
    outputs: list[str] = field(default_factory=list)
    summary: str = ""
    error: str | None = None
    seconds: float = 0.0
    status: str = "pending"
    duration: float = 0.0  # seconds of audio


@dataclass
class PredictOutcome:
    """Result of :func:`predict_paths`: one :class:`FileOutcome` per recording."""

    files: list[FileOutcome] = field(default_factory=list)
    manifest: str | None = None  # the run manifest of a batch run
    wall_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True if every recording was predicted and written (now or by an earlier run)."""
        return bool(self.files) and all(f.error is None for f in self.files)

    def format(self) -> str:
        """Human summary: one line per recording plus a total."""
        lines = []
        for f in self.files:
            if f.error:
                error = f.error if f.error.startswith(f.path) else f"{f.path}: {f.error}"
                lines.append(f"FAILED {error}")
            elif f.status == "skipped":
                lines.append(f"{f.path}: done earlier -> {', '.join(f.outputs)}")
            else:
                lines.append(f"{f.path}: {f.summary} -> {', '.join(f.outputs)} "
                             f"({f.seconds:.1f} s)")
        failed = sum(f.error is not None for f in self.files)
        skipped = sum(f.status == "skipped" for f in self.files)
        hours = sum(f.duration for f in self.files if f.status == "done") / 3600
        lines.append(f"predicted {len(self.files) - failed - skipped} of {len(self.files)} "
                     "recording(s)" + (f" ({hours:.2f} h of audio)" if self.manifest else "")
                     + (f", {skipped} done earlier" if skipped else "")
                     + (f", {failed} failed" if failed else "")
                     + (f"; run manifest {self.manifest}" if self.manifest else ""))
        return "\n".join(lines)


def predict_paths(path: str, model_stem: str, config: Any = None, save_format: str = "csv",
                  save_filename: str | None = None, save_probabilities: bool = False,
                  overwrite: bool = False, progress=None, stop=None, recursive: bool = False,
                  batch: BatchOptions | None = None) -> PredictOutcome:
    """Predict a recording, or run a resumable batch over many, and write the results.

    Parameters
    ----------
    path : str
        An audio file (.wav .flac .ogg .npz .h5), a folder of them, a glob pattern or a list
        file (.txt/.csv, one recording a line).
    model_stem : str
        Save name of the model (path before ``_model.h5``).
    config : PredictionConfig, optional
    save_format : {"csv", "h5", "both"}
    save_filename : str, optional
        Output file for a single recording, output folder for a batch (default: next to each
        recording).
    save_probabilities : bool
        Also write ``<stem>_das.h5`` with per-sample probabilities.
    overwrite : bool
        Replace existing output files (a batch redoes every recording).
    recursive : bool
        Descend into the sub-folders of a folder.
    batch : BatchOptions, optional
        Dask workers or scheduler for a batch (default: this process).

    Returns
    -------
    PredictOutcome
        ``.ok`` is False if any recording failed (the others are still written); a batch's
        ``.manifest`` is its ``predict_run.csv``.
    """
    if save_format not in ("csv", "h5", "both"):
        raise DasError(f"--save-format must be csv, h5 or both, not {save_format!r}")
    config = (config or PredictionConfig()).validated()
    sources = find_sources(str(path), recursive=recursive)
    if sources.kind != "file":
        return run_batch(sources, model_stem, config, save_format, save_filename,
                         save_probabilities, overwrite, batch, progress=progress, stop=stop,
                         outcome=PredictOutcome(), file_outcome=FileOutcome)
    return _predict_one(sources.recordings[0], model_stem, config, save_format, save_filename,
                        save_probabilities, overwrite, progress, stop)


def _predict_one(recording: Path, model_stem: str, config: Any, save_format: str,
                 save_filename: str | None, save_probabilities: bool, overwrite: bool,
                 progress, stop) -> PredictOutcome:
    """One recording in this process; every error is a one-line DasError naming it."""
    if save_filename:  # the output file's folder is created up front
        out_dir = Path(save_filename).parent
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise DasError(f"cannot create the output folder ({err.strerror}); choose another "
                           "--save-filename", out_dir) from None
    model, params = load_model_and_params(model_stem)
    outcome = PredictOutcome()
    result = FileOutcome(str(recording))
    outcome.files.append(result)
    targets = output_paths(recording, save_format, save_probabilities, save_filename, False)
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
        emit(progress, "message", message=f"[1/1] {recording}")
        if "h5" in targets:
            writer = lazy_writer(targets["h5"], audio.info(recording), params, config)
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
        result.summary, result.status = prediction.summary(), "done"
    except DasError as err:
        if err.path is None:
            raise DasError(str(err), recording) from err
        raise
    except StopRequested:
        raise
    except (OSError, ValueError, RuntimeError) as err:
        raise DasError(f"cannot predict ({type(err).__name__}: {err})", recording) from err
    finally:
        if writer is not None:
            writer.abort()
        result.seconds = time.perf_counter() - started
    emit(progress, "done", message=outcome.format().splitlines()[-1],
         data={"outputs": [o for f in outcome.files for o in f.outputs], "ok": outcome.ok})
    return outcome
