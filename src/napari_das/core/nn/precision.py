"""Numeric precision of the convolutions: float32, bfloat16, or auto (bfloat16 where it is fast).

bfloat16 pays where the hardware multiplies it natively: CPUs with AMX (Intel Sapphire Rapids
and later) or AVX512-BF16 (AMD Zen 4 EPYC, Intel Cooper Lake), and GPUs of compute capability
8.0 or more.  With napari-das's own dilated convolutions (``core/nn/fastconv.py``) bfloat16 was
faster than float32 on an AMD EPYC with AVX512-BF16 and no AMX (2026-12-02: the seed network's
whole ``das predict`` process 52.0 s against 65.8 s for 10 min of audio, a training step of the
bird network 43.0 against 46.5 ms; probabilities within 0.013 of float32, event and syllable
F1 equal, ``bench/bench_bf16_accuracy.py``).  Before those convolutions, TensorFlow's own
bfloat16 convolutions and gradients were several times slower than float32 on such a CPU.
"""

from __future__ import annotations

import functools
import logging

from ..errors import DasError

log = logging.getLogger(__name__)

PRECISIONS = ("float32", "bfloat16", "auto")


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (Linux ``/proc/cpuinfo``; empty elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_has_amx() -> bool:
    """True on CPUs with AMX-BF16 tiles (where TensorFlow 2.21's oneDNN bfloat16 convolution
    is wrong for some shapes: see ``fastconv.forward_low_precision_ok``)."""
    return "amx_bf16" in cpu_flags()


def cpu_has_fast_bfloat16() -> bool:
    """True on CPUs that multiply bfloat16 natively (AMX-BF16 or AVX512-BF16)."""
    return cpu_has_amx() or "avx512_bf16" in cpu_flags()


def gpu_has_fast_bfloat16() -> bool:
    """True when TensorFlow sees a GPU of compute capability 8.0 or more (imports TensorFlow)."""
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            cc = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        except Exception:  # pragma: no cover - driver specific
            cc = None
        if cc and tuple(cc) >= (8, 0):
            return True
    return False


def resolve_precision(precision: str) -> str:
    """``"float32"`` or ``"bfloat16"`` for a ``--precision`` value."""
    precision = str(precision).lower()
    if precision not in PRECISIONS:
        raise DasError(f"--precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision != "auto":
        return precision
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return "bfloat16" if gpu_has_fast_bfloat16() else "float32"
    return "bfloat16" if cpu_has_fast_bfloat16() else "float32"


def compute_dtype(precision: str) -> str | None:
    """The dtype for :func:`napari_das.core.nn.fastconv.use_fast_convolutions`."""
    return "bfloat16" if resolve_precision(precision) == "bfloat16" else None
