"""The test evaluation at the end of training: the post-processing search on the validation
split (``--post-opt``) and the scores of the best model on the test split.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from ..config import TrainingConfig
from ..evaluation.evaluate import evaluate_split
from ..evaluation.metrics import classification_report
from ..evaluation.tune import optimize_postprocessing
from ..io.results import TrainingResults
from ..nn.model import load_model
from ..progress import emit
from .data import PreparedData

log = logging.getLogger(__name__)

#: Test metrics that are also stored in ``_params.yaml`` (DAS names).
PARAMS_METRIC_KEYS = ("conf_mat", "report", "test_metrics")


def evaluate_test(paths: dict[str, str], params: dict[str, Any], data: PreparedData,
                  training: TrainingConfig, progress: Any, stop: Any,
                  results: TrainingResults | None = None) -> dict[str, Any]:
    """Confusion matrix, report and scores of the best model on the test split (empty without
    test data).

    With ``training.post_opt`` the fill-gap/min-length search runs first on the validation split
    (also without test data) and its result goes to ``params["post_opt"]``, so the test scores
    use it.  The test split is predicted once, block by block: the blocks feed the scores and
    ``results`` (the test arrays of ``_results.h5``), so memory does not grow with the split.
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
            model, params, val.x, val.y, boundaries=val.boundaries, progress=progress, stop=stop)
    if not has_test:
        log.info("no test data: skipping the test evaluation")
        return {}
    names = data.dataset.class_names
    cap = None if training.full_test_arrays else training.test_arrays_mb
    sink = None if results is None else results.arrays(len(test.y), len(names), cap)
    # recordings are predicted separately (no crossing)
    scores = evaluate_split(model, params, test.x, test.y, None, 0.01,
                            boundaries=test.boundaries, stop=stop, sink=sink)
    conf = np.asarray(scores["samplewise"]["confusion_matrix"], np.int64)
    return {"conf_mat": conf, "report": classification_report(conf, names),
            "test_metrics": scores}
