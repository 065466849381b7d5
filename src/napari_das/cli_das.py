"""DAS 0.32's command-line options that napari-das's own options do not cover.

Every option of DAS 0.32.13's ``das train`` and ``das predict`` parses (scripts written for DAS,
the DAS GUI's "export script" and DAS's docs run unchanged):

- DAS's short aliases (``-x -y -m -k -i -a`` for train, ``-v -r`` for predict) map to our options;
- options DAS itself ignores (``--batch-norm``, ``--nb-stacks``, ``--pre-kernel-size``...) are
  accepted and have no effect, as in DAS;
- options we do not implement are accepted at DAS's default value; any other value stops with
  one line ``option --X is not supported by napari-das: <why>``.
"""

from __future__ import annotations

import argparse
from typing import Any

from .core.errors import DasError

#: train options DAS accepts but never uses (or that only change its log output): no effect
IGNORED_TRAIN = {
    "batch_norm": ("bool", "unused by DAS's networks"),
    "nb_stacks": (int, "unused by DAS"),
    "pre_kernel_size": (int, "unused (DAS's legacy frontends)"),
    "pre_nb_filters": (int, "unused (DAS's legacy frontends)"),
    "pre_nb_kernels": (int, "unused (DAS's legacy frontends)"),
    "log_messages": ("bool", "napari-das always logs INFO messages"),
    "post_opt_nb_workers": (int, "post-processing search runs in one process"),
}
#: train options implemented only at DAS's default: (type, accepted value, why not others)
UNSUPPORTED_TRAIN = {
    "with_y_hist": ("bool", True, "classification mode (one label per chunk) is not "
                    "implemented"),
    "tmse_weight": (float, 0.0, "the TMSE smoothness loss is not implemented"),
    "batch_level_subsampling": ("bool", False, "--fraction-data takes one contiguous range "
                                "(DAS's default)"),
    "resnet_compute": ("bool", False, "only for DAS's stft_res_dense model, not implemented"),
    "resnet_train": ("bool", False, "only for DAS's stft_res_dense model, not implemented"),
    "wandb_api_token": (str, None, "Weights & Biases logging is not implemented; use "
                        "--tensorboard"),
    "wandb_project": (str, None, "Weights & Biases logging is not implemented; use "
                      "--tensorboard"),
    "wandb_entity": (str, None, "Weights & Biases logging is not implemented; use "
                     "--tensorboard"),
    "upsample": ("bool", True, "models predict at the audio rate (upsample=False would give "
                 "one label per STFT frame)"),
}
IGNORED_PREDICT = {"verbose": (int, "progress is shown unless --progress-json")}
#: DAS's short aliases -> (our destination, type)
SHORT_TRAIN = {"-x": ("x_suffix", str), "-y": ("y_suffix", str), "-m": ("model_name", str),
               "-k": ("kernel_size", int), "-i": ("ignore_boundaries", "bool"),
               "-a": ("augmentations", str), "--augmentations": ("augmentations", str)}
SHORT_PREDICT = {"-r": ("resample", "bool")}
PREFIX = "das_compat_"


def _parse_bool(text: str) -> bool:
    value = str(text).strip().lower()
    if value in ("1", "true", "yes", "y", "on"):
        return True
    if value in ("0", "false", "no", "n", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected True or False, got {text!r}")


def _add(group, flag: str, dest: str, kind: Any, show: bool = False) -> None:
    common = {"dest": dest, "default": argparse.SUPPRESS}
    helptext = argparse.SUPPRESS if not show else None
    if kind == "bool":
        group.add_argument(flag, nargs="?", const=True, type=_parse_bool, metavar="BOOL",
                           help=helptext, **common)
        if flag.startswith("--"):
            group.add_argument(f"--no-{flag[2:]}", action="store_false", help=argparse.SUPPRESS,
                               **common)
    else:
        group.add_argument(flag, type=kind, help=helptext, **common)


def add_das_options(parser: argparse.ArgumentParser, command: str) -> None:
    """Add DAS's options of ``command`` (``train`` or ``predict``) that ours lack."""
    existing = {s for a in parser._actions for s in a.option_strings}
    group = parser.add_argument_group(
        "DAS 0.32 options", "accepted for DAS's scripts: ignored where DAS ignores them too; "
        "others only at DAS's default (see napari_das.cli_das)")
    table = {**IGNORED_TRAIN, **{k: (v[0], v[2]) for k, v in UNSUPPORTED_TRAIN.items()}} \
        if command == "train" else dict(IGNORED_PREDICT)
    for name, (kind, _) in table.items():
        flag = f"--{name.replace('_', '-')}"
        if flag not in existing:
            _add(group, flag, PREFIX + name, kind)
    shorts = SHORT_TRAIN if command == "train" else SHORT_PREDICT
    for flag, (dest, kind) in shorts.items():
        if flag not in existing:
            _add(group, flag, dest, kind)
    if command == "predict" and "-v" not in existing:
        _add(group, "-v", PREFIX + "verbose", int)


def check_das_options(args: argparse.Namespace) -> None:
    """Drop the ignored DAS options; stop with one line for unsupported values."""
    for key in [k for k in vars(args) if k.startswith(PREFIX)]:
        name = key[len(PREFIX):]
        value = getattr(args, key)
        delattr(args, key)
        if name in UNSUPPORTED_TRAIN:
            _, accepted, why = UNSUPPORTED_TRAIN[name]
            if value != accepted and not (accepted is None and value in ("", "None")):
                raise DasError(f"option --{name.replace('_', '-')} is not supported by "
                               f"napari-das: {why}")
