"""Training presets: documented recipes per kind of song (``das train --preset``, Train widget).

A preset fills in network and training options; every option the user gives explicitly wins
over the preset (``apply_preset``).  The networks are DAS's published ones (DAS documentation,
"recommended architectures"; DAS_REFERENCE section 8):

========  ==========  =======  ======  ======  ===  ==  =========================================
preset    nb_hist     STFT     stacks  k       F    lr  for
========  ==========  =======  ======  ======  ===  ==  =========================================
bird      1024        16x      4       32      64       syllables at 32-48 kHz (Bengalese finch)
fly       4096        none     3       32      32       pulse and sine song at 10 kHz
mouse     8192        16x      2       16      32       ultrasonic vocalisations at 250-300 kHz
========  ==========  =======  ======  ======  ===  ==  =========================================

Training options of every preset: DAS's learning rate (5e-4) with the cosine schedule over
``--nb-epoch``, which ends a run at a fiftieth of the rate instead of wherever the last
constant-rate step left it (with a constant rate the finch recipe of ``tests/e2e/test_finch.py``
ended at offset F1 0.75, 0.88 or 0.96 depending on the seed).  Give ``--nb-epoch`` with a
preset: the schedule spans it.
"""

from __future__ import annotations

from typing import Any

from .errors import DasError

#: Options shared by every preset (training).
_COMMON: dict[str, Any] = {"lr_schedule": "cosine"}

PRESETS: dict[str, dict[str, Any]] = {
    "bird": {"nb_hist": 1024, "nb_pre_conv": 4, "pre_nb_dft": 64, "nb_conv": 4,
             "kernel_size": 32, "nb_filters": 64, **_COMMON},
    "fly": {"nb_hist": 4096, "nb_pre_conv": 0, "nb_conv": 3, "kernel_size": 32,
            "nb_filters": 32, **_COMMON},
    "mouse": {"nb_hist": 8192, "nb_pre_conv": 4, "pre_nb_dft": 64, "nb_conv": 2,
              "kernel_size": 16, "nb_filters": 32, **_COMMON},
}
PRESET_NAMES = ("none", *PRESETS)


def preset_values(name: str | None) -> dict[str, Any]:
    """The options of preset ``name`` (empty for None or ``"none"``)."""
    if not name or name == "none":
        return {}
    if name not in PRESETS:
        raise DasError(f"unknown preset {name!r}: use one of {', '.join(PRESET_NAMES)}")
    return dict(PRESETS[name])


def apply_preset(name: str | None, given: dict[str, Any]) -> dict[str, Any]:
    """``given`` (the options the user set explicitly) on top of preset ``name``.

    >>> apply_preset("bird", {"nb_filters": 16})["nb_filters"]
    16
    >>> apply_preset("bird", {})["nb_filters"]
    64
    >>> apply_preset(None, {"nb_hist": 2048})
    {'nb_hist': 2048}
    """
    return {**preset_values(name), **given}
