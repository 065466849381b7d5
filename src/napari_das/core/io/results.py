"""``<save_name>_results.h5``: the one schema of the results file of a trained model.

``das train`` writes the file anew at the end of a run; ``das evaluate`` adds its evaluation to
it, keeping what training wrote.  Keys (see also docs/ARCHITECTURE.md):

============================  =====================  ==============================================
key                           type                   written by / content
============================  =====================  ==============================================
``fit_hist/<metric>``         float64 ``[epochs]``   train: history (``loss``, ``val_loss``, ``lr``)
``y_test``, ``y_pred``        float32 ``[N, K]``     train: test targets and probabilities of
                                                     the first ``N`` test samples (chunked, gzip,
                                                     written block by block); ``N = T`` with
                                                     ``--full-test-arrays``, else at most
                                                     ``--test-arrays-mb`` (512) MB per array;
                                                     attrs ``test_samples`` (T), ``complete``
``labels_test``,              int ``[T]``            train: argmax of targets and probabilities,
``labels_pred``                                      always the whole test split
``confusion_matrix``          int ``[K, K]``         train (test split), replaced by evaluate;
                                                     rows true, columns predicted class
``precision``, ``recall``,    float64 ``[K]``        train: per class, in ``class_names`` order
``f1``
``evaluation/metrics_json``   str (JSON)             evaluate: all metrics of the test split
attr ``classification_report``  str (JSON)           train: the sample-wise report
attr ``metrics``              str (JSON)             train: the other (small) test metrics
attr ``class_names``,         str (JSON list)        train
``class_types``
attr ``samplerate_Hz``        float                  train: rate of the probabilities
attr ``params``               str (YAML)             train: the run's ``_params.yaml`` content
============================  =====================  ==============================================

Every write goes to a temporary file in the same folder that is renamed into place.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from .files import replaced_file
from .params import to_plain

#: Test arrays stored as datasets (aligned with the test audio).
TEST_ARRAYS = ("y_test", "y_pred", "labels_test", "labels_pred")
#: Test metrics stored under their own keys rather than in the ``metrics`` attribute.
STRUCTURED_METRICS = (*TEST_ARRAYS, "conf_mat", "report")


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types (NaN allowed, unknown objects as strings)."""
    return json.loads(json.dumps(to_plain(value), default=str, allow_nan=True))


