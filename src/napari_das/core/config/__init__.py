"""One validated configuration object per pipeline step (a module per step).

:class:`DatasetConfig`, :class:`NetworkConfig`, :class:`TrainingConfig` and
:class:`PredictionConfig` are the single source of truth for the command-line flags
(``napari_das.cli`` builds its parsers from the field metadata), the napari widgets (which build
their forms from the same metadata) and the ``_params.yaml`` written next to every result.
Field names follow DAS's parameter names so that DAS ``_params.yaml`` files read back.

Every field carries metadata:

``help``
    One line for ``--help`` and widget tooltips.
``label``
    Widget label (defaults to the field name).
``group``
    Widget group (the seed's Train dialog groups: "Data set", "Network parameters",
    "Training parameters").
``choices``, ``min``, ``max``
    Validation bounds (also used by the widgets).
``positional``
    The CLI takes this field as a positional argument.
``aliases``
    Extra CLI flags (deprecated DAS names).
``cli``
    False hides the field from the command line (derived values).

Examples
--------
>>> cfg = NetworkConfig(nb_filters=32, kernel_size=32, nb_hist=8192).validated()
>>> cfg.receptive_field, cfg.data_padding, cfg.stride
(2884, 1443, 5306)
>>> NetworkConfig(nb_hist=256, kernel_size=32).validated().data_padding  # capped: DAS's k * S
96
>>> NetworkConfig(nb_pre_conv=4, nb_hist=1000).validated()  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
napari_das.core.errors.DasError: --nb-hist 1000 is not a multiple of the downsample factor 16 ...
"""

from .base import ConfigBase, flag, option
from .dataset import SPLIT_MODES, DatasetConfig
from .network import MODEL_NAMES, NetworkConfig
from .prediction import PredictionConfig
from .training import COSINE_FINAL_FRACTION, LR_SCHEDULES, STRATEGIES, TrainingConfig

CONFIG_CLASSES = (DatasetConfig, NetworkConfig, TrainingConfig, PredictionConfig)

__all__ = ["COSINE_FINAL_FRACTION", "CONFIG_CLASSES", "LR_SCHEDULES", "MODEL_NAMES", "SPLIT_MODES",
           "STRATEGIES", "ConfigBase", "DatasetConfig", "NetworkConfig", "PredictionConfig",
           "TrainingConfig", "flag", "option"]
