"""``<save_name>_results.h5``: the one schema of the results file of a trained model.

``das train`` writes the file anew at the end of a run; ``das evaluate`` adds its evaluation to
it, keeping what training wrote.  Keys (see also docs/ARCHITECTURE.md):

============================  =====================  ==============================================
key                           type                   written by / content
============================  =====================  ==============================================
``fit_hist/<metric>``         float64 ``[epochs]``   train: history (``loss``, ``val_loss``, ``lr``)
``y_test``, ``y_pred``        float32 ``[T, K]``     train: test targets and probabilities
``labels_test``,              int ``[T]``            train: argmax of the two above
``labels_pred``
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

import json
import math
import os
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


def write_training_results(path: str | os.PathLike, history: dict[str, list],
                           metrics: dict[str, Any], params: dict[str, Any]) -> str:
    """Write ``_results.h5`` of a training run (a new file); returns its path.

    ``metrics`` holds the test arrays, ``conf_mat`` and ``report`` (empty without test data).
    """
    import h5py
    import yaml

    with replaced_file(path) as tmp, h5py.File(tmp, "w") as fh:
        hist = fh.create_group("fit_hist")
        for key, values in history.items():
            hist.create_dataset(key, data=np.asarray(values, dtype=np.float64))
        for key in TEST_ARRAYS:
            if key in metrics:
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
