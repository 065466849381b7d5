"""``das predict``'s options for batch runs: sub-folders and Dask workers or a scheduler."""

from __future__ import annotations

import argparse
from typing import Any


def add_batch_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "batch runs (a folder, glob or list file): resumable, predict_run.csv in the output "
        "folder; re-running the same command skips finished recordings")
    group.add_argument("--recursive", action="store_true",
                       help="also predict the recordings in sub-folders of a folder (outputs "
                       "in a --save-filename folder keep the sub-folders)")
    group.add_argument("--workers", type=int, default=0, metavar="N",
                       help="predict on N Dask worker processes of an embedded LocalCluster, "
                       "one recording per task, the model loaded once per worker (default: 0, "
                       "in this process; needs pip install napari-das[cluster])")
    group.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                       help="run the tasks on a running Dask cluster (its address or its "
                       "scheduler.json file), e.g. dask-jobqueue workers on SLURM")
    group.add_argument("--threads-per-worker", type=int, default=None, metavar="T",
                       help="TensorFlow threads of each worker (default with --workers: the "
                       "usable CPUs divided by N, so workers do not oversubscribe)")


def batch_options(args: argparse.Namespace) -> Any:
    """:class:`~napari_das.core.inference.batch.BatchOptions` from the parsed options."""
    from .core.errors import DasError
    from .core.inference.batch import BatchOptions

    if args.workers < 0:
        raise DasError(f"--workers must be 0 (this process) or more, not {args.workers}")
    if args.threads_per_worker is not None and args.threads_per_worker < 1:
        raise DasError("--threads-per-worker must be at least 1")
    return BatchOptions(workers=args.workers, scheduler=args.scheduler,
                        threads_per_worker=args.threads_per_worker)
