"""Import TensorFlow/Keras without their start-up chatter on stderr (every ``das`` command).

TensorFlow 2.21 prints its oneDNN notice (``I0000 ... port.cc] oneDNN custom operations are
on ...``, preceded by absl's ``WARNING: All log messages before absl::InitializeLog() ...``) from
C++ while it loads, *before* it reads ``TF_CPP_MIN_LOG_LEVEL``, so the variable alone does not
silence it (measured: the notice appears twice per process with the variable at 2 or 3).
:func:`import_quietly` therefore points file descriptor 2 at a temporary file while TensorFlow
and Keras load and replays every line that is not known chatter (real errors still show), then
turns down absl, the TensorFlow Python logger and Keras/TensorFlow Python warnings.
``das --debug`` does not call it, so everything shows.

TensorFlow is only imported inside the function (core never imports it at module level).
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
import warnings

#: Lines TensorFlow/absl print while loading that carry nothing for a user.
CHATTER = re.compile(
    r"All log messages before absl::InitializeLog"
    r"|oneDNN custom operations are on"
    r"|This TensorFlow binary is optimized to use available CPU instructions"
    r"|rebuild TensorFlow with the appropriate compiler flags"
    r"|Unable to register cu(DNN|FFT|BLAS) factory"
    r"|^[IW]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ [\w./-]+:\d+\]"  # absl INFO/WARNING lines
)


def is_chatter(line: str) -> bool:
    """True for a start-up line of TensorFlow/absl that :func:`import_quietly` drops."""
    return bool(CHATTER.search(line))


def import_quietly() -> bool:
    """Import TensorFlow and Keras with their start-up chatter dropped; False if not installed.

    Lines on stderr that are not chatter (errors, anything unknown) are written back to stderr.
    Later calls only re-apply the log levels.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" not in sys.modules:
        captured = _run_with_stderr_captured(_import_tf_keras)
        kept = [line for line in captured.splitlines() if line.strip() and not is_chatter(line)]
        if kept:
            sys.stderr.write("\n".join(kept) + "\n")
            sys.stderr.flush()
    if "tensorflow" not in sys.modules:
        return False
    import tensorflow as tf

    tf.get_logger().setLevel(logging.ERROR)
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:  # pragma: no cover - absl comes with TensorFlow
        pass
    for module in ("keras", "tensorflow", "absl"):
        warnings.filterwarnings("ignore", module=rf"{module}(\.|$)")
    return True


def _import_tf_keras() -> None:
    try:
        import keras  # noqa: F401
        import tensorflow  # noqa: F401
    except ImportError:
        pass


def _run_with_stderr_captured(func) -> str:
    """Run ``func`` with fd 2 (C/C++ and Python stderr) redirected; return what it printed."""
    sys.stderr.flush()
    with tempfile.TemporaryFile() as sink:
        saved = os.dup(2)
        try:
            os.dup2(sink.fileno(), 2)
            func()
        finally:
            try:
                sys.stderr.flush()
            finally:
                os.dup2(saved, 2)
                os.close(saved)
        sink.seek(0)
        return sink.read().decode("utf-8", errors="replace")
