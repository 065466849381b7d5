"""The ``das`` command (alias ``napari-das``): a thin shell over :mod:`napari_das.core`.

Subcommands: ``version``, ``make-dataset``, ``train``, ``evaluate``, ``predict``,
``config-from-params``.  Their options are generated from the config dataclasses in
:mod:`napari_das.core.config`, so the command line, the widgets and ``_params.yaml`` cannot drift
apart.  ``make-dataset``, ``train`` and ``predict`` also read their options from a YAML file
(``--config FILE``, see :mod:`napari_das.core.io.config_file`); options given on the command line
override the file.  Every user error ends in one line on stderr and
a non-zero exit code; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import types
import typing
from collections.abc import Sequence
from typing import Any

from . import __version__
from .cli_batch import add_batch_arguments, batch_options
from .cli_das import add_das_options, check_das_options
from .cli_progress import TerminalProgress
from .cli_serve import add_serve_command
from .cli_types import FALSE_WORDS, TRUE_WORDS, parse_bool, parse_optional_float, parse_optional_int  # noqa: F401 - re-exported
from .core.config import DatasetConfig, NetworkConfig, PredictionConfig, TrainingConfig
from .core.errors import DasError, StopRequested
from .core.presets import PRESET_NAMES
from .core.progress import Progress

log = logging.getLogger("napari_das")

def _field_kind(f: dataclasses.Field) -> tuple[str, type]:
    """(kind, scalar type) of a config field: kind is 'bool', 'list' or 'scalar'."""
    hints = typing.get_type_hints(_owner_of(f))
    tp = hints[f.name]
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        tp = next(a for a in args if a is not type(None))
        args = typing.get_args(tp)
    if typing.get_origin(tp) is list:
        return "list", args[0]
    if tp is bool:
        return "bool", bool
    return "scalar", tp


_OWNERS: dict[int, type] = {}


def _owner_of(f: dataclasses.Field) -> type:
    return _OWNERS[id(f)]


for _cls in (DatasetConfig, NetworkConfig, TrainingConfig, PredictionConfig):
    for _f in dataclasses.fields(_cls):
        _OWNERS[id(_f)] = _cls


def add_config_arguments(parser: argparse.ArgumentParser, cls: type, exclude: Sequence[str] = (),
                         title: str | None = None) -> None:
    """Add one option per field of config class ``cls``.

    Booleans accept ``--flag``, ``--flag True|False`` and ``--no-flag``; lists take several
    values (``--use-separable False True``).  Options the user does not give keep the config's
    default (argparse stores nothing for them).
    """
    group = parser.add_argument_group(title) if title else parser
    for f in dataclasses.fields(cls):
        if f.name in exclude or f.metadata.get("cli_hidden"):
            continue
        kind, scalar = _field_kind(f)
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        help_text = f.metadata.get("help", "")
        if f.metadata.get("positional"):  # optional: it may come from --config
            group.add_argument(f.name, nargs="?", default=argparse.SUPPRESS, help=help_text)
            continue
        flags = [f"--{f.name.replace('_', '-')}"]
        flags += [f"--{a.replace('_', '-')}" for a in f.metadata.get("aliases", ())]
        common = {"dest": f.name, "default": argparse.SUPPRESS}
        if kind == "bool":
            group.add_argument(*flags, nargs="?", const=True, type=parse_bool, metavar="BOOL",
                               help=f"{help_text} (default: {default})", **common)
            group.add_argument(f"--no-{f.name.replace('_', '-')}", action="store_false",
                               help=argparse.SUPPRESS, **common)
        elif kind == "list":
            conv = parse_bool if scalar is bool else scalar
            shown = " ".join(map(str, default))
            group.add_argument(*flags, nargs="+", type=conv, metavar=scalar.__name__.upper(),
                               help=f"{help_text} (default: {shown})", **common)
        else:
            optional = f.default is None
            if scalar is float:
                conv = parse_optional_float if optional else float
            elif scalar is int:
                conv = parse_optional_int if optional else int
            else:
                conv = str
            # choices are checked by the config's validated(): a wrong value is a one-line
            # error like every other, not argparse's usage block
            choices = f.metadata.get("choices")
            metavar = "{" + ",".join(map(str, choices)) + "}" if choices else \
                scalar.__name__.upper()
            group.add_argument(*flags, type=conv, metavar=metavar,
                               help=f"{help_text} (default: {default})", **common)


def config_from_args(cls: type, args: argparse.Namespace, **extra: Any):
    """``cls`` from the options in ``--config`` (if given) overridden by those on the command line."""
    names = {f.name for f in dataclasses.fields(cls)}
    values = {k: v for k, v in {**file_options(args), **vars(args)}.items() if k in names}
    values.update(extra)
    return cls(**values)


#: The config classes whose options a subcommand's ``--config`` file may hold.
CONFIG_FILE_CLASSES = {"make-dataset": (DatasetConfig,), "train": (TrainingConfig, NetworkConfig),
                       "predict": (PredictionConfig,)}


def file_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options of the ``--config`` file; a ``_params.yaml`` gives its training and network
    options (:func:`~napari_das.core.io.config_file.config_from_params`)."""
    path = getattr(args, "config", None)
    if not path:
        return {}
    from .core.io.config_file import config_from_params, read_config_file
    from .core.io.files import RESULT_SUFFIXES

    if args.command == "train" and str(path).endswith(RESULT_SUFFIXES["params"]):
        return config_from_params(path)
    return read_config_file(path, *CONFIG_FILE_CLASSES[args.command])


