"""Batch prediction on Dask distributed: recordings are the tasks, workers keep the model.

``workers=N`` starts an embedded :class:`distributed.LocalCluster` of N worker processes with one
task slot each and TensorFlow limited to ``threads_per_worker`` threads (default: the CPUs
this process may use divided by N), so N workers never oversubscribe the machine.
``scheduler=tcp://host:port`` (or a scheduler file, ``scheduler.json``) joins a running cluster,
e.g. one started by dask-jobqueue on SLURM; its workers keep their own thread settings unless
``threads_per_worker`` is given.  Each worker loads the model once (:func:`.task.cached_model`).
A worker that dies mid-task is replaced by its nanny and the scheduler gives the recording to
another worker; only the driver commits results, so every recording is written once.
``distributed`` is imported here only (``pip install napari-das[cluster]``).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from typing import Any

from ..errors import DasError
from ..progress import check_stop
from .task import predict_recording

log = logging.getLogger(__name__)


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def thread_env(threads: int) -> dict[str, str]:
    """Environment that limits TensorFlow (and OpenMP/oneDNN) in a worker to ``threads``."""
    return {"TF_NUM_INTRAOP_THREADS": str(threads), "TF_NUM_INTEROP_THREADS": "1",
            "OMP_NUM_THREADS": str(threads),
            "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise DasError("--workers and --scheduler need Dask distributed: pip install "
                       "'napari-das[cluster]' (or pip install distributed)") from None
    return distributed


def tf_threads_plugin(threads: int) -> Any:
    """A worker plugin that sets TensorFlow's thread pools before the first model is built."""
    distributed = _import_distributed()

    class TensorFlowThreads(distributed.WorkerPlugin):
        name = "napari-das-tf-threads"

        def __init__(self, n: int):
            self.n = n

        def setup(self, worker) -> None:  # noqa: ARG002 - plugin signature
            os.environ.update(thread_env(self.n))
            from ..nn.quiet import import_quietly

            import_quietly()
            import tensorflow as tf

            try:
                tf.config.threading.set_intra_op_parallelism_threads(self.n)
                tf.config.threading.set_inter_op_parallelism_threads(1)
            except RuntimeError:  # TensorFlow already initialised in this worker: keep it
                log.debug("TensorFlow threads already set in this worker")

    return TensorFlowThreads(threads)


def open_client(workers: int = 0, scheduler: str | None = None,
                threads_per_worker: int | None = None) -> tuple[Any, Any]:
    """``(client, cluster)``: a LocalCluster of ``workers`` processes, or a running scheduler
    (``cluster`` is then None).  Close both when done."""
    distributed = _import_distributed()
    # the driver's own Dask chatter (scheduler and nannies live here): errors only
    logging.getLogger("distributed").setLevel(logging.ERROR)
    if scheduler:
        kwargs = {"scheduler_file": scheduler} if scheduler.endswith(".json") else \
            {"address": scheduler}
        try:
            client = distributed.Client(timeout="30s", **kwargs)
        except (OSError, TimeoutError, ValueError) as err:
            raise DasError(f"cannot reach the Dask scheduler ({type(err).__name__}: {err}); is "
                           "it running?", scheduler) from None
        if threads_per_worker:
            client.register_plugin(tf_threads_plugin(threads_per_worker))
        return client, None
    if workers < 1:
        raise DasError(f"--workers must be at least 1, not {workers}")
    threads = threads_per_worker or max(1, usable_cpus() // workers)
    cluster = distributed.LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
        silence_logs=logging.ERROR, env=thread_env(threads))
    client = distributed.Client(cluster)
    client.register_plugin(tf_threads_plugin(threads))
    log.info("Dask LocalCluster: %d worker process(es), %d TensorFlow thread(s) each",
             workers, threads)
    return client, cluster


def run_on_dask(jobs: list[dict[str, Any]], options: Any, stop=None
                ) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Submit one task per job and yield ``(job, result)`` as they finish (any order)."""
    distributed = _import_distributed()
    client, cluster = (options.client, None) if options.client is not None else \
        open_client(options.workers, options.scheduler, options.threads_per_worker)
    run = uuid.uuid4().hex[:8]
    futures = []
    try:
        keys = [f"das-predict-{run}-{i}" for i in range(len(jobs))]
        futures = client.map(predict_recording, jobs, key=keys, pure=False)
        job_of = dict(zip(keys, jobs))
        for future in distributed.as_completed(futures):
            check_stop(stop)
            job = job_of[future.key]
            try:
                result = future.result()
            except distributed.KilledWorker:
                result = {"status": "failed", "staged": {}, "seconds": 0.0,
                          "error": "a worker process died on this recording each time it was "
                                   "tried (out of memory? a crash?)"}
            except distributed.client.FutureCancelledError as err:
                raise DasError(f"the Dask cluster cancelled the run ({err}); run the same "
                               "command again to finish it") from None
            yield job, result
    finally:
        for future in futures:
            if not future.done():
                future.cancel()
        if options.client is None:
            client.close()
            if cluster is not None:
                cluster.close()
