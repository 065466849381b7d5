"""The run manifest of a batch prediction: ``<run folder>/predict_run.csv``.

One row per recording: ``recording`` (relative to the run folder), ``duration_s``, ``status``
(``pending``, ``writing``, ``done``, ``failed``), ``seconds`` (wall time of its prediction),
``error`` (one line), ``model`` (save name and a digest of its files), ``settings`` (a digest of
the prediction options and output formats), ``outputs`` (``;``-separated, relative to the run
folder) and ``finished_utc``.  It is rewritten atomically (temporary file + rename) whenever a
recording finishes, so a killed run leaves a complete manifest of what was finished.

A recording is complete when its row says ``done`` with the same ``model`` and ``settings`` and
every output it lists exists; a re-run skips it.  Outputs a row lists were written by a run, so
a re-run may replace them without ``--overwrite`` (other existing files are never replaced).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from ..errors import DasError
from ..io.files import atomic_write_text

MANIFEST_NAME = "predict_run.csv"
STATUSES = ("pending", "writing", "done", "failed")


@dataclass
class RunRow:
    recording: str
    duration_s: float | None = None
    status: str = "pending"
    seconds: float | None = None
    error: str = ""
    model: str = ""
    settings: str = ""
    outputs: str = ""
    finished_utc: str = ""

    @property
    def output_list(self) -> list[str]:
        return [o for o in self.outputs.split(";") if o]


COLUMNS = [f.name for f in fields(RunRow)]


def _number(text: str) -> float | None:
    try:
        return float(text) if text not in ("", None) else None
    except ValueError:
        return None


class RunManifest:
    """The rows of ``predict_run.csv`` in order, keyed by recording."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.path = self.folder / MANIFEST_NAME
        self.rows: dict[str, RunRow] = {}

    @classmethod
    def load(cls, folder: Path) -> RunManifest:
        """The manifest in ``folder`` (empty if there is none)."""
        manifest = cls(folder)
        if not manifest.path.exists():
            return manifest
        try:
            with open(manifest.path, newline="", encoding="utf-8") as file:
                reader = csv.DictReader(file)
                if reader.fieldnames is None or "recording" not in reader.fieldnames or \
                        "status" not in reader.fieldnames:
                    raise DasError("not a run manifest (no recording/status columns): move it "
                                   "away or choose another --save-filename", manifest.path)
                for raw in reader:
                    row = RunRow(**{k: raw.get(k) or "" for k in COLUMNS})
                    row.duration_s = _number(raw.get("duration_s", ""))
                    row.seconds = _number(raw.get("seconds", ""))
                    manifest.rows[row.recording] = row
        except (OSError, UnicodeDecodeError, csv.Error) as err:
            raise DasError(f"cannot read the run manifest ({err}): move it away to start "
                           "afresh", manifest.path) from None
        return manifest

    def row(self, recording: str) -> RunRow:
        if recording not in self.rows:
            self.rows[recording] = RunRow(recording)
        return self.rows[recording]

    def save(self) -> None:
        """Rewrite the file atomically."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in self.rows.values():
            values = asdict(row)
            for key in ("duration_s", "seconds"):
                values[key] = "" if values[key] is None else f"{values[key]:.3f}"
            values["error"] = " ".join(str(values["error"]).split())
            writer.writerow(values)
        atomic_write_text(self.path, buffer.getvalue())

    def finish(self, recording: str, status: str, **values: Any) -> RunRow:
        """Set a row's status (and other columns) with the time now."""
        row = self.row(recording)
        row.status = status
        for key, value in values.items():
            setattr(row, key, value)
        row.finished_utc = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) \
            if status in ("done", "failed") else ""
        return row


def model_digest(stem: str) -> str:
    """``<resolved stem> sha256:<12 hex>`` over the model's params and weight files."""
    from ..io.files import result_paths

    paths = result_paths(stem)
    digest = hashlib.sha256()
    for key in ("params", "model_keras", "model"):
        path = Path(paths[key])
        if path.is_file():
            digest.update(key.encode())
            with open(path, "rb") as file:
                for block in iter(lambda f=file: f.read(1 << 20), b""):
                    digest.update(block)
    return f"{os.path.abspath(paths['params'])[: -len('_params.yaml')]} " \
           f"sha256:{digest.hexdigest()[:12]}"


def settings_digest(config: Any, save_format: str, save_probabilities: bool) -> str:
    """A digest of everything besides the model that changes the outputs."""
    config = config.to_dict()
    if config.get("precision") == "float32":  # the default: runs from before it existed resume
        del config["precision"]
    values = {"config": config, "save_format": save_format,
              "probabilities": bool(save_probabilities)}
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()) \
        .hexdigest()[:12]
