"""Deprecated: ``napari_das.core.evaluate`` was split; its public names now live in

- :mod:`napari_das.core.evaluation.split_predict`
- :mod:`napari_das.core.evaluation.tune`
- :mod:`napari_das.core.evaluation.evaluate`
- :mod:`napari_das.core.io.results`

These re-exports go in the next release; import from the new modules.
"""

from . import deprecated
from .evaluation.evaluate import (
    EvaluationReport,
    evaluate,
    evaluate_split,
    format_metrics,
    true_events_segments,
)
from .evaluation.split_predict import (
    predict_split,
    split_detections,
    split_probabilities,
)
from .evaluation.tune import optimize_postprocessing
from .io.results import write_evaluation

__all__ = ['EvaluationReport', 'evaluate', 'evaluate_split', 'format_metrics',
           'optimize_postprocessing', 'predict_split', 'split_detections',
           'split_probabilities', 'true_events_segments', 'write_evaluation']

deprecated.warn_moved(__name__,
                      'napari_das.core.evaluation.split_predict',
                      'napari_das.core.evaluation.tune',
                      'napari_das.core.evaluation.evaluate',
                      'napari_das.core.io.results')

write_results = write_evaluation  # the old name
