"""Reading and writing ``<save_name>_params.yaml``.

Our files are safe YAML with plain types only (str, int, float, bool, None, lists, dicts).
DAS wrote its params with PyYAML's unsafe dumper, so numpy scalars and tuples appear as Python
tags (``!!python/object/apply:numpy.core.multiarray.scalar``, ``!!python/tuple``).
:func:`load_params` reads those files with a :class:`yaml.SafeLoader` subclass that turns the
tags into plain values; nothing is ever imported or executed.

Examples
--------
>>> text = "a: !!python/tuple [1, 2]\\nb: !!python/object/apply:numpy.core.multiarray.scalar\\n" \\
...        "- !!python/object/apply:numpy.dtype {args: [f8, false, true]}\\n- !!binary AAAAAAAA+D8=\\n"
>>> loads_params(text)
{'a': [1, 2], 'b': 1.5}
"""

from __future__ import annotations

import base64
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..errors import DasError
from .files import atomic_write_text, result_paths


# ------------------------------------------------------------------------------------ plain types
def to_plain(value: Any) -> Any:
    """Convert numpy scalars/arrays, tuples, sets and paths to plain YAML-safe Python values.

    Non-finite floats are kept (safe YAML writes ``.nan``/``.inf``).
    """
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_plain(value.tolist())
    if isinstance(value, np.dtype):
        return str(value)
    if isinstance(value, np.generic):
        return to_plain(value.item())
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


# ------------------------------------------------------------------------------------ writing
def save_params(path: str | os.PathLike, params: dict[str, Any]) -> Path:
    """Write ``params`` as safe YAML (plain types only), atomically.

    Parameters
    ----------
    path : str or PathLike
        The ``_params.yaml`` file (a save-name stem gets the suffix appended).
    params : dict
        Values; numpy types, tuples and paths are converted to plain types.

    Returns
    -------
    Path
        The written file.
    """
    path = Path(os.fspath(path))
    if not path.name.endswith(".yaml"):
        path = Path(result_paths(path)["params"])
    text = yaml.safe_dump(to_plain(params), sort_keys=False, default_flow_style=None,
                          allow_unicode=True, width=100)
    atomic_write_text(path, text)
    return path


# ------------------------------------------------------------------------------------ reading
class DasParamsLoader(yaml.SafeLoader):
    """A safe loader that also understands the Python/numpy tags in DAS's params files.

    The tags are mapped to plain values (tuples to lists, numpy scalars to int/float/bool/str,
    numpy arrays to nested lists, dtypes to their name); no Python object is ever created.
    """


_TAG = "tag:yaml.org,2002:"


def _construct_any(loader: yaml.Loader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    return loader.construct_scalar(node)


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):  # python2-era dumps: latin-1 text, or base64
        try:
            return base64.b64decode(value, validate=True)
        except ValueError:
            return value.encode("latin-1")
    raise ValueError(f"expected bytes, got {type(value).__name__}")


def _dtype(args: list, state: Any) -> np.dtype:
    dtype = np.dtype(str(args[0]))
    if isinstance(state, list) and len(state) > 1 and state[1] in ("<", ">"):
        dtype = dtype.newbyteorder(state[1])
    return dtype


def _apply(loader: yaml.Loader, suffix: str, node: yaml.Node) -> Any:
    """``!!python/object/apply:<callable>`` (and ``object/new``): plain value, never a call."""
    raw = _construct_any(loader, node)
    if isinstance(raw, dict):
        args, state = list(raw.get("args", []) or []), raw.get("state")
    elif isinstance(raw, list):
        args, state = raw, None
    else:
        args, state = [raw], None
    name = suffix.rsplit(".", 1)[-1]
    if name == "dtype" and args:
        return _dtype(args, state)
    if name == "scalar" and len(args) == 2:
        dtype = args[0] if isinstance(args[0], np.dtype) else np.dtype(str(args[0]))
        return to_plain(np.frombuffer(_as_bytes(args[1]), dtype=dtype)[0])
    if name == "_reconstruct" and isinstance(state, list) and len(state) >= 5:
        _, shape, dtype, fortran, data = state[:5]
        dtype = dtype if isinstance(dtype, np.dtype) else np.dtype(str(dtype))
        if isinstance(data, list):  # object arrays store their items
            arr = np.array(data, dtype=object)
        else:
            arr = np.frombuffer(_as_bytes(data), dtype=dtype)
        order = "F" if fortran else "C"
        return to_plain(arr.reshape([int(s) for s in shape], order=order))
    if name in ("OrderedDict", "dict") :
        return dict(args[0]) if args else (state if isinstance(state, dict) else {})
    if name in ("tuple", "list", "set", "frozenset"):
        return list(args[0]) if args else []
    if name in ("float", "int", "str", "bool", "complex") and args:
        return to_plain(args[0])
    if isinstance(state, dict):
        return state
    if len(args) == 1:
        return args[0]
    return args or None


