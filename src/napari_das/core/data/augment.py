"""DAS's training augmentations (spec 4.5), applied to the audio of training batches.

The specification is DAS's: a YAML file (``das train --augmentations FILE``) or a dict
``{Name: {argument: value | {ParamType: {...}}}}``; a ``-suffix`` on a name allows repeats
(``MaskNoise-1``).  Parameter types draw a new value for every example: ``Constant(value=0)``,
``Normal(mean=0, std=1)``, ``Uniform(lower=-1, upper=1)``; a bare number is a constant.
Augmentations run in the order given, on every example ``[time, channel]`` of a batch, on ``x``
only (targets are unchanged, as in DAS):

=================  ==================================================================
``Gain``           ``x * gain``
``Offset``         ``x + offset``
``HorizontalFlip`` ``-x`` when ``flip > 0``
``MaskNoise``      add Gaussian noise (``std``, ``mean``) over the whole example or a random
                   stretch of ``duration`` samples; ``add: false`` replaces the signal
``MaskMean``       replace a random stretch of ``duration`` samples by its mean
``CircShift``      roll in time by ``shift`` samples (a time shift)
``NormalizeMax``   divide by ``max(|x|)`` (at least 1)
``NormalizeStd``   divide by the standard deviation
=================  ==================================================================

DAS's ``Upsampling``, ``NormalizePercentile`` and ``NotchFilter`` are refused with one line.
Unlike DAS (unseeded), every draw comes from a generator seeded with the training seed and the
batch index, so a run (and a resumed run) sees the same augmented batches.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..errors import DasError

Param = Callable[[np.random.Generator], float]

PARAM_TYPES = {
    "Constant": (("value", 0.0),),
    "Normal": (("mean", 0.0), ("std", 1.0)),
    "Uniform": (("lower", -1.0), ("upper", 1.0)),
}
NOT_SUPPORTED = {"Upsampling": "it stretches x in time but not the targets (DAS's own quirk)",
                 "NormalizePercentile": "divides by a percentile that can be zero or negative",
                 "NotchFilter": "not implemented"}


def make_param(spec: Any, where: str) -> Param:
    """A parameter drawn per example: a number (constant) or ``{Type: {args}}``."""
    if isinstance(spec, bool) or spec is None:
        raise DasError(f"augmentation {where}: expected a number or {{Normal: {{...}}}}, got "
                       f"{spec!r}")
    if isinstance(spec, int | float):
        value = float(spec)
        return lambda rng: value
    if not isinstance(spec, Mapping) or len(spec) != 1:
        raise DasError(f"augmentation {where}: expected a number or one parameter type "
                       f"({', '.join(PARAM_TYPES)}), got {spec!r}")
    (kind, args), = spec.items()
    if kind not in PARAM_TYPES:
        raise DasError(f"augmentation {where}: unknown parameter type {kind!r}; use one of "
                       f"{', '.join(PARAM_TYPES)}")
    args = dict(args or {})
    names = dict(PARAM_TYPES[kind])
    unknown = set(args) - set(names)
    if unknown:
        raise DasError(f"augmentation {where}: {kind} takes {', '.join(names)}, not "
                       f"{', '.join(sorted(unknown))}")
    values = {k: float(args.get(k, default)) for k, default in names.items()}
    if kind == "Constant":
        return lambda rng: values["value"]
    if kind == "Normal":
        return lambda rng: float(rng.normal(values["mean"], values["std"]))
    if values["upper"] < values["lower"]:
        raise DasError(f"augmentation {where}: Uniform needs lower <= upper")
    return lambda rng: float(rng.uniform(values["lower"], values["upper"]))


def _stretch(rng: np.random.Generator, length: int, duration: Param | None) -> slice:
    if duration is None:
        return slice(0, length)
    n = int(np.clip(int(duration(rng)), 0, length))
    start = int(rng.integers(0, length - n + 1))
    return slice(start, start + n)


def _gain(x, rng, gain):
    return x * gain(rng)


def _offset(x, rng, offset):
    return x + offset(rng)


def _flip(x, rng, flip):
    return -x if flip(rng) > 0 else x


def _mask_noise(x, rng, std=None, mean=None, duration=None, add=True):
    where = _stretch(rng, len(x), duration)
    n = where.stop - where.start
    noise = rng.standard_normal((n, x.shape[1])) * (std(rng) if std else 1.0) + \
        (mean(rng) if mean else 0.0)
    x = x.copy()
    x[where] = x[where] + noise if add else noise
    return x


def _mask_mean(x, rng, duration):
    where = _stretch(rng, len(x), duration)
    x = x.copy()
    if where.stop > where.start:
        x[where] = x[where].mean(axis=0)
    return x


def _circ_shift(x, rng, shift):
    return np.roll(x, int(shift(rng)), axis=0)


def _normalize_max(x, rng):
    return x / max(float(np.nanmax(np.abs(x), initial=1.0)), 1e-12)


def _normalize_std(x, rng):
    std = float(np.nanstd(x))
    return x / std if std > 0 else x


#: name -> (function, parameter arguments, plain arguments)
AUGMENTATIONS: dict[str, tuple[Callable, tuple[str, ...], tuple[str, ...]]] = {
    "Gain": (_gain, ("gain",), ()),
    "Offset": (_offset, ("offset",), ()),
    "HorizontalFlip": (_flip, ("flip",), ()),
    "MaskNoise": (_mask_noise, ("std", "mean", "duration"), ("add",)),
    "MaskMean": (_mask_mean, ("duration",), ()),
    "CircShift": (_circ_shift, ("shift",), ()),
    "NormalizeMax": (_normalize_max, (), ()),
    "NormalizeStd": (_normalize_std, (), ()),
}
REQUIRED = {"Gain": ("gain",), "Offset": ("offset",), "HorizontalFlip": ("flip",),
            "MaskMean": ("duration",), "CircShift": ("shift",)}


@dataclass
class Augmenter:
    """A chain of augmentations: ``augmenter(x [B, T, C], rng) -> x`` (float32)."""

    steps: list[tuple[str, Callable, dict[str, Any]]]
    spec: dict[str, Any]

    def __len__(self) -> int:
        return len(self.steps)

    def __call__(self, batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = np.array(batch, dtype=np.float32, copy=True)
        for b in range(len(out)):
            example = out[b]
            for _, func, kwargs in self.steps:
                example = func(example, rng, **kwargs)
            out[b] = example
        return out


def from_spec(spec: Mapping[str, Any] | None) -> Augmenter | None:
    """Build the chain from DAS's dict; None for an empty spec.  DasError for bad specs."""
    if not spec:
        return None
    if not isinstance(spec, Mapping):
        raise DasError("augmentations: expected a mapping {Name: {argument: value}}")
    steps = []
    for full_name, args in spec.items():
        name = str(full_name).split("-", 1)[0]
        if name in NOT_SUPPORTED:
            raise DasError(f"augmentation {name} is not supported by napari-das: "
                           f"{NOT_SUPPORTED[name]}")
        if name not in AUGMENTATIONS:
            raise DasError(f"unknown augmentation {full_name!r}; use one of "
                           f"{', '.join(AUGMENTATIONS)}")
        func, param_args, plain_args = AUGMENTATIONS[name]
        args = dict(args or {})
        unknown = set(args) - set(param_args) - set(plain_args)
        if unknown:
            raise DasError(f"augmentation {full_name}: unknown argument(s) "
                           f"{', '.join(sorted(unknown))}; it takes "
                           f"{', '.join(param_args + plain_args) or 'none'}")
        missing = [a for a in REQUIRED.get(name, ()) if a not in args]
        if missing:
            raise DasError(f"augmentation {full_name}: give {', '.join(missing)}")
        kwargs: dict[str, Any] = {}
        for arg, value in args.items():
            if arg in plain_args:
                kwargs[arg] = bool(value)
            else:
                kwargs[arg] = make_param(value, f"{full_name}.{arg}")
        steps.append((str(full_name), func, kwargs))
    return Augmenter(steps, dict(spec))


def load_augmentations(source: str | os.PathLike | Mapping | None) -> Augmenter | None:
    """From a YAML file (DAS's ``--augmentations``), a dict, or None (no augmentation)."""
    if source is None or source == "":
        return None
    if isinstance(source, Mapping):
        return from_spec(source)
    path = Path(os.fspath(source))
    if not path.is_file():
        raise DasError("augmentations file not found: give a YAML file like "
                       "'Gain: {gain: {Uniform: {lower: 0.5, upper: 2}}}'", path)
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise DasError(f"unreadable augmentations file ({' '.join(str(err).split())[:120]})",
                       path) from None
    try:
        return from_spec(spec)
    except DasError as err:
        raise DasError(str(err), path) from None
