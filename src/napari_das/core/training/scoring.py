"""The test evaluation at the end of training: the post-processing search on the validation
split (``--post-opt``) and the scores of the best model on the test split.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from ..config import TrainingConfig
from ..evaluation.evaluate import evaluate_split
from ..evaluation.metrics import classification_report, confusion_matrix
from ..evaluation.split_predict import split_probabilities
from ..evaluation.tune import optimize_postprocessing
from ..nn.model import load_model
from ..progress import emit
from .data import PreparedData

log = logging.getLogger(__name__)

#: Test metrics that are also stored in ``_params.yaml`` (DAS names).
PARAMS_METRIC_KEYS = ("conf_mat", "report", "test_metrics")


def evaluate_test(paths: dict[str, str], params: dict[str, Any], data: PreparedData,
                  training: TrainingConfig, progress: Any, stop: Any) -> dict[str, Any]:
    """Test-set probabilities, labels and scores of the best model (empty without test data).

    With ``training.post_opt`` the fill-gap/min-length search runs first on the validation split
    (also without test data) and its result goes to ``params["post_opt"]``, so the test scores
    use it.  The test split is predicted once (its probabilities feed the scores).
    """
    test = data.dataset.splits.get("test")
    nb_hist = int(params["nb_hist"])
    has_test = test is not None and any(b - a >= nb_hist for a, b in test.boundaries)
    if not has_test and not training.post_opt:
        log.info("no test data: skipping the test evaluation")
        return {}
    model = load_model(paths["model_keras"])
    val = data.dataset.splits.get("val")
    if training.post_opt and (val is None or len(val) == 0):
        log.info("no validation data: post-processing not chosen")
    elif training.post_opt:
        emit(progress, "message", message="choosing post-processing on the validation split")
        params["post_opt"] = optimize_postprocessing(
            model, params, np.asarray(val.x, np.float32), np.asarray(val.y, np.float32),
            boundaries=val.boundaries, progress=progress, stop=stop)
    if not has_test:
        log.info("no test data: skipping the test evaluation")
        return {}
    x_test = np.asarray(test.x, np.float32)
    y_test = np.asarray(test.y, dtype=np.float32)
    # recordings are predicted separately (no crossing)
    y_pred = split_probabilities(model, params, x_test, test.boundaries, stop=stop)
    labels_test, labels_pred = y_test.argmax(axis=1), y_pred.argmax(axis=1)
    conf = confusion_matrix(labels_test, labels_pred, len(data.dataset.class_names))
    metrics: dict[str, Any] = {
        "y_test": y_test, "y_pred": y_pred, "labels_test": labels_test,
        "labels_pred": labels_pred, "conf_mat": conf,
        "report": classification_report(conf, data.dataset.class_names),
    }
    metrics["test_metrics"] = evaluate_split(model, params, x_test, y_test, None, 0.01,
                                             boundaries=test.boundaries, stop=stop,
                                             probabilities=y_pred)
    return metrics
