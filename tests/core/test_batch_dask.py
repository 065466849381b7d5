"""Batch prediction on Dask workers: byte-identical to one process, the model loaded once per
worker, and a worker killed in the middle of a run costs nothing but time."""

from __future__ import annotations

import os
import signal

import pytest
from batch_files import LOW, manifest_rows, output_bytes, song_folder, staged_leftovers, tiny_model

from napari_das.cli import main
from napari_das.core.config import PredictionConfig

pytestmark = pytest.mark.slow
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A model, 6 recordings (2 in a sub-folder) and their outputs from one process."""
    root = tmp_path_factory.mktemp("dask")
    model = tiny_model(root / "model")
    song_folder(root / "rec")
    assert main(["predict", str(root / "rec"), model, "--recursive", "--save-filename",
                 str(root / "ref"), "--save-format", "both", *LOW]) == 0
    return root, model, output_bytes(root / "ref")


def test_local_cluster_outputs_equal_one_process_byte_for_byte(setup):
    root, model, expected = setup
    out = root / "cli"
    assert main(["predict", str(root / "rec"), model, "--recursive", "--save-filename",
                 str(out), "--save-format", "both", "--workers", "2", *LOW]) == 0
    assert output_bytes(out) == expected
    assert {r["status"] for r in manifest_rows(out)} == {"done"}
    assert not staged_leftovers(out)


def test_killed_worker_mid_run_every_recording_once_model_loaded_once(setup, tmp_path):
    from napari_das.core.inference.batch import BatchOptions
    from napari_das.core.inference.cluster import open_client
    from napari_das.core.inference.files import predict_paths

    root, model, expected = setup
    client, cluster = open_client(workers=2, threads_per_worker=1)
    killed = {}

    def kill_a_busy_worker(record):
        if record.event != "step" or record.data.get("files_done") != 1 or killed:
            return
        busy = {w: keys for w, keys in client.processing().items() if keys}
        assert busy, "no worker was predicting when the first recording finished"
        worker, keys = sorted(busy.items())[0]
        pid = client.run(os.getpid, workers=[worker])[worker]
        os.kill(pid, signal.SIGKILL)
        killed.update(worker=worker, keys=list(keys), pid=pid)

    commits = []
    try:
        outcome = predict_paths(
            str(root / "rec"), model, PredictionConfig(event_thres=0.3, segment_thres=0.3),
            save_format="both", save_filename=str(tmp_path), recursive=True,
            batch=BatchOptions(client=client),
            progress=lambda r: (kill_a_busy_worker(r), commits.append(r.data.get("files_done"))))
        client.wait_for_workers(2, timeout=60)
        loads = client.run(lambda: dict(__import__("napari_das.core.inference.task",
                                                   fromlist=["LOADS"]).LOADS))
    finally:
        client.close()
        cluster.close()
    assert killed, "the run ended before a worker could be killed"
    assert outcome.ok and [f.status for f in outcome.files] == ["done"] * 6
    assert [c for c in commits if c is not None] == list(range(7))  # one commit per recording
    rows = manifest_rows(tmp_path)
    assert len(rows) == 6 and {r["status"] for r in rows} == {"done"}
    assert output_bytes(tmp_path) == expected  # the killed task's recording included
    assert not staged_leftovers(tmp_path)  # the dead attempt's staged files are gone
    assert all(list(n.values()) in ([1], []) for n in loads.values())  # once per worker
