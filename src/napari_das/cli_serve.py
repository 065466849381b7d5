"""``das serve-predict``: a prediction process that stays alive with its model loaded.

The Predict widget starts it once and sends one JSON request per line on stdin::

    {"id": 1, "path": "rec.wav", "output": "/tmp/x_annotations.csv", "model": "res/20261201",
     "config": {"event_thres": 0.5, ...}}

and reads the same ``@das {...}`` progress records as from ``das predict --progress-json``;
each request ends with a ``done`` record (``data``: ``id``, ``outputs``, ``ok``, ``summary``,
``seconds``, ``note``) or an ``error`` record (``data``: ``id``), after which the process waits
for the next request.  The output is a proposals file (annotations CSV plus a ``confidence``
column, :mod:`napari_das.core.inference.proposals`).  A request with ``"annotations":
"truth.csv"`` (and ``"tolerance"``) is also evaluated against them (``evaluation`` in the done
record, :mod:`napari_das.core.evaluation.recording`).  A request with ``"trace": "x.npz"`` also
writes the per-class probability trace, decimated to bins of at least a millisecond
(:mod:`napari_das.core.inference.trace`; ``trace`` in the done record).  TensorFlow's start-up, the model load
and the tracing of the model's function are paid by the first request only.

SIGINT stops the request in progress (an ``error`` record "stopped by request") and keeps the
process and its model, or ends an idle process at once; a ``{"quit": true}`` line or the end
of stdin ends it (without TensorFlow's slow teardown).  A recording at
another sample rate than the model's is resampled with a note (``message`` record and the done
record's ``note``), or refused in one line with ``resample`` off.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from typing import Any

from .core.errors import DasError, StopRequested
from .core.progress import Progress, StopToken


def add_serve_command(add: Any) -> None:
    """Register the subcommand (``add`` is :func:`napari_das.cli.build_parser`'s helper)."""
    p = add("serve-predict", _cmd_serve,
            "keep a model loaded and predict the recordings requested on stdin, one JSON line "
            "each (the Predict widget's warm child process)")
    p.add_argument("model", nargs="?", default=None,
                   help="model save name to load at once (requests may name another)")
    p.add_argument("--progress-json", action="store_true", default=True,
                   help=argparse.SUPPRESS)


def _print(record: Progress) -> None:
    print(record.to_json(), flush=True)


class ModelCache:
    """The loaded model of one save name, reloaded when its files change."""

    def __init__(self) -> None:
        self.stem: str | None = None
        self.stamp: tuple = ()
        self.model: Any = None
        self.params: dict[str, Any] = {}

    @staticmethod
    def _stamp(stem: str) -> tuple:
        from .core.io.files import result_paths

        paths = result_paths(stem)
        return tuple(os.stat(p).st_mtime_ns if os.path.exists(p) else 0
                     for p in (paths.get("params"), paths.get("model"),
                               paths.get("model_keras")) if p)

    def get(self, stem: str) -> tuple[Any, dict[str, Any]]:
        from .core.nn.model import load_model_and_params

        stamp = self._stamp(stem)
        if stem != self.stem or stamp != self.stamp:
            self.model, self.params = None, {}
            self.model, self.params = load_model_and_params(stem)
            self.stem, self.stamp = stem, stamp
        return self.model, self.params


def samplerate_note(path: str, params: dict[str, Any], resample: bool) -> str:
    """'' when the recording has the model's rate; else the note shown to the user (or a
    DasError when resampling is off)."""
    from .core.io import audio
    from .core.io.params import model_samplerate

    rate, target = audio.info(path).samplerate, model_samplerate(params)
    if not target or abs(rate - target) <= 1e-6 * target:
        return ""
    if not resample:
        raise DasError(f"the recording is at {rate:g} Hz but the model was trained at "
                       f"{target:g} Hz: turn resampling on or use a model of this rate", path)
    return (f"resampled from {rate:g} Hz to the model's {target:g} Hz (the model never heard "
            "this rate: check the proposals)")


def handle(request: dict[str, Any], cache: ModelCache, stop: StopToken) -> Progress:
    """Predict one request; returns its ``done`` record (raises DasError/StopRequested)."""
    from .core.config import PredictionConfig
    from .core.inference.predict import predict_file
    from .core.inference.proposals import write_proposals
    from .core.io.files import model_stem

    started = time.perf_counter()
    path, output = str(request["path"]), str(request["output"])
    model, params = cache.get(model_stem(str(request["model"])))
    config = PredictionConfig.from_dict(request.get("config") or {}).validated()
    note = samplerate_note(path, params, config.resample)
    if note:
        _print(Progress(event="message", message=note))
    truth = request.get("annotations")  # a ground-truth CSV: also evaluate
    trace_path = request.get("trace")  # the decimated probabilities for the viewer
    if trace_path:
        from .core.inference.trace import trace_of_file, write_trace

        prediction, trace = trace_of_file(path, model, params, config,
                                          keep_probabilities=bool(truth), progress=_print,
                                          stop=stop)
        write_trace(str(trace_path), trace)
    else:
        prediction = predict_file(path, model, params, config, keep_probabilities=bool(truth),
                                  progress=_print, stop=stop)
    write_proposals(output, prediction)
    data = {"id": request.get("id"), "outputs": [output], "ok": True,
            "summary": prediction.summary(), "note": note}
    if trace_path:
        data["trace"] = str(trace_path)
    if truth:
        from .core.evaluation.recording import evaluate_recording
        from .core.io.annotations import Annotations

        data["evaluation"] = evaluate_recording(
            prediction, Annotations.from_file(truth), params, config,
            float(request.get("tolerance", 0.01)))
    data["seconds"] = round(time.perf_counter() - started, 3)
    return Progress(event="done", message=prediction.summary(), data=data)


def _cmd_serve(args: argparse.Namespace) -> int:
    cache = ModelCache()
    current = {"stop": StopToken(), "busy": False}

    def request_stop(signum, frame):  # noqa: ARG001 - signal handler signature
        if not current["busy"]:  # idle: a stop ends the process at once
            sys.stdout.flush()
            os._exit(130)
        current["stop"].set()

    signal.signal(signal.SIGINT, request_stop)
    if args.model:
        from .core.io.files import model_stem

        try:
            cache.get(model_stem(args.model))
        except DasError as err:
            _print(Progress(event="error", message=" ".join(str(err).split())))
            return 2
    _print(Progress(event="message", message="ready", data={"ready": True}))
    for line in sys.stdin:
        if not line.strip():
            continue
        request_id = None
        current["stop"] = StopToken()
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise DasError("a request is a JSON object")
            if request.get("quit"):
                break
            request_id = request.get("id")
            current["busy"] = True
            _print(handle(request, cache, current["stop"]))
        except StopRequested:
            _print(Progress(event="error", message="stopped by request",
                            data={"id": request_id, "stopped": True}))
        except (DasError, KeyError, ValueError, OSError) as err:
            message = str(err) if isinstance(err, DasError) else \
                f"{type(err).__name__}: {err}"
            _print(Progress(event="error", message=" ".join(message.split()),
                            data={"id": request_id}))
        finally:
            current["busy"] = False
    # nothing is left to write; TensorFlow's teardown would keep the viewer waiting seconds
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