# ------------------------------------------------------------------------------------ commands
def _cmd_version(args: argparse.Namespace) -> int:
    from importlib import metadata

    def version_of(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    print(f"napari-das {__version__}")
    print(f"python     {sys.version.split()[0]}")
    tf_dists = [d for d in ("tensorflow", "tensorflow-cpu", "tensorflow-macos")
                if version_of(d) != "not installed"]
    rows = [("numpy", version_of("numpy")),
            ("tensorflow", f"{version_of(tf_dists[0])} ({tf_dists[0]})" if tf_dists
             else "not installed"),
            ("keras", version_of("keras")), ("napari", version_of("napari")),
            ("magicgui", version_of("magicgui"))]
    for name, v in rows:
        print(f"{name:<10} {v}")
    qt = [f"{d} {version_of(d)}" for d in ("PyQt5", "PyQt6", "PySide2", "PySide6")
          if version_of(d) != "not installed"]
    print(f"qt binding {', '.join(qt) if qt else 'none'}")
    if not args.no_gpu_check:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        try:
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            print(f"GPU        {'yes (' + str(len(gpus)) + ')' if gpus else 'no'}")
        except ImportError:
            print("GPU        unknown (TensorFlow not installed)")
    return 0


def _cmd_make_dataset(args: argparse.Namespace) -> int:
    from .core.data.dataset import make_dataset

    config = config_from_args(DatasetConfig, args).validated()
    summary = make_dataset(config, progress=_progress(args))
    print(summary.format())
    return 0


def train_configs(args: argparse.Namespace) -> tuple[NetworkConfig, TrainingConfig]:
    """Validated configs of ``das train``: explicit options over the ``--config`` file over
    ``--preset`` (or over the saved options of ``--resume``) over the defaults."""
    # argparse keeps only the options the user gave (default=SUPPRESS); they override the file
    given = {**file_options(args), **vars(args)}
    if given.get("resume"):
        from .core.io.files import strip_result_suffix
        from .core.io.params import load_params

        saved = load_params(strip_result_suffix(given["resume"]))
        network = NetworkConfig.from_dict({**saved, **given})
        training = TrainingConfig.from_dict(
            {**saved, "save_name": None, "save_prefix": "", **given})
    else:
        from .core.presets import apply_preset

        values = apply_preset(given.get("preset"), given)
        network = config_from_args(NetworkConfig, argparse.Namespace(**values))
        training = config_from_args(TrainingConfig, argparse.Namespace(**values))
    return network.validated(), training.validated()


def _cmd_train(args: argparse.Namespace) -> int:
    """Train; SIGINT/SIGTERM stop at the end of the current batch (files kept, exit code 0).

    With ``--resume SAVE_NAME`` the saved options are the defaults and the options given on
    the command line override them.  A second SIGINT interrupts at once (KeyboardInterrupt).
    """
    import signal

    from .core.progress import StopToken
    from .core.training.train import train

    network, training = train_configs(args)
    stop = StopToken()

    def request_stop(signum, frame):  # noqa: ARG001 - signal handler signature
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        log.info("stopping at the end of the current batch (%s)", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        result = train(network, training, progress=_progress(args, training.verbose), stop=stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(result.format())
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .core.evaluation.evaluate import evaluate

    config = config_from_args(PredictionConfig, args).validated()
    report = evaluate(args.model, data_dir=args.data_dir, config=config, tolerance=args.tolerance,
                      plots=args.plots, progress=_progress(args),
                      save_post_opt=args.save_post_opt)
    print(report.format())
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from .core.inference.files import predict_paths

    config = config_from_args(PredictionConfig, args).validated()
    outcome = predict_paths(args.path, args.model, config, save_format=args.save_format,
                            save_filename=args.save_filename, save_probabilities=args.probabilities,
                            overwrite=args.overwrite, progress=_progress(args),
                            recursive=args.recursive, batch=batch_options(args))
    print(outcome.format())
    return 0 if outcome.ok else 1


def _cmd_config_from_params(args: argparse.Namespace) -> int:
    from .core.io.config_file import config_from_params, write_config_file

    values = config_from_params(args.params)
    if args.output:
        if os.path.exists(args.output) and not args.overwrite:
            raise DasError("the file exists: choose another --output or pass --overwrite",
                           args.output)
        print(write_config_file(args.output, values))
    else:
        import yaml

        print(yaml.safe_dump(values, sort_keys=False), end="")
    return 0


def _progress(args: argparse.Namespace, verbose: int = 1) -> TerminalProgress:
    return TerminalProgress(json_lines=getattr(args, "progress_json", False), verbose=verbose)


# ------------------------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="das", description="napari-das: annotate animal song with deep networks "
        "(DAS-compatible datasets, models and annotation files).")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, func, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show tracebacks and debug logging")
        return p

    p = add("version", _cmd_version, "print versions of napari-das, TensorFlow, napari, Qt; GPU")
    p.add_argument("--no-gpu-check", action="store_true", help="do not import TensorFlow")

    def add_config_file(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", metavar="FILE.yaml", default=None,
                       help="read the options from this YAML file (option: value, as the "
                       "widgets' Save... writes it); options given here override it")

    p = add("make-dataset", _cmd_make_dataset,
            "make a training dataset (DATA.npy) from a folder of recordings and annotations")
    add_config_file(p)
    add_config_arguments(p, DatasetConfig)
    p.add_argument("--progress-json", action="store_true",
                   help="print machine-readable progress records (JSON lines) on stdout")

    p = add("train", _cmd_train, "train a network on a dataset made by make-dataset")
    add_config_file(p)
    add_config_arguments(p, TrainingConfig, title="data and training")
    add_config_arguments(p, NetworkConfig, title="network")
    add_das_options(p, "train")
    p.add_argument("--preset", choices=PRESET_NAMES, default=argparse.SUPPRESS,
                   help="documented recipe for bird, fly or mouse song (network and training "
                   "options); options given explicitly override it")
    p.add_argument("--progress-json", action="store_true",
                   help="print machine-readable progress records (JSON lines) on stdout")

    p = add("evaluate", _cmd_evaluate, "evaluate a trained model on the test split of a dataset")
    p.add_argument("model", help="model save name (path stem before _model.h5)")
    p.add_argument("--data-dir", default=None, help="dataset (default: the one it was trained on)")
    p.add_argument("--tolerance", type=float, default=0.01,
                   help="event and onset/offset tolerance in seconds (default: 0.01)")
    p.add_argument("--plots", action="store_true", help="save PNG figures next to the results")
    p.add_argument("--save-post-opt", action="store_true",
                   help="store the fill-gap/min-length found on the validation split (and the "
                        "test metrics) in the model's _params.yaml, so das predict uses them; "
                        "without it the model files are only read")
    add_config_arguments(p, PredictionConfig, title="post-processing")
    p.add_argument("--progress-json", action="store_true",
                   help="print machine-readable progress records (JSON lines) on stdout")

    p = add("predict", _cmd_predict, "annotate a recording, or a folder, glob or list of "
            "recordings as a resumable batch run (predict_run.csv), optionally on Dask workers")
    p.add_argument("path", help="audio file (.wav .flac .ogg .npz .h5), folder, glob pattern "
                   "(quoted: 'rigs/*/*.wav') or list file (.txt/.csv, one recording a line)")
    p.add_argument("model", help="model save name (path stem before _model.h5)")
    p.add_argument("--save-format", choices=("csv", "h5", "both"), default="csv",
                   help="csv: <stem>_annotations.csv; h5: <stem>_das.h5 with probabilities "
                   "(default: csv)")
    p.add_argument("--save-filename", default=None,
                   help="output file for a single input, or output folder for a folder input "
                   "(default: next to each recording)")
    p.add_argument("--probabilities", action="store_true",
                   help="also write per-sample class probabilities to <stem>_das.h5")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files "
                   "(a batch run redoes every recording)")
    add_batch_arguments(p)
    add_config_file(p)
    add_config_arguments(p, PredictionConfig, title="prediction and post-processing")
    add_das_options(p, "predict")
    p.add_argument("--progress-json", action="store_true",
                   help="print machine-readable progress records (JSON lines) on stdout")

    p = add("config-from-params", _cmd_config_from_params,
            "turn a model's _params.yaml into a config file for das train --config (repeats the "
            "run: same options and seed)")
    p.add_argument("params", help="the _params.yaml of a trained model (or its save name)")
    p.add_argument("-o", "--output", default=None,
                   help="write the config file here (default: print it)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    add_serve_command(add)  # das serve-predict (cli_serve.py): the widget's warm child
    return parser


def _accept_sigint() -> None:
    """Let SIGINT interrupt even if it arrived ignored.

    A shell without job control starts background commands (``napari ... &`` in a script) with
    SIGINT ignored, and children inherit that; the viewer's Stop button sends SIGINT first.
    """
    import signal

    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _uses_tensorflow(args: argparse.Namespace) -> bool:
    """Commands that load TensorFlow (``version`` only for its GPU check)."""
    if args.command == "version":
        return not args.no_gpu_check
    return args.command in ("train", "evaluate", "predict", "serve-predict")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``das``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    logging.basicConfig(level=logging.DEBUG if debug else logging.INFO,
                        format="%(levelname)s: %(message)s" if not debug else
                        "%(asctime)s %(name)s %(levelname)s: %(message)s")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if debug else "2")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if not debug and _uses_tensorflow(args):
        from .core.nn.quiet import import_quietly

        import_quietly()  # no oneDNN/absl/Keras chatter on stderr (--debug shows it)
    json_lines = getattr(args, "progress_json", False)
    if json_lines:
        _accept_sigint()
    try:
        check_das_options(args)
        code = args.func(args)
    except DasError as err:
        _report_error(str(err), json_lines)
        return 2
    except StopRequested:
        _report_error("stopped by request", json_lines)
        return 3
    except KeyboardInterrupt:
        _report_error("interrupted", json_lines)
        return 130
    except Exception as err:  # noqa: BLE001 - last line of defence for users
        if debug:
            raise
        _report_error(f"unexpected {type(err).__name__}: {err} (run with --debug for details)",
                      json_lines)
        return 1
    return int(code or 0)


def _report_error(message: str, json_lines: bool) -> None:
    TerminalProgress.close_all()
    message = " ".join(str(message).split())
    if json_lines:
        print(Progress(event="error", message=message).to_json(), flush=True)
    print(f"das: error: {message}", file=sys.stderr, flush=True)


def exit_process(code: int) -> typing.NoReturn:
    """End the ``das`` process with ``code``; once TensorFlow is loaded, without the teardown.

    After a command that loaded TensorFlow the interpreter's teardown (module and graph
    destructors) took 1.4 s of every ``das train`` / ``predict`` / ``evaluate`` process on
    2 cores, with nothing left to do: every file is written and renamed by then.  So the
    registered exit handlers run (temporary folders, Dask clusters, ...), the log handlers and
    standard streams are flushed, and the process ends there (``os._exit``).  Commands that
    did not load TensorFlow exit normally, and so does every command under a profiler or a
    tracer (``python -m cProfile``, coverage, a debugger: they write their results at the
    teardown).
    """
    if "tensorflow" not in sys.modules or sys.getprofile() is not None or \
            sys.gettrace() is not None:
        sys.exit(code)
    import atexit

    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed or broken pipe: nothing more can be said
            pass
    os._exit(code)


def run() -> None:  # pragma: no cover - console script
    exit_process(main())


if __name__ == "__main__":  # pragma: no cover
    exit_process(main())
