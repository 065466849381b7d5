"""Deprecated: ``napari_das.core.train_setup`` was split; its public names now live in

- :mod:`napari_das.core.training.inputs`
- :mod:`napari_das.core.training.data`
- :mod:`napari_das.core.training.hashing`
- :mod:`napari_das.core.training.seeding`
- :mod:`napari_das.core.training.strategy`
- :mod:`napari_das.core.training.resume`
- :mod:`napari_das.core.training.run_params`
- :mod:`napari_das.core.training.scoring`
- :mod:`napari_das.core.data.splits`
- :mod:`napari_das.core.io.results`

These re-exports go in the next release; import from the new modules.
"""

from . import deprecated
from .data.splits import draw_seed
from .io.results import write_training_results
from .training.data import (
    PreparedData,
    prepare_data,
    tf_dataset,
)
from .training.hashing import data_hash
from .training.inputs import (
    check_resumable,
    check_writable,
    open_dataset,
    song_types,
)
from .training.resume import (
    initial_epoch,
    learning_rate,
    load_checkpoint,
)
from .training.run_params import initial_params
from .training.scoring import (
    PARAMS_METRIC_KEYS,
    evaluate_test,
)
from .training.seeding import import_tensorflow
from .training.strategy import (
    is_chief,
    make_strategy,
)

__all__ = ['PARAMS_METRIC_KEYS', 'PreparedData', 'check_resumable', 'check_writable', 'data_hash',
           'draw_seed', 'evaluate_test', 'import_tensorflow', 'initial_epoch',
           'initial_params', 'is_chief', 'learning_rate', 'load_checkpoint',
           'make_strategy', 'open_dataset', 'prepare_data', 'song_types', 'tf_dataset',
           'write_training_results']

deprecated.warn_moved(__name__,
                      'napari_das.core.training.inputs',
                      'napari_das.core.training.data',
                      'napari_das.core.training.hashing',
                      'napari_das.core.training.seeding',
                      'napari_das.core.training.strategy',
                      'napari_das.core.training.resume',
                      'napari_das.core.training.run_params',
                      'napari_das.core.training.scoring',
                      'napari_das.core.data.splits',
                      'napari_das.core.io.results')

write_results = write_training_results  # the old name
