"""`das predict` end to end on tiny files: outputs, overwrite refusal, bad files, errors."""

from __future__ import annotations

import numpy as np
import pytest

from napari_das.cli import main
from napari_das.core.config import DatasetConfig, NetworkConfig
from napari_das.core.io import audio
from napari_das.core.io.annotations import Annotations
from napari_das.core.io.params import save_params

FS = 1000.0
NAMES, TYPES = ["noise", "pulse", "sine"], ["segment", "event", "segment"]


@pytest.fixture(scope="module")
def model_stem(tmp_path_factory):
    from napari_das.core.nn.model import build_model

    folder = tmp_path_factory.mktemp("model")
    net = NetworkConfig(nb_hist=64, nb_filters=4, kernel_size=3, nb_conv=1, dilations=[1, 2])
    model = build_model(net, 1, 3, compile=False)
    model.save(folder / "m_model.keras")
    save_params(folder / "m_params.yaml", dict(net.to_dict(), class_names=NAMES, class_types=TYPES,
                                               samplerate_x_Hz=FS, nb_channels=1))
    return str(folder / "m")


def _recordings(folder, rng):
    folder.mkdir()
    audio.write(folder / "a.wav", 0.1 * rng.normal(size=(3000, 1)).astype(np.float32), FS)
    audio.write(folder / "b.flac", 0.1 * rng.normal(size=(2000, 1)).astype(np.float32), FS)
    (folder / "broken.wav").write_bytes(b"RIFF....not audio")
    return folder


def test_folder_with_broken_file_predicts_others_and_fails(tmp_path, model_stem, rng, capsys):
    folder = _recordings(tmp_path / "rec", rng)
    code = main(["predict", str(folder), model_stem, "--event-thres", "0.2",
                 "--segment-thres", "0.2"])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAILED" in out and "broken.wav" in out
    for stem in ("a", "b"):  # every readable format is predicted
        ann = Annotations.from_file(folder / f"{stem}_annotations.csv")
        assert set(ann.categories) == {"pulse", "sine"}  # no spurious noise type
        assert ann.categories["pulse"] == "event"


def test_refuses_to_overwrite_ground_truth(tmp_path, model_stem, rng, capsys):
    folder = tmp_path / "one"
    folder.mkdir()
    audio.write(folder / "a.wav", 0.1 * rng.normal(size=(1500, 1)).astype(np.float32), FS)
    truth = folder / "a_annotations.csv"
    truth.write_text("name,start_seconds,stop_seconds\nsine,0.1,0.2\n")
    code = main(["predict", str(folder / "a.wav"), model_stem])
    err = capsys.readouterr().err
    assert code == 2 and "--overwrite" in err and len(err.strip().splitlines()) == 1
    assert truth.read_text() == "name,start_seconds,stop_seconds\nsine,0.1,0.2\n"
    assert main(["predict", str(folder / "a.wav"), model_stem, "--overwrite"]) == 0
    assert truth.read_text() != "name,start_seconds,stop_seconds\nsine,0.1,0.2\n"


def test_probabilities_h5_and_save_folder(tmp_path, model_stem, rng):
    import h5py

    folder = tmp_path / "rec"
    folder.mkdir()
    audio.write(folder / "a.npz", 0.1 * rng.normal(size=(2500, 1)).astype(np.float32), 2 * FS)
    out = tmp_path / "out"
    assert main(["predict", str(folder), model_stem, "--save-filename", str(out),
                 "--save-format", "both"]) == 0
    with h5py.File(out / "a_das.h5") as f:
        probs = f["class_probabilities"][:]
        assert probs.shape == (1250, 3)  # resampled to the model's 1 kHz, every sample
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
        assert [n.decode() for n in f["class_names"][:]] == NAMES
    assert (out / "a_annotations.csv").is_file() and not (folder / "a_annotations.csv").exists()


@pytest.mark.parametrize("args, words", [
    (["predict", "{tmp}/missing.wav", "{model}"], "no such file"),
    (["predict", "{tmp}", "{tmp}/nomodel"], "params file not found"),
    (["predict", "{tmp}/a.wav", "{model}", "--no-resample"], "trained at"),
    (["predict", "{tmp}/a.wav", "{model}", "--precision", "half"],
     "--precision must be one of float32, bfloat16, auto, not 'half'"),
])
def test_one_line_errors(tmp_path, model_stem, args, words, capsys, rng):
    audio.write(tmp_path / "a.wav", rng.normal(size=(100, 1)).astype(np.float32), 2 * FS)
    argv = [a.format(tmp=tmp_path, model=model_stem) for a in args]
    assert main(argv) == 2
    errors = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("das: ")]
    assert len(errors) == 1 and errors[0].startswith("das: error:") and words in errors[0]


