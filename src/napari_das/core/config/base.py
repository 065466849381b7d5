"""The shared machinery of the config classes: :func:`option` (a dataclass field with CLI and
widget metadata) and :class:`ConfigBase` (dict round trip, validation, replacement).
"""

from __future__ import annotations

import dataclasses
from dataclasses import field, fields
from typing import Any, TypeVar

from ..errors import DasError

C = TypeVar("C", bound="ConfigBase")


def option(default: Any = dataclasses.MISSING, help: str = "", **meta: Any) -> Any:
    """A dataclass field with CLI/widget metadata (lists get a default factory)."""
    meta["help"] = help
    if isinstance(default, list):
        value = list(default)
        return field(default_factory=lambda: list(value), metadata=meta)
    return field(default=default, metadata=meta)


class ConfigBase:
    """Shared behaviour: dict round trip, validation, replacement."""

    def to_dict(self) -> dict[str, Any]:
        """Plain-typed dict (safe for YAML/JSON)."""
        out = {}
        for f in fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    @classmethod
    def from_dict(cls: type[C], values: dict[str, Any], strict: bool = False) -> C:
        """Build from a dict (e.g. a ``_params.yaml``); unknown keys are ignored unless ``strict``."""
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = set(values) - names
        if strict and unknown:
            raise DasError(f"unknown option(s) {', '.join(sorted(unknown))}")
        return cls(**{k: v for k, v in values.items() if k in names})

    def replace(self: C, **changes: Any) -> C:
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    def validated(self: C) -> C:
        """Return a checked copy (with defaults resolved); raise DasError on bad values."""
        for f in fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            meta = f.metadata
            if v is None:
                continue
            if "choices" in meta and v not in meta["choices"]:
                raise DasError(
                    f"--{flag(f.name)} must be one of {', '.join(map(str, meta['choices']))}, not {v!r}"
                )
            if "min" in meta and isinstance(v, int | float) and v < meta["min"]:
                raise DasError(f"--{flag(f.name)} must be at least {meta['min']}, not {v}")
            if "max" in meta and isinstance(v, int | float) and v > meta["max"]:
                raise DasError(f"--{flag(f.name)} must be at most {meta['max']}, not {v}")
        self._check()  # type: ignore[attr-defined]
        return self

    def _check(self) -> None:  # overridden
        pass


def flag(name: str) -> str:
    """The command-line flag of a field name (``nb_hist`` -> ``nb-hist``)."""
    return name.replace("_", "-")
