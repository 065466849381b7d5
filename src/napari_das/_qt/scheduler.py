"""Runtime scripts for ``das train`` with an optional job-scheduler header (SLURM)."""

from __future__ import annotations

import shlex
from typing import Any

from qtpy.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QSpinBox,
)


def slurm_header(job_name: str = "das-train", time: str = "12:00:00", gpus: int = 1,
                 memory: str = "16G", cpus: int = 4) -> list[str]:
    """``#SBATCH`` lines for one training job."""
    lines = [f"#SBATCH --job-name={job_name}", f"#SBATCH --time={time}",
             f"#SBATCH --mem={memory}", f"#SBATCH --cpus-per-task={int(cpus)}",
             "#SBATCH --output=%x-%j.out"]
    if gpus:
        lines.append(f"#SBATCH --gres=gpu:{int(gpus)}")
    return lines


def script_text(argv: list[str], scheduler: dict[str, Any] | None = None) -> str:
    """A bash script running ``argv`` (one option per line), with a SLURM header if given."""
    lines = ["#!/usr/bin/env bash"]
    if scheduler:
        lines += slurm_header(**scheduler)
    lines += ["# written by the napari-das Train widget", "set -euo pipefail", ""]
    words = [shlex.quote(a) for a in argv]
    command, i = words[:2], 2
    parts = [" ".join(command)]
    while i < len(words):  # one "--flag value(s)" per line
        j = i + 1
        while j < len(words) and not argv[j].startswith("--"):
            j += 1
        parts.append(" ".join(words[i:j]))
        i = j
    lines.append(" \\\n    ".join(parts))
    return "\n".join(lines) + "\n"


class SchedulerDialog(QDialog):
    """Asks whether to add a SLURM header, and its job name, time, GPUs, memory."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Training script")
        form = QFormLayout(self)
        self.use_slurm = QCheckBox("add a SLURM header")
        self.job_name = QLineEdit("das-train")
        self.time = QLineEdit("12:00:00")
        self.gpus = QSpinBox()
        self.gpus.setRange(0, 16)
        self.gpus.setValue(1)
        self.memory = QLineEdit("16G")
        self.cpus = QSpinBox()
        self.cpus.setRange(1, 256)
        self.cpus.setValue(4)
        form.addRow(self.use_slurm)
        form.addRow("Job name", self.job_name)
        form.addRow("Time limit", self.time)
        form.addRow("GPUs", self.gpus)
        form.addRow("Memory", self.memory)
        form.addRow("CPUs", self.cpus)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def options(self) -> dict[str, Any] | None:
        if not self.use_slurm.isChecked():
            return None
        return {"job_name": self.job_name.text().strip() or "das-train",
                "time": self.time.text().strip() or "12:00:00", "gpus": self.gpus.value(),
                "memory": self.memory.text().strip() or "16G", "cpus": self.cpus.value()}