def test_bad_choice_is_one_line_without_usage(tmp_path, model_stem, capsys):
    assert main(["predict", str(tmp_path / "a.wav"), model_stem, "--precision", "fp8"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["das: error: --precision must be one of float32, bfloat16, auto, not 'fp8'"]


def test_precision_bfloat16_is_accepted(tmp_path, model_stem, rng):
    audio.write(tmp_path / "a.wav", 0.1 * rng.normal(size=(3000, 1)).astype(np.float32), FS)
    for precision in ("bfloat16", "auto", "float32"):
        out = tmp_path / f"{precision}.csv"
        assert main(["predict", str(tmp_path / "a.wav"), model_stem, "--precision", precision,
                     "--save-filename", str(out)]) == 0
        assert out.is_file()


def test_channel_mismatch_is_one_line_error(tmp_path, model_stem, capsys, rng):
    audio.write(tmp_path / "st.wav", 0.1 * rng.normal(size=(500, 2)).astype(np.float32), FS)
    assert main(["predict", str(tmp_path / "st.wav"), model_stem]) == 2
    assert "channel" in capsys.readouterr().err


def test_predicted_csv_reads_back_into_a_dataset(tmp_path, model_stem, rng):
    from napari_das.core.data.dataset import make_dataset
    from napari_das.core.io.store import load_dataset

    folder = tmp_path / "rec"
    folder.mkdir()
    for stem in ("a", "b", "c"):
        audio.write(folder / f"{stem}.wav", 0.1 * rng.normal(size=(4000, 1)).astype(np.float32),
                    FS)
    assert main(["predict", str(folder), model_stem, "--event-thres", "0.2",
                 "--segment-thres", "0.2"]) == 0
    predicted = Annotations.from_file(folder / "a_annotations.csv")
    summary = make_dataset(DatasetConfig(data_folder=str(folder), seed=1))
    data = load_dataset(summary.store_folder)
    assert set(data.class_names) == {"noise", *predicted.categories}
    assert data.class_types[data.class_names.index("pulse")] == "event"


def test_predicted_csv_carries_definitions_so_categories_survive(tmp_path, model_stem, rng):
    """`das predict` writes <stem>_definitions.csv beside the CSV: a one-sample predicted segment
    (start == stop) must read back as a segment, not be re-inferred as an event."""
    folder = tmp_path / "rec"
    folder.mkdir()
    audio.write(folder / "a.wav", 0.1 * rng.normal(size=(3000, 1)).astype(np.float32), FS)
    assert main(["predict", str(folder / "a.wav"), model_stem, "--segment-thres", "0.2"]) == 0
    definitions = (folder / "a_definitions.csv").read_text().split()
    assert sorted(definitions) == ["pulse,event", "sine,segment"]
    # a CSV whose first sine row has start == stop still reads back as a segment
    csv = folder / "a_annotations.csv"
    csv.write_text("name,start_seconds,stop_seconds\nsine,0.1,0.1\npulse,0.2,0.2\n")
    assert Annotations.from_file(csv).categories == {"pulse": "event", "sine": "segment"}
    # a second run refuses to replace the definitions it wrote without --overwrite
    csv.unlink()
    assert main(["predict", str(folder / "a.wav"), model_stem]) != 0


def test_predict_writes_no_temporary_files(tmp_path, model_stem, rng):
    """DAS wrote ~11 GB of temporary zarr per hour; we write nothing besides the outputs (not even
    TensorFlow autograph's generated source files)."""
    import os
    import subprocess
    import sys

    folder = tmp_path / "rec"
    folder.mkdir()
    audio.write(folder / "a.wav", 0.1 * rng.normal(size=(5000, 1)).astype(np.float32), FS)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = dict(os.environ, TMPDIR=str(tmpdir))
    out = subprocess.run([sys.executable, "-m", "napari_das.cli", "predict", str(folder / "a.wav"),
                          model_stem], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert sorted(p.name for p in folder.iterdir()) == ["a.wav", "a_annotations.csv",
                                                         "a_definitions.csv"]
    assert list(tmpdir.rglob("*")) == []


def test_progress_json_child_accepts_sigint_that_arrived_ignored(tmp_path):
    """A background job of a non-interactive shell inherits SIGINT ignored; Stop sends SIGINT."""
    import signal
    import subprocess
    import sys

    code = ("import signal, sys\n"
            "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "from napari_das import cli\n"
            "cli._accept_sigint()\n"
            "print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
    assert signal.getsignal(signal.SIGINT) is not signal.SIG_IGN  # this process is untouched
