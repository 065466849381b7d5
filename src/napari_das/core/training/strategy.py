"""The ``tf.distribute`` strategy of ``--strategy`` and which worker writes the files."""

from __future__ import annotations

import json
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
        check_tf_config(os.environ.get("TF_CONFIG"))
        return reduce_nested(tf, tf.distribute.MultiWorkerMirroredStrategy())
    return tf.distribute.get_strategy()


def check_tf_config(text: str | None) -> dict[str, Any]:
    """The parsed ``TF_CONFIG``; DasError naming the missing or malformed key.

    TensorFlow's own errors for a bad ``TF_CONFIG`` come late (or as a hang waiting for a worker
    that is not in the cluster), so the usual mistakes are caught here.
    """
    if not text:
        raise DasError("--strategy multi-worker needs the TF_CONFIG environment variable "
                       "(cluster and task of this worker, see the README)")
    try:
        config = json.loads(text)
    except ValueError as err:
        raise DasError(f"TF_CONFIG is not valid JSON ({err.msg} at character {err.pos})") \
            from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not cluster:
        raise DasError('TF_CONFIG needs "cluster": {"worker": ["host:port", ...]}')
    for kind, addresses in cluster.items():
        if not isinstance(addresses, list) or not all(isinstance(a, str) and ":" in a
                                                      for a in addresses):
            raise DasError(f'TF_CONFIG "cluster"."{kind}" must be a list of "host:port" strings')
    task = config.get("task")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise DasError('TF_CONFIG needs "task": {"type": "worker", "index": N} (this worker)')
    kind, index = task["type"], task["index"]
    if kind not in cluster:
        raise DasError(f'TF_CONFIG "task"."type" "{kind}" is not a key of "cluster"')
    if not isinstance(index, int) or not 0 <= index < len(cluster[kind]):
        raise DasError(f'TF_CONFIG "task"."index" {index!r} is not an index into "cluster".'
                       f'"{kind}" ({len(cluster[kind])} addresses)')
    return config


def agree_seed(strategy: Any, seed: int) -> int:
    """The chief's seed on every worker (the other workers' own seeds are ignored).

    Every worker must draw the same chunks for batch ``i`` (each keeps its slice of the global
    batch, see :func:`~napari_das.core.training.data.tf_dataset`) and the same data subsets,
    and a run must be repeatable with the seed recorded by the chief.  Without ``--seed``
    every worker draws its own, so the chief's is broadcast (a sum in which the others add 0).
    This collective is also the barrier after which the chief writes files: every worker has
    passed the input checks by then.
    """
    if getattr(strategy, "cluster_resolver", None) is None:  # one process
        return int(seed)
    import tensorflow as tf

    def value(context):  # global replica 0 is on the chief (worker 0, or the "chief" task)
        return tf.constant(int(seed) if context.replica_id_in_sync_group == 0 else 0, tf.int64)

    values = strategy.experimental_distribute_values_from_function(value)
    return int(strategy.reduce(tf.distribute.ReduceOp.SUM, values, axis=None))


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