def stored_rows(frames: int, nb_classes: int, max_mb: float | None) -> int:
    """Rows of ``y_test``/``y_pred`` kept for ``frames`` test samples: all without a cap, else
    as many as fit in ``max_mb`` MB of float32 ``[rows, nb_classes]``.

    >>> stored_rows(115_200_000, 40, 512), stored_rows(1000, 3, 512), stored_rows(10, 3, None)
    (3355443, 1000, 10)
    """
    if max_mb is None or not math.isfinite(float(max_mb)):
        return int(frames)
    return int(min(frames, float(max_mb) * 2**20 // (4 * max(int(nb_classes), 1))))


class ResultArrays:
    """Block sink writing the test arrays into the open results file (chunked, gzip).

    ``labels_test``/``labels_pred`` int64 ``[T]`` (argmax) for every test sample;
    ``y_test``/``y_pred`` float32 ``[N, K]`` for the first ``N`` (:func:`stored_rows`: all
    with ``max_mb=None``), each with attributes ``test_samples`` (T) and ``complete``
    (``N == T``).  Filled block by block as the test split is predicted: the file never needs
    them whole in memory.  Chunks hold about 1 MB, so a partly written chunk stays in the
    file's chunk cache until its next block arrives.
    """

    def __init__(self, h5: Any, frames: int, nb_classes: int, max_mb: float | None = None):
        self.rows = stored_rows(frames, nb_classes, max_mb)
        self.datasets = {}
        for key in TEST_ARRAYS:
            probs = key[0] == "y"
            n = self.rows if probs else int(frames)
            chunk = max(1, min(n, (1 << 20) // (4 * max(int(nb_classes), 1))))
            opts = dict(compression="gzip", compression_opts=1, shuffle=True) if n else {}
            self.datasets[key] = h5.create_dataset(
                key, shape=(n, nb_classes) if probs else (n,),
                dtype="float32" if probs else "int64",
                chunks=((chunk, nb_classes) if probs else (chunk,)) if n else None, **opts)
            if probs:
                self.datasets[key].attrs["test_samples"] = int(frames)
                self.datasets[key].attrs["complete"] = bool(n == frames)

    def __call__(self, start: int, y: np.ndarray, p: np.ndarray) -> None:
        """Targets and probabilities ``[n, K]`` of test samples ``start ..``."""
        stop = start + len(y)
        d = self.datasets
        keep = max(0, min(stop, self.rows) - start)
        if keep:
            d["y_test"][start:start + keep] = y[:keep]
            d["y_pred"][start:start + keep] = p[:keep]
        d["labels_test"][start:stop] = np.argmax(y, axis=1)
        d["labels_pred"][start:stop] = np.argmax(p, axis=1)


class TrainingResults:
    """A new ``_results.h5`` being written: test arrays streamed in, the rest at the end."""

    def __init__(self, h5: Any):
        self.h5 = h5

    def arrays(self, frames: int, nb_classes: int, max_mb: float | None = None) -> ResultArrays:
        """The sink for the test arrays (``frames`` test samples; ``y_test``/``y_pred`` capped
        at ``max_mb`` MB each, see :func:`stored_rows`)."""
        return ResultArrays(self.h5, frames, nb_classes, max_mb)

    def finish(self, history: dict[str, list], metrics: dict[str, Any],
               params: dict[str, Any]) -> None:
        """History, confusion matrix, report, metrics and params (test arrays given in
        ``metrics`` are written too, unless already streamed in)."""
        import yaml

        fh = self.h5
        hist = fh.create_group("fit_hist")
        for key, values in history.items():
            hist.create_dataset(key, data=np.asarray(values, dtype=np.float64))
        for key in TEST_ARRAYS:
            if key in metrics and key not in fh:
                fh.create_dataset(key, data=metrics[key], compression="gzip")
        if "conf_mat" in metrics:
            fh.create_dataset("confusion_matrix", data=np.asarray(metrics["conf_mat"]))
            report = metrics["report"]
            names = list(params.get("class_names", []))
            for score in ("precision", "recall", "f1-score"):
                fh.create_dataset(score.replace("-score", ""), data=np.asarray(
                    [report.get(n, {}).get(score, np.nan) for n in names], np.float64))
            fh.attrs["classification_report"] = json.dumps(to_plain(report))
        other = {k: v for k, v in metrics.items() if k not in STRUCTURED_METRICS
                 and not (isinstance(v, np.ndarray) and v.size > 1000)}
        fh.attrs["metrics"] = json.dumps(jsonable(other))
        fh.attrs["class_names"] = json.dumps(list(params.get("class_names", [])))
        fh.attrs["class_types"] = json.dumps(list(params.get("class_types", [])))
        fh.attrs["samplerate_Hz"] = float(params.get("samplerate_x_Hz", math.nan))
        fh.attrs["params"] = yaml.safe_dump(to_plain(params), sort_keys=False)


@contextlib.contextmanager
def training_results(path: str | os.PathLike) -> Iterator[TrainingResults]:
    """Write ``_results.h5`` of a training run (a new file, renamed into place at the end)."""
    import h5py

    # a chunk cache of 32 MB keeps partly filled chunks of the streamed arrays
    with replaced_file(path) as tmp, h5py.File(tmp, "w", rdcc_nbytes=32 << 20) as fh:
        yield TrainingResults(fh)


def write_training_results(path: str | os.PathLike, history: dict[str, list],
                           metrics: dict[str, Any], params: dict[str, Any]) -> str:
    """Write ``_results.h5`` of a training run (a new file); returns its path.

    ``metrics`` holds the test arrays, ``conf_mat`` and ``report`` (empty without test data);
    :func:`training_results` streams the test arrays instead.
    """
    with training_results(path) as out:
        out.finish(history, metrics, params)
    return os.fspath(path)


def write_evaluation(path: str | os.PathLike, metrics: dict[str, Any]) -> str:
    """Add ``das evaluate``'s metrics to ``_results.h5``, keeping what is already there.

    ``metrics`` is the dict of :func:`napari_das.core.evaluation.evaluate.evaluate_split`; its
    sample-wise confusion matrix replaces ``confusion_matrix``.
    """
    import h5py

    with replaced_file(path, keep=True) as tmp, h5py.File(tmp, "a") as f:
        for key in ("evaluation", "confusion_matrix"):
            if key in f:
                del f[key]
        group = f.create_group("evaluation")
        group["metrics_json"] = json.dumps(to_plain(metrics), allow_nan=True)
        f["confusion_matrix"] = np.asarray(metrics["samplewise"]["confusion_matrix"],
                                           np.int64)
    return os.fspath(path)
