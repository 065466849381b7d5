"""Config files: the options of a step as a flat YAML mapping, the input of
``das make-dataset/train/predict --config FILE.yaml``.

The keys are the field names of the step's config classes (the names of ``_params.yaml`` and of
the command-line flags with ``_`` for ``-``).  The widgets' **Save...** writes this format, and
:func:`config_from_params` turns the ``_params.yaml`` of a trained model back into it (its
architecture and training options, seed included), so a run can be repeated exactly::

    das config-from-params res/20240101_120000_params.yaml -o again.yaml
    das train --config again.yaml --save-name again

An unknown key is a one-line error naming the key and the file.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import yaml

from ..config import NetworkConfig, TrainingConfig
from ..errors import DasError
from .files import atomic_write_text
from .params import load_params, to_plain

#: Training options of one run, not of how to repeat it (dropped by config_from_params): a new
#: run gets a new save name (the params record the old one as a path).
RUN_ONLY_KEYS = ("resume", "save_name")


def field_names(*classes: type) -> list[str]:
    """The option names of the config ``classes``, in field order."""
    return [f.name for cls in classes for f in dataclasses.fields(cls)]


def read_config_file(path: str | os.PathLike, *classes: type) -> dict[str, Any]:
    """The options in a config file, checked against the fields of ``classes``.

    Raises
    ------
    DasError
        The file is missing, is not a YAML mapping, or holds a key that is not an option of
        ``classes`` (the message names the key).
    """
    path = Path(os.fspath(path))
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DasError("config file not found", path) from None
    except (OSError, yaml.YAMLError) as err:
        detail = " ".join(str(err).split())[:200]
        raise DasError(f"not a readable config file ({detail})", path) from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise DasError("a config file holds a YAML mapping of option: value", path)
    known = set(field_names(*classes))
    unknown = sorted(str(k) for k in values if k not in known)
    if unknown:
        raise DasError(f"unknown option {unknown[0]!r} in the config file"
                       + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else "")
                       + "; the options are those of --help with _ for -", path)
    return dict(values)


def write_config_file(path: str | os.PathLike, values: dict[str, Any]) -> Path:
    """Write ``values`` (option: value) as a config file, atomically."""
    return atomic_write_text(path, yaml.safe_dump(to_plain(values), sort_keys=False,
                                                  allow_unicode=True))


def config_from_params(stem_or_path: str | os.PathLike) -> dict[str, Any]:
    """The training and network options recorded in a ``_params.yaml``, as a config file's dict.

    Everything else in the params (dataset attributes, derived values, history, scores) is left
    out, as are the options of the run itself (``resume``, ``save_name``).  The seed is kept, so
    training again repeats the run; the recorded data subsets are kept only where they were
    chosen explicitly (a ``fraction_data`` subset is drawn again, identically, from the seed).
    """
    params = load_params(stem_or_path)
    names = field_names(TrainingConfig, NetworkConfig)
    values = {k: params[k] for k in names if k in params and k not in RUN_ONLY_KEYS}
    for split in ("train", "val"):
        first, last = f"first_sample_{split}", f"last_sample_{split}"
        if values.get("fraction_data") is not None or (values.get(first) in (0, None)
                                                       and values.get(last) is None):
            values.pop(first, None)
            values.pop(last, None)
    return values
