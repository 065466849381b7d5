"""Seeding: TensorFlow/Keras imported with every random generator seeded and deterministic
ops, so a training run repeats exactly with its recorded seed (drawn by
:func:`napari_das.core.data.splits.draw_seed` when not given).
"""

from __future__ import annotations

import os
from typing import Any


def import_tensorflow(seed: int) -> tuple[Any, Any]:
    """Import TensorFlow/Keras, seed everything and make ops deterministic."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(int(seed))
    tf.config.experimental.enable_op_determinism()
    return tf, keras
