"""The ``tf.distribute`` strategy of ``--strategy`` and which worker writes the files."""

from __future__ import annotations

import logging
import os
from typing import Any

from ..errors import DasError

log = logging.getLogger(__name__)


def make_strategy(name: str) -> Any:
    """The tf.distribute strategy for ``--strategy``."""
    import tensorflow as tf

    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        names = [d.name for d in devices]
        ops = None if tf.config.list_logical_devices("GPU") else \
            tf.distribute.ReductionToOneDevice()
        log.info("mirrored training on %s", ", ".join(names))
        return tf.distribute.MirroredStrategy(devices=names, cross_device_ops=ops)
    if name == "multi-worker":
        if not os.environ.get("TF_CONFIG"):
            raise DasError("--strategy multi-worker needs the TF_CONFIG environment variable "
                           "(cluster and task of this worker)")
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def is_chief(strategy: Any) -> bool:
    """False on the non-chief workers of a multi-worker run (they write no files)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and
                                             resolver.task_id == 0 and
                                             "chief" not in resolver.cluster_spec().as_dict())
