"""The CPU a bench ran on, as ``lscpu`` names it (every bench table prints it)."""

from __future__ import annotations

import subprocess


def cpu_model() -> str:
    """``lscpu``'s "Model name" (``/proc/cpuinfo``'s "model name" without lscpu; else unknown)."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"
