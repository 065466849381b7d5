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
        return reduce_nested(tf, tf.distribute.MultiWorkerMirroredStrategy())
    return tf.distribute.get_strategy()


def reduce_nested(tf: Any, strategy: Any) -> Any:
    """Let ``strategy.reduce`` take a structure of per-replica values, one reduce per leaf.

    Keras 3's ``fit`` reduces the first ``(x, y)`` batch to build the model symbolically; the
    collective (multi-worker) strategy's ``reduce`` takes one value only and fails on the tuple
    ("Attempt to convert a value (PerReplica...) to a Tensor"), so ``--strategy multi-worker``
    never started training.  Keras also reduces the scalar loss and metrics with ``axis=0``,
    which a scalar does not have: those are reduced across replicas only (``axis=None``).
    """
    reduce = strategy.reduce

    def reduce_one(reduce_op, v, axis):
        first = v.values[0] if hasattr(v, "values") else v
        if axis is not None and getattr(getattr(first, "shape", None), "rank", None) == 0:
            axis = None
        return reduce(reduce_op, v, axis=axis)

    def reduce_each(reduce_op, value, axis=None):
        return tf.nest.map_structure(lambda v: reduce_one(reduce_op, v, axis), value)

    strategy.reduce = reduce_each
    return strategy


def is_chief(strategy: Any) -> bool:
    """False on the non-chief workers of a multi-worker run (they write no files)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and
                                             resolver.task_id == 0 and
                                             "chief" not in resolver.cluster_spec().as_dict())
