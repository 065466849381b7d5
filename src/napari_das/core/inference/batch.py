"""Batch prediction as a resumable run (``das predict FOLDER|GLOB|LIST``).

The driver (this process) decides what to do from the run manifest
(:mod:`.run_manifest`), probes every recording's duration, hands the recordings to
:func:`.task.predict_recording` (here, one after the other, or on Dask workers through
:mod:`.cluster`) and commits each result as it arrives: the manifest row becomes ``writing``
(listing the outputs), the staged files are renamed into place, the row becomes ``done``.  A
recording that fails is recorded with its one-line error and the run goes on.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DasError
from ..io import audio
from ..io.annotations import definitions_path_for
from ..io.params import load_params
from ..progress import check_stop, emit
from .run_manifest import RunManifest, model_digest, settings_digest
from .sources import Sources, output_paths, relative_name
from .task import cached_model, commit_staged, predict_recording, remove_staged

log = logging.getLogger(__name__)


@dataclass
class BatchOptions:
    """Where and how a batch run executes (``workers=0``: in this process)."""

    workers: int = 0
    scheduler: str | None = None
    threads_per_worker: int | None = None
    client: Any = None  # an existing distributed.Client (tests, notebooks)


def _run_folder(sources: Sources, save_filename: str | None) -> Path:
    folder = Path(save_filename) if save_filename else sources.root
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DasError(f"cannot create the output folder ({err.strerror}); choose another "
                       "--save-filename", folder) from None
    return folder


def _all_outputs(targets: dict[str, Path]) -> list[Path]:
    extra = [definitions_path_for(targets["csv"])] if "csv" in targets else []
    return [*targets.values(), *extra]


def plan_jobs(sources: Sources, manifest: RunManifest, model_stem: str, config: Any,
              save_format: str, save_filename: str | None, save_probabilities: bool,
              overwrite: bool, outcome: Any, file_outcome: Callable) -> list[dict[str, Any]]:
    """Jobs for the recordings still to do; skipped and refused ones go into ``outcome``."""
    model_id = model_digest(model_stem)
    settings = settings_digest(config, save_format, save_probabilities)
    jobs, claimed = [], {}
    for recording in sources.recordings:
        key = relative_name(recording, manifest.folder)
        targets = output_paths(recording, save_format, save_probabilities, save_filename,
                               True, sources.root)
        outputs = _all_outputs(targets)
        row = manifest.row(key)
        result = file_outcome(str(recording))
        outcome.files.append(result)
        listed = {str((manifest.folder / o).resolve()) for o in row.output_list}
        if not overwrite and row.status == "done" and row.model == model_id and \
                row.settings == settings and all(p.exists() for p in outputs) and \
                all(str(p.resolve()) in listed for p in outputs):
            result.status, result.seconds = "skipped", row.seconds or 0.0
            result.outputs = [str(p) for p in targets.values()]
            result.duration = row.duration_s or 0.0
            continue
        error = None
        clash = next((claimed[str(p)] for p in outputs if str(p) in claimed), None)
        existing = [str(p) for p in outputs if p.exists() and str(p.resolve()) not in listed]
        if clash is not None:
            error = f"its output {targets[next(iter(targets))]} is also the output of {clash}: " \
                    "give the recordings distinct names or --save-filename a folder"
        elif existing and not overwrite:
            error = f"output {', '.join(existing)} exists (maybe ground truth): choose " \
                    "--save-filename or pass --overwrite"
        duration = None
        if error is None:
            try:
                duration = audio.info(recording).duration
            except DasError as err:
                error = str(err) if str(recording) in str(err) else f"{recording}: {err}"
        claimed.update({str(p): str(recording) for p in outputs})
        row.model, row.settings, row.duration_s = model_id, settings, duration
        result.duration = duration or 0.0
        if error is not None:
            result.error = " ".join(error.split())
            manifest.finish(key, "failed", error=result.error, seconds=0.0, outputs="")
            continue
        if row.status != "writing":
            row.status, row.error, row.finished_utc = "pending", "", ""
        jobs.append({"recording": os.path.abspath(recording), "name": str(recording),
                     "key": key, "targets": {k: os.path.abspath(v) for k, v in targets.items()},
                     "model": os.path.abspath(model_stem),
                     "model_digest": model_id, "config": config.to_dict(),
                     "duration": duration, "index": len(outcome.files) - 1,
                     "outputs": [str(p) for p in targets.values()]})
    manifest.save()
    return jobs


def commit(manifest: RunManifest, job: dict[str, Any], result: dict[str, Any],
           file_result: Any) -> None:
    """Record one finished task: rename its staged outputs into place, then mark it done."""
    key = job["key"]
    file_result.seconds = float(result.get("seconds") or 0.0)
    if result["status"] == "done":
        finals = list(result["staged"])
        outputs = ";".join(relative_name(Path(p), manifest.folder) for p in finals)
        manifest.finish(key, "writing", outputs=outputs, error="")
        manifest.save()
        try:
            commit_staged(result["staged"])
        except OSError as err:
            result = {**result, "status": "failed",
                      "error": f"cannot move the outputs into place ({err})"}
        else:
            manifest.finish(key, "done", seconds=file_result.seconds, outputs=outputs)
            file_result.outputs = [str(p) for p in job["outputs"]]
            file_result.summary = result.get("summary", "")
            file_result.status = "done"
    if result["status"] != "done":
        remove_staged([Path(p) for p in result.get("staged", {})])
        error = result["error"]
        name = job["name"]
        error = error if name in error or job["recording"] in error else f"{name}: {error}"
        file_result.error, file_result.status = error, "failed"
        manifest.finish(key, "failed", seconds=file_result.seconds, error=error, outputs="")
        log.error("%s", error)
    manifest.save()


def _in_process(jobs: list[dict[str, Any]], stop=None) -> Iterator[tuple[dict, dict]]:
    cached_model(jobs[0]["model"], jobs[0]["model_digest"])  # model errors stop the run
    for job in jobs:
        check_stop(stop)
        yield job, predict_recording(job)


def run_batch(sources: Sources, model_stem: str, config: Any, save_format: str = "csv",
              save_filename: str | None = None, save_probabilities: bool = False,
              overwrite: bool = False, options: BatchOptions | None = None, progress=None,
              stop=None, outcome: Any = None, file_outcome: Callable | None = None) -> Any:
    """Predict every recording of ``sources`` that is not complete; returns ``outcome``."""
    options = options or BatchOptions()
    load_params(model_stem)  # a missing or unreadable model stops the run before it starts
    folder = _run_folder(sources, save_filename)
    manifest = RunManifest.load(folder)
    jobs = plan_jobs(sources, manifest, model_stem, config, save_format, save_filename,
                     save_probabilities, overwrite, outcome, file_outcome)
    outcome.manifest = str(manifest.path)
    remove_staged([Path(p) for job in jobs for p in _staged_finals(job)])
    total_s = sum(f.duration for f in outcome.files)
    done_s = sum(f.duration for f in outcome.files if f.status in ("skipped", "failed"))
    count = {"done": sum(f.status in ("skipped", "failed") for f in outcome.files)}
    n_files = len(outcome.files)

    def step(message: str = "") -> None:
        failed = sum(f.status == "failed" for f in outcome.files)
        emit(progress, "step", task="predict recordings", current=round(done_s),
             total=round(total_s), message=message or f"{count['done']}/{n_files} files"
             + (f", {failed} failed" if failed else ""),
             data={"unit": "audio_s", "files_done": count["done"], "files": n_files,
                   "failed": failed})

    emit(progress, "start", task="predict recordings", current=round(done_s),
         total=round(total_s), message=f"{len(jobs)} of {n_files} recording(s) to predict "
         f"({total_s / 3600:.2f} h of audio in all); run manifest {manifest.path}",
         data={"unit": "audio_s", "files": n_files, "todo": len(jobs)})
    step()
    started = time.perf_counter()
    if jobs:
        if options.workers or options.scheduler or options.client is not None:
            from .cluster import run_on_dask

            results = run_on_dask(jobs, options, stop=stop)
        else:
            results = _in_process(jobs, stop=stop)
        try:
            for job, result in results:
                commit(manifest, job, result, outcome.files[job["index"]])
                done_s += job["duration"] or 0.0
                count["done"] += 1
                step()
        finally:
            close = getattr(results, "close", None)
            if close is not None:
                close()
            remove_staged([Path(p) for job in jobs for p in _staged_finals(job)])
    outcome.wall_seconds = time.perf_counter() - started
    emit(progress, "done", message=outcome.format().splitlines()[-1],
         data={"outputs": [o for f in outcome.files for o in f.outputs], "ok": outcome.ok})
    return outcome


def _staged_finals(job: dict[str, Any]) -> list[str]:
    targets = {k: Path(v) for k, v in job["targets"].items()}
    return [str(p) for p in _all_outputs(targets)]