def _python_object(loader: yaml.Loader, suffix: str, node: yaml.Node) -> Any:
    """``!!python/object:<class>``: the instance's state mapping."""
    return _construct_any(loader, node)


def _python_name(loader: yaml.Loader, suffix: str, node: yaml.Node) -> str:
    return suffix


DasParamsLoader.add_multi_constructor(_TAG + "python/object/apply:", _apply)
DasParamsLoader.add_multi_constructor(_TAG + "python/object/new:", _apply)
DasParamsLoader.add_multi_constructor(_TAG + "python/object:", _python_object)
DasParamsLoader.add_multi_constructor(_TAG + "python/name:", _python_name)
DasParamsLoader.add_multi_constructor(_TAG + "python/module:", _python_name)
DasParamsLoader.add_constructor(_TAG + "python/tuple",
                                lambda loader, node: loader.construct_sequence(node, deep=True))
for _simple, _conv in (("python/unicode", str), ("python/str", str), ("python/bytes", str),
                       ("python/int", int), ("python/long", int), ("python/float", float),
                       ("python/complex", str)):
    DasParamsLoader.add_constructor(
        _TAG + _simple, lambda loader, node, conv=_conv: conv(loader.construct_scalar(node)))
DasParamsLoader.add_constructor(
    _TAG + "python/bool", lambda loader, node: loader.construct_yaml_bool(node))
DasParamsLoader.add_constructor(_TAG + "python/none", lambda loader, node: None)
DasParamsLoader.add_constructor(_TAG + "python/dict",
                                lambda loader, node: loader.construct_mapping(node, deep=True))
DasParamsLoader.add_constructor(_TAG + "python/list",
                                lambda loader, node: loader.construct_sequence(node, deep=True))


def loads_params(text: str) -> dict[str, Any]:
    """Parse params YAML text (ours or DAS's) into a dict of plain values."""
    value = yaml.load(text, Loader=DasParamsLoader)  # noqa: S506 - a SafeLoader subclass
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("the params file does not hold a mapping")
    return to_plain(value)


def load_params(stem_or_path: str | os.PathLike) -> dict[str, Any]:
    """Read a ``_params.yaml`` (given the file, any result file or the save-name stem).

    Reads our safe files and DAS's files with Python/numpy tags, without an unsafe loader.

    Raises
    ------
    DasError
        If the file is missing or is not a YAML mapping.
    """
    text = os.fspath(stem_or_path)
    path = Path(text if text.endswith(".yaml") else result_paths(text)["params"])
    if not path.is_file():
        raise DasError("params file not found: give the save name of a trained model "
                       "(the path before _model.h5)", path)
    try:
        return loads_params(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, ValueError, TypeError, IndexError) as err:
        msg = " ".join(str(err).split())[:200]
        raise DasError(f"not a readable params file ({msg})", path) from None


def is_finite_number(value: Any) -> bool:
    """True for int/float values that are finite (helper for history records)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def model_samplerate(params: dict[str, Any]) -> float | None:
    """The audio rate the model was trained at (``samplerate_x_Hz``), None if unknown."""
    for key in ("samplerate_x_Hz", "samplerate", "samplerate_Hz"):
        value = params.get(key)
        if value:
            return float(value)
    return None


def class_info(params: dict[str, Any], nb_classes: int | None = None) -> tuple[list, list]:
    """``(class_names, class_types)`` from params (DAS defaults: noise first, segments)."""
    names = [str(n) for n in params.get("class_names") or []]
    types = [str(t) for t in params.get("class_types") or []]
    if not names and nb_classes:
        names = ["noise"] + [f"class{k}" for k in range(1, nb_classes)]
    if len(types) != len(names):
        types = ["segment"] * len(names)
    return names, types

