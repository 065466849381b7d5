"""`das predict` over many recordings as a resumable run (in one process): folders, globs and
list files; the run manifest; skipping what is done; failures recorded; a killed run resumed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from batch_files import (
    FS,
    LOW,
    manifest_rows,
    noise,
    output_bytes,
    song_folder,
    staged_leftovers,
    tiny_model,
)

from napari_das.cli import main
from napari_das.core.io import audio

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return tiny_model(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory, model):
    """An uninterrupted run over 6 recordings (2 in a sub-folder), outputs by relative path."""
    root = tmp_path_factory.mktemp("ref")
    song_folder(root / "rec")
    assert main(["predict", str(root / "rec"), model, "--recursive", "--save-filename",
                 str(root / "out"), "--save-format", "both", *LOW]) == 0
    return root, output_bytes(root / "out")


def test_recursive_folder_writes_mirrored_outputs_and_manifest(reference):
    root, outputs = reference
    assert sorted(outputs) == sorted(
        f"{d}r{i}_{kind}" for i, d in enumerate(["", "", "", "", "day2/", "day2/"])
        for kind in ("annotations.csv", "definitions.csv", "das.h5"))
    rows = manifest_rows(root / "out")
    assert sorted(r["recording"] for r in rows) == sorted(
        f"../rec/{d}r{i}.wav" for i, d in enumerate(["", "", "", "", "day2/", "day2/"]))
    assert {r["status"] for r in rows} == {"done"} and {r["error"] for r in rows} == {""}
    assert all(float(r["duration_s"]) == 20.0 and float(r["seconds"]) > 0 for r in rows)
    assert {r["recording"]: r["outputs"] for r in rows}["../rec/day2/r4.wav"] == \
        "day2/r4_das.h5;day2/r4_annotations.csv;day2/r4_definitions.csv"
    assert len({r["model"] for r in rows}) == 1 and "sha256:" in rows[0]["model"]
    assert not staged_leftovers(root / "out")


def test_rerun_skips_done_overwrite_redoes_and_other_model_redoes(tmp_path, model, capsys):
    song_folder(tmp_path / "rec", n=3, duration=5.0, sub=0)
    argv = ["predict", str(tmp_path / "rec"), model, *LOW]
    assert main(argv) == 0
    csvs = sorted((tmp_path / "rec").glob("*_annotations.csv"))
    stamps = [p.stat().st_mtime_ns for p in csvs]
    capsys.readouterr()
    assert main(argv) == 0  # the same command again: nothing to do
    out = capsys.readouterr().out
    assert "predicted 0 of 3 recording(s)" in out and "3 done earlier" in out
    assert [p.stat().st_mtime_ns for p in csvs] == stamps
    time.sleep(0.01)
    assert main([*argv, "--overwrite"]) == 0
    assert all(p.stat().st_mtime_ns > s for p, s in zip(csvs, stamps))
    stamps = [p.stat().st_mtime_ns for p in csvs]
    other = tiny_model(tmp_path / "other", seed=1)  # a new model replaces this run's outputs
    assert main(["predict", str(tmp_path / "rec"), other, *LOW]) == 0
    assert all(p.stat().st_mtime_ns > s for p, s in zip(csvs, stamps))
    assert {r["model"].split()[0] for r in manifest_rows(tmp_path / "rec")} == {
        os.path.abspath(other)}
    assert main([*argv, "--event-thres", "0.4"]) == 0  # other settings: redone as well
    assert "predicted 3 of 3" in capsys.readouterr().out


def test_bad_recordings_are_recorded_and_the_run_goes_on(tmp_path, model, rng, capsys):
    rec = tmp_path / "rec"
    song_folder(rec, n=2, duration=3.0, sub=0)
    (rec / "garbage.wav").write_bytes(b"RIFF....not audio")
    good = rec / "cut.wav"
    audio.write(good, noise(rng, 20000), FS)
    good.write_bytes(good.read_bytes()[:30000])  # truncated: its header promises more
    audio.write(rec / "slow.npz", noise(rng, 3000), FS / 2)  # wrong rate with --no-resample
    (rec / "r0_annotations.csv").write_text("name,start_seconds,stop_seconds\n")  # ground truth
    code = main(["predict", str(rec), tiny_model(tmp_path / "m"), "--no-resample", *LOW])
    out = capsys.readouterr().out
    assert code == 1
    rows = {r["recording"]: r for r in manifest_rows(rec)}
    assert rows["r1.wav"]["status"] == "done"
    failed = {k: r["error"] for k, r in rows.items() if r["status"] == "failed"}
    assert sorted(failed) == ["cut.wav", "garbage.wav", "r0.wav", "slow.npz"]
    assert "truncated" in failed["cut.wav"] and "cut.wav" in failed["cut.wav"]
    assert "trained at 10000 Hz" in failed["slow.npz"]
    assert "exists (maybe ground truth)" in failed["r0.wav"]
    assert all("\n" not in e and e for e in failed.values())
    assert out.count("FAILED") == 4 and "4 failed" in out
    assert (rec / "r0_annotations.csv").read_text() == "name,start_seconds,stop_seconds\n"
    assert not staged_leftovers(rec)


def test_glob_and_list_file_inputs(tmp_path, model, capsys):
    paths = song_folder(tmp_path / "rec", n=4, duration=3.0, sub=2)
    out = tmp_path / "out"
    assert main(["predict", str(tmp_path / "rec" / "**" / "r[13].wav"), model,
                 "--save-filename", str(out)]) == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*_annotations.csv")) == \
        ["day2/r3_annotations.csv", "r1_annotations.csv"]
    listing = tmp_path / "todo.csv"
    listing.write_text("recording,rig\nrec/r0.wav,1\n# a comment\nrec/day2/r3.wav,2\n")
    capsys.readouterr()
    assert main(["predict", str(listing), model, "--save-filename", str(out)]) == 0
    text = capsys.readouterr().out
    assert "predicted 2 of 2" in text
    for name in ("rec/r0", "rec/day2/r3"):  # below the output folder as below the list's
        assert (out / f"{name}_annotations.csv").is_file()
    (tmp_path / "todo.txt").write_text(f"{paths[1]}\nmissing.wav\n")
    assert main(["predict", str(tmp_path / "todo.txt"), model]) == 1
    rows = {r["recording"]: r for r in manifest_rows(tmp_path)}
    assert rows["missing.wav"]["status"] == "failed" and "missing.wav" in \
        rows["missing.wav"]["error"]


def test_interrupted_writing_row_is_redone_without_overwrite(tmp_path, model):
    song_folder(tmp_path / "rec", n=2, duration=3.0, sub=0)
    argv = ["predict", str(tmp_path / "rec"), model]
    assert main(argv) == 0
    manifest = tmp_path / "rec" / "predict_run.csv"
    # a run killed between "writing" and "done": its outputs are its own, so they are redone
    manifest.write_text(manifest.read_text().replace(",done,", ",writing,", 1))
    assert main(argv) == 0
    assert [r["status"] for r in manifest_rows(tmp_path / "rec")] == ["done", "done"]


def test_killed_run_resumes_without_redoing_finished_files(tmp_path, model, reference):
    _, expected = reference
    song_folder(tmp_path / "rec")
    out = tmp_path / "out"
    argv = ["predict", str(tmp_path / "rec"), model, "--recursive", "--save-filename", str(out),
            "--save-format", "both", *LOW]
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    child = subprocess.Popen([sys.executable, "-m", "napari_das.cli", *argv], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    deadline = time.monotonic() + 120
    done = []
    while time.monotonic() < deadline and child.poll() is None:
        if (out / "predict_run.csv").exists():
            done = [r for r in manifest_rows(out) if r["status"] == "done"]
            if len(done) >= 2:
                break
        time.sleep(0.05)
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    assert 2 <= len(done) < 6, "the run ended before it could be killed"
    finished = {r["recording"]: r["finished_utc"] for r in manifest_rows(out)
                if r["status"] == "done"}
    stamps = {p: p.stat().st_mtime_ns for r in manifest_rows(out) if r["status"] == "done"
              for p in (out / o for o in r["outputs"].split(";"))}
    assert main(argv) == 0
    rows = manifest_rows(out)
    assert [r["status"] for r in rows] == ["done"] * 6
    assert {r["recording"]: r["finished_utc"] for r in rows
            if r["recording"] in finished} == finished  # not redone
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert output_bytes(out) == expected  # nothing half-written, nothing missing
    assert not staged_leftovers(out)


def test_remove_staged_clears_only_staged_files_of_the_outputs(tmp_path):
    from napari_das.core.inference.task import remove_staged, staged_path

    final = tmp_path / "a_annotations.csv"
    staged = staged_path(final, "0123456789")
    leftovers = [staged, tmp_path / f".{staged.name}.x1y2z3.tmp"]  # and atomic_write_text's
    keep = [final, tmp_path / ".b_annotations.csv.0123456789.part", tmp_path / ".hidden",
            tmp_path / ".a_annotations.csv.tmp"]
    for path in leftovers + keep:
        path.write_text("x")
    assert remove_staged([final, tmp_path / "sub" / "c_das.h5"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in keep)
