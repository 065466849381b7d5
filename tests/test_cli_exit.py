"""The ``das`` process ends without the interpreter's teardown once TensorFlow is loaded."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from napari_das.cli import exit_process

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")

CHILD = textwrap.dedent("""
    import atexit, logging, sys, types
    if {tensorflow}:
        sys.modules["tensorflow"] = types.ModuleType("tensorflow")  # as after a TF command
    if {profiled}:
        sys.setprofile(lambda *args: None)  # as under python -m cProfile
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


@pytest.mark.parametrize("tensorflow, profiled", [(True, False), (False, False), (True, True)])
def test_exit_runs_handlers_flushes_and_keeps_the_code(tmp_path, tensorflow, profiled):
    marker = tmp_path / "marker"
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-c", CHILD.format(tensorflow=tensorflow, profiled=profiled),
                           str(marker)], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 7
    assert done.stdout == "result without newline"
    assert marker.read_text() == "cleaned up"  # registered exit handlers still run
    assert "logged" in done.stderr
    # with TensorFlow loaded the teardown is skipped (the 1.4 s it took), else it runs, and
    # under a profiler too (it writes its results there)
    assert ("teardown ran" in done.stderr) is (not tensorflow or profiled)


def test_without_tensorflow_it_is_an_ordinary_exit(monkeypatch):
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    with pytest.raises(SystemExit) as info:
        exit_process(3)
    assert info.value.code == 3
