"""The ``das`` process ends without the interpreter's teardown once TensorFlow is loaded."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from napari_das.cli import exit_process

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
#: the child imports this tree's package (a worktree's, not an installed copy)
ENV = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}

CHILD = textwrap.dedent("""
    import atexit, logging, sys, types
    if {tensorflow}:
        sys.modules["tensorflow"] = types.ModuleType("tensorflow")  # as after a TF command
    logging.basicConfig(stream=sys.stderr, format="%(message)s")
    atexit.register(lambda: open(sys.argv[1], "w").write("cleaned up"))
    class Teardown:  # a destructor the interpreter's teardown would run
        def __del__(self):
            print("teardown ran", file=sys.stderr)
    keep = Teardown()
    print("result without newline", end="")   # buffered in a pipe until flushed
    logging.getLogger("x").warning("logged")
    from napari_das.cli import exit_process
    exit_process(7)
""")


@pytest.mark.parametrize("tensorflow", [True, False])
def test_exit_runs_handlers_flushes_and_keeps_the_code(tmp_path, tensorflow):
    marker = tmp_path / "marker"
    done = subprocess.run([sys.executable, "-c", CHILD.format(tensorflow=tensorflow),
                           str(marker)], capture_output=True, text=True, env=ENV, timeout=60)
    assert done.returncode == 7
    assert done.stdout == "result without newline"
    assert marker.read_text() == "cleaned up"  # registered exit handlers still run
    assert "logged" in done.stderr
    # with TensorFlow loaded the teardown is skipped (the 1.4 s it took), else it runs
    assert ("teardown ran" in done.stderr) is (not tensorflow)


def test_a_profiler_still_writes_its_results(tmp_path):
    """python -m cProfile writes its statistics at the teardown: the exit steps aside."""
    import pstats

    script, stats = tmp_path / "child.py", tmp_path / "child.prof"
    script.write_text(CHILD.format(tensorflow=True))
    done = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(stats), str(script),
                           str(tmp_path / "marker")], capture_output=True, text=True, env=ENV,
                          timeout=60)
    # (cProfile itself swallows SystemExit: its process ends with 0, as for any script)
    assert done.returncode == 0 and done.stdout == "result without newline"
    assert (tmp_path / "marker").read_text() == "cleaned up"
    assert pstats.Stats(str(stats)).total_calls > 0


def test_without_tensorflow_it_is_an_ordinary_exit(monkeypatch):
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    with pytest.raises(SystemExit) as info:
        exit_process(3)
    assert info.value.code == 3
