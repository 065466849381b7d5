"""Deprecated: ``napari_das.core.predict`` was split; its public names now live in

- :mod:`napari_das.core.inference.windows`
- :mod:`napari_das.core.inference.runner`
- :mod:`napari_das.core.inference.preprocess`
- :mod:`napari_das.core.inference.predict`
- :mod:`napari_das.core.inference.files`
- :mod:`napari_das.core.nn.model`
- :mod:`napari_das.core.io.params`

These re-exports go in the next release; import from the new modules.
"""

from . import deprecated
from .inference.files import predict_paths
from .inference.predict import (
    Prediction,
    predict,
    predict_file,
    predict_probabilities,
    predict_stream,
    probability_blocks,
)
from .inference.preprocess import (
    noise_matched_reader,
    preprocessed_reader,
)
from .inference.runner import (
    ModelRunner,
    iter_probabilities,
    make_runner,
)
from .inference.windows import (
    MIN_WINDOW,
    TARGET_SAMPLES_PER_CALL,
    Reader,
    WindowPlan,
    default_batch_size,
    read_padded,
    window_plan,
)
from .io.params import (
    class_info,
    model_samplerate,
)
from .nn.model import (
    load_model_and_params,
    network_from_params,
)

__all__ = ['MIN_WINDOW', 'ModelRunner', 'Prediction', 'Reader', 'TARGET_SAMPLES_PER_CALL',
           'WindowPlan', 'class_info', 'default_batch_size', 'iter_probabilities',
           'load_model_and_params', 'make_runner', 'model_samplerate',
           'network_from_params', 'noise_matched_reader', 'predict', 'predict_file',
           'predict_paths', 'predict_probabilities', 'predict_stream',
           'preprocessed_reader', 'probability_blocks', 'read_padded', 'window_plan']

deprecated.warn_moved(__name__,
                      'napari_das.core.inference.windows',
                      'napari_das.core.inference.runner',
                      'napari_das.core.inference.preprocess',
                      'napari_das.core.inference.predict',
                      'napari_das.core.inference.files',
                      'napari_das.core.nn.model',
                      'napari_das.core.io.params')
