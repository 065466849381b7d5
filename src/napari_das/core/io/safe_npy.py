"""Pickled ``.npy`` files (DAS's ``attrs.npy``) read without running code, written for numpy 1.

DAS stores dataset attributes as a pickled dict in a 0-d object array (``np.save(...,
allow_pickle=True)``); DAS loads it with ``np.load(path, allow_pickle=True)[()]``.  A pickle can
call any importable function, so :func:`load_pickled_npy` unpickles with an allow-list: plain
containers, strings, numbers, and the numpy functions that rebuild arrays, dtypes and scalars.
Anything else (``os.system``, ``builtins.eval``...) is refused with a one-line
:class:`DasError` naming the file and the refused global; nothing is called.

numpy 2 pickles arrays through ``numpy._core``, which numpy 1 (DAS 0.32.13 with TensorFlow 2.13)
cannot import.  :func:`save_pickled_npy` writes protocol-3 pickles whose globals name
``numpy.core.multiarray`` (importable under numpy 1, and an alias under numpy 2), checked by
reading the bytes back through the restricted unpickler.
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DasError
from .files import sibling_temp_file

#: (module, name) pairs a pickle may reference.  Both numpy spellings are accepted on read.
_NUMPY_CORE = ("numpy.core.multiarray", "numpy._core.multiarray")
ALLOWED_GLOBALS = {
    **{(m, "_reconstruct"): "_reconstruct" for m in _NUMPY_CORE},
    **{(m, "scalar"): "scalar" for m in _NUMPY_CORE},
    **{(m.replace("multiarray", "numeric"), "_frombuffer"): "_frombuffer" for m in _NUMPY_CORE},
    ("numpy", "ndarray"): "ndarray",
    ("numpy", "dtype"): "dtype",
    ("collections", "OrderedDict"): "OrderedDict",
    ("builtins", "set"): "set",
    ("builtins", "frozenset"): "frozenset",
    ("builtins", "complex"): "complex",
    ("builtins", "slice"): "slice",
    ("_codecs", "encode"): "encode",
}


def _numpy_function(name: str) -> Any:
    try:
        from numpy._core import multiarray, numeric
    except ImportError:  # numpy 1
        from numpy.core import multiarray, numeric
    return {"_reconstruct": multiarray._reconstruct, "scalar": multiarray.scalar,
            "_frombuffer": getattr(numeric, "_frombuffer", None)}[name]


def _encode(text: str, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` restricted to text -> bytes (how protocol 2 pickles bytes)."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("_codecs.encode with unexpected arguments")
    return text.encode("latin1")


class RefusedPickle(pickle.UnpicklingError):
    """The pickle references a global outside :data:`ALLOWED_GLOBALS`."""


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only :data:`ALLOWED_GLOBALS` and refuses everything else."""

    def find_class(self, module: str, name: str) -> Any:
        key = ALLOWED_GLOBALS.get((module, name))
        if key is None:
            raise RefusedPickle(f"{module}.{name}")
        if key in ("_reconstruct", "scalar", "_frombuffer"):
            return _numpy_function(key)
        if key == "encode":
            return _encode
        import builtins
        import collections

        return {"ndarray": np.ndarray, "dtype": np.dtype,
                "OrderedDict": collections.OrderedDict}.get(key) or getattr(builtins, key)

    def persistent_load(self, pid: Any) -> Any:
        raise RefusedPickle("persistent id")


def loads_restricted(data: bytes) -> Any:
    """Unpickle ``data`` with :class:`RestrictedUnpickler`."""
    return RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()


def load_pickled_npy(path: str | os.PathLike) -> Any:
    """The object stored in a pickled ``.npy`` file (a 0-d object array gives its item).

    Raises
    ------
    DasError
        One line when the file pickles a function or class outside the allow-list (the file is
        refused, nothing runs), or is not a readable ``.npy`` file.
    """
    path = Path(os.fspath(path))
    try:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read_header(fh)
            if not dtype.hasobject:
                fh.seek(0)
                return np.load(fh, allow_pickle=False)
            value = RestrictedUnpickler(fh, encoding="latin1").load()
    except RefusedPickle as err:
        raise DasError(f"refused: the file holds pickled code ({err}), not plain data; "
                       "napari-das never runs code from a dataset: ask for a clean copy",
                       path) from None
    except (OSError, ValueError, EOFError, pickle.UnpicklingError, AttributeError,
            TypeError, IndexError) as err:
        raise DasError(f"unreadable pickled numpy file ({type(err).__name__}: "
                       f"{' '.join(str(err).split())[:120]})", path) from None
    if isinstance(value, np.ndarray) and value.dtype.hasobject and value.shape == ():
        return value[()]
    return value


def _numpy1_pickle(obj: Any) -> bytes:
    """Protocol-3 pickle of ``obj`` with numpy globals spelled ``numpy.core``."""
    data = pickle.dumps(obj, protocol=3)
    # protocol 3 writes globals as text lines after the GLOBAL opcode "c"
    data = data.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    data = data.replace(b"cnumpy._core.numeric\n", b"cnumpy.core.numeric\n")
    if b"numpy._core" in data:
        raise ValueError("the attributes hold a numpy type that numpy 1 cannot read")
    return data


def save_pickled_npy(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as a 0-d object array ``.npy`` that numpy 1 and 2 read, atomically.

    ``obj`` should hold plain types (dict, list, str, int, float, bool, None); the written bytes
    are read back through the restricted unpickler before the file is renamed into place.
    """
    path = Path(os.fspath(path))
    array = np.empty((), dtype=object)
    array[()] = obj
    data = _numpy1_pickle(array)
    loads_restricted(data)  # what we write must pass our own reader
    header = {"descr": "|O", "fortran_order": False, "shape": ()}
    fd, tmp = sibling_temp_file(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.lib.format.write_array_header_1_0(fh, header)
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
