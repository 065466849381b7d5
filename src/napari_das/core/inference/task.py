"""One recording of a batch run, as a task that runs in this process or on a Dask worker.

:func:`predict_recording` loads the model once per process (:func:`cached_model`, keyed by the
model's save name and the digest of its files), predicts the recording and writes every output
to a *staged* name next to its final one (``.<name>.<token>.part``).  It never raises: the
result says ``done`` (with the staged files) or ``failed`` (with a one-line error).  Only the
run's driver renames staged files into place (:func:`commit_staged`), after recording in the
run manifest that it is about to, so an output exists under its final name only once it is
whole, and a task that dies or runs twice leaves nothing but staged files, which
:func:`remove_staged` clears.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_MODELS: OrderedDict = OrderedDict()
#: How many times this process loaded each model (tests check "once per worker").
LOADS: dict[str, int] = {}
KEEP_MODELS = 2


def cached_model(stem: str, digest: str) -> tuple[Any, dict]:
    """``(model, params)`` of ``stem``, loaded once per process and kept (the last two)."""
    key = (stem, digest)
    if key not in _MODELS:
        from ..nn.model import load_model_and_params

        _MODELS[key] = load_model_and_params(stem)
        LOADS[digest] = LOADS.get(digest, 0) + 1
        while len(_MODELS) > KEEP_MODELS:
            _MODELS.popitem(last=False)
    _MODELS.move_to_end(key)
    return _MODELS[key]


def staged_path(final: Path, token: str) -> Path:
    return final.with_name(f".{final.name}.{token}.part")


def staged_final_name(name: str) -> str | None:
    """The output a staged file belongs to (``.a.csv.TOKEN.part`` and the temporaries written
    on the way, ``..a.csv.TOKEN.part.RANDOM.tmp``, give ``a.csv``), else None."""
    if name.startswith("..") and ".part." in name and name.endswith(".tmp"):
        name = name[2:].split(".part.", 1)[0]
    elif name.startswith(".") and name.endswith(".part"):
        name = name[1: -len(".part")]
    else:
        return None
    final, _, token = name.rpartition(".")
    return final if final and token else None


def remove_staged(finals: list[Path]) -> int:
    """Delete staged files (and their temporaries) of these outputs left by dead tasks.

    Each folder is listed once, so a run over thousands of recordings in one folder stays cheap.
    """
    by_folder: dict[str, set[str]] = {}
    for final in finals:
        by_folder.setdefault(os.fspath(final.parent), set()).add(final.name)
    removed = 0
    for folder, names in by_folder.items():
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith(".") and staged_final_name(entry.name) in names:
                try:
                    os.remove(entry.path)
                    removed += 1
                except OSError:
                    pass
    return removed


def one_line(err: BaseException) -> str:
    """An exception as one line (a DasError's own text; else its type and message)."""
    from ..errors import DasError

    text = str(err) if isinstance(err, DasError) else f"{type(err).__name__}: {err}"
    return " ".join(text.split())[:500]


def predict_recording(job: dict[str, Any]) -> dict[str, Any]:
    """Predict one recording into staged files; never raises.

    ``job``: ``recording``, ``targets`` (``{"csv"|"h5": final path}``), ``model`` (stem),
    ``model_digest``, ``config`` (PredictionConfig as a dict).  Returns ``status``,
    ``staged`` (``{final: staged}``), ``summary``, ``error``, ``seconds``, ``pid``, ``loads``.
    """
    from ..config import PredictionConfig
    from ..io import audio
    from ..io.annotations import definitions_path_for, write_definitions
    from .predict import predict_file
    from .writers import lazy_writer

    started = time.perf_counter()
    token = uuid.uuid4().hex[:10]
    staged: dict[str, str] = {}
    writer = None
    result: dict[str, Any] = {"recording": job["recording"], "pid": os.getpid()}
    try:
        config = PredictionConfig.from_dict(job["config"]).validated()
        model, params = cached_model(job["model"], job["model_digest"])
        targets = {k: Path(v) for k, v in job["targets"].items()}
        for final in targets.values():
            final.parent.mkdir(parents=True, exist_ok=True)
        if "h5" in targets:
            staged[str(targets["h5"])] = str(staged_path(targets["h5"], token))
            writer = lazy_writer(Path(staged[str(targets["h5"])]),
                                 audio.info(job["recording"]), params, config)
        prediction = predict_file(job["recording"], model, params, config, sink=writer)
        if "csv" in targets:
            csv_final = targets["csv"]
            defs_final = definitions_path_for(csv_final)
            staged[str(csv_final)] = str(staged_path(csv_final, token))
            staged[str(defs_final)] = str(staged_path(defs_final, token))
            annotations = prediction.to_annotations()
            annotations.to_file(staged[str(csv_final)], overwrite=True)
            write_definitions(staged[str(defs_final)], annotations.categories)
        if writer is not None:
            writer.finish(prediction)
            writer = None
        result.update(status="done", staged=staged, summary=prediction.summary(), error="")
    except Exception as err:  # noqa: BLE001 - a bad recording is reported, the run goes on
        if writer is not None:
            writer.abort()
        for path in staged.values():
            Path(path).unlink(missing_ok=True)
        result.update(status="failed", staged={}, summary="", error=one_line(err))
    result["seconds"] = time.perf_counter() - started
    result["loads"] = LOADS.get(job["model_digest"], 0)
    return result


def commit_staged(staged: dict[str, str]) -> list[str]:
    """Rename staged outputs into place (the definitions file before its CSV); final paths."""
    order = sorted(staged, key=lambda final: final.endswith("_annotations.csv"))
    for final in order:
        os.replace(staged[final], final)
    return list(staged)
