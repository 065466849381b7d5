"""`das` commands keep TensorFlow's start-up chatter off stderr unless --debug (issue 16)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from napari_das.core.config import NetworkConfig
from napari_das.core.io import audio
from napari_das.core.io.params import save_params
from napari_das.core.nn.quiet import _run_with_stderr_captured, is_chatter

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
#: What TensorFlow 2.21 printed on this project's machines before the fix (PLATFORM.md).
RECORDED = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796110728.274905   14714 port.cc:153] oneDNN custom operations are on. You may "
    "see slightly different numerical results due to floating-point round-off errors from "
    "different computation orders. To turn them off, set the environment variable "
    "`TF_ENABLE_ONEDNN_OPTS=0`.",
    "I0000 00:00:1796110985.543486   16295 cpu_feature_guard.cc:227] This TensorFlow binary is "
    "optimized to use available CPU instructions in performance-critical operations.",
    "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild "
    "TensorFlow with the appropriate compiler flags.",
]
TELLTALES = ("oneDNN", "absl", "I0000", "W0000", "cpu_feature_guard", "tensorflow", "Warning")


def test_chatter_is_recognised_and_real_messages_are_not():
    assert all(is_chatter(line) for line in RECORDED)
    for line in ("das: error: a.wav: not a readable audio file", "INFO: loaded model m.keras",
                 "E0000 00:00:1796110728.274905   14714 foo.cc:1] something real failed",
                 "Traceback (most recent call last):"):
        assert not is_chatter(line), line


def test_stderr_of_the_import_is_captured_at_the_file_descriptor():
    def noisy():
        os.write(2, b"from C++\n")
        print("from Python", file=sys.__stderr__, flush=True)  # pytest swaps sys.stderr

    assert _run_with_stderr_captured(noisy).splitlines() == ["from C++", "from Python"]


def test_das_predict_prints_no_tensorflow_chatter(tmp_path):
    from napari_das.core.nn.model import build_model

    net = NetworkConfig(nb_hist=64, nb_filters=4, kernel_size=3, nb_conv=1, dilations=[1, 2])
    build_model(net, 1, 2, compile=False).save(tmp_path / "m_model.keras")
    save_params(tmp_path / "m_params.yaml", dict(net.to_dict(), class_names=["noise", "sine"],
                class_types=["segment", "segment"], samplerate_x_Hz=1000.0, nb_channels=1))
    noise = 0.1 * np.random.default_rng(0).normal(size=(1500, 1)).astype(np.float32)
    audio.write(tmp_path / "a.wav", noise, 1000.0)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "ABSL"))}
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run(
        [sys.executable, "-m", "napari_das.cli", "predict", str(tmp_path / "a.wav"),
         str(tmp_path / "m")], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "a_annotations.csv").exists()
    lines = done.stderr.replace(str(tmp_path) + os.sep, "").splitlines()
    assert not [line for line in lines if any(word in line for word in TELLTALES)], done.stderr
    assert lines == ["INFO: loaded model m_model.keras", "[1/1] a.wav"], done.stderr
