"""Our ``_model.h5`` in DAS's weight layout: DAS 0.32 loads it, we load it, old files still load."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
from das_files import DAS_MODELS, ROOT

from napari_das.core.config import NetworkConfig
from napari_das.core.errors import DasError
from napari_das.core.io.params import load_params, save_params
from napari_das.core.nn.das_import import (
    DAS_LAYOUT_KEY,
    WEIGHTS_FORMAT_ATTR,
    is_das_stem,
    is_weights_file,
    write_das_h5,
)
from napari_das.core.nn.model import (
    build_model,
    load_model,
    load_model_and_params,
    network_from_params,
)
from napari_das.core.training.callbacks import save_model_atomic

#: The seed network of the README (``das train --nb-hist 256 --nb-filters 32 --kernel-size 32
#: --nb-conv 3``) and a network with the STFT frontend.
SEED = dict(nb_hist=256, nb_filters=32, kernel_size=32, nb_conv=3)
STFT = dict(nb_hist=1024, nb_filters=16, kernel_size=16, nb_conv=2, nb_pre_conv=2)
OTHER = dict(nb_hist=256, nb_filters=8, kernel_size=5, nb_conv=2, use_separable=[True, False],
             nb_lstm_units=3, dilations=[1, 2, 4])


def _params(network: NetworkConfig, nb_channels: int, nb_classes: int) -> dict:
    """The keys ``das train`` writes that DAS's model function and predictor read."""
    names = ["noise", "pulse", "sine", "x", "y"][:nb_classes]
    return {**network.to_dict(), "data_padding": network.data_padding,
            "stride": network.nb_hist - 2 * network.data_padding, "nb_freq": nb_channels,
            "nb_channels": nb_channels, "nb_classes": nb_classes, "class_names": names,
            "class_types": ["segment"] + ["event"] * (nb_classes - 1),
            "samplerate_x_Hz": 10000.0, "samplerate_y_Hz": 10000.0}


def _save(tmp_path: Path, name: str, changes: dict, nb_channels: int = 1, nb_classes: int = 3,
          seed: int = 0):
    keras.utils.set_random_seed(seed)
    network = NetworkConfig(**changes).validated()
    model = build_model(network, nb_channels, nb_classes, compile=False)
    stem = tmp_path / name
    save_params(f"{stem}_params.yaml", _params(network, nb_channels, nb_classes))
    save_model_atomic(model, f"{stem}_model.h5")  # as training writes it
    return stem, model


def _layout(path) -> list[tuple[str, list[str], list[tuple[int, ...]]]]:
    """(layer, weight names, shapes) of the layers with weights, in the file's order."""
    out = []
    with h5py.File(path, "r") as f:
        group = f["model_weights"]
        for name in group.attrs["layer_names"]:
            name = name.decode() if isinstance(name, bytes) else name
            weights = [w.decode() if isinstance(w, bytes) else w
                       for w in group[name].attrs.get("weight_names", [])]
            if weights:
                out.append((name, weights, [group[name][w].shape for w in weights]))
    return out


# ------------------------------------------------------------------------------ our loader
@pytest.mark.parametrize("name, changes, channels",
                         [("seed", SEED, 1), ("stft", STFT, 1), ("other", OTHER, 2)])
def test_our_h5_round_trips_to_identical_predictions(tmp_path, name, changes, channels):
    stem, model = _save(tmp_path, name, changes, channels)
    assert is_weights_file(f"{stem}_model.h5") and not is_das_stem(stem)
    x = np.random.default_rng(1).normal(size=(2, 1024, channels)).astype("float32")
    expected = np.asarray(model(x, training=False))
    for path in (f"{stem}_model.h5", stem):  # only the h5 + params: no _model.keras
        loaded = load_model(path)
        np.testing.assert_array_equal(np.asarray(loaded(x, training=False)), expected)
    loaded, params = load_model_and_params(stem)
    assert DAS_LAYOUT_KEY not in params  # predicted as our model, not in DAS's chunks
    np.testing.assert_array_equal(np.asarray(loaded(x, training=False)), expected)


def test_the_keras_file_is_still_preferred_and_written(tmp_path):
    stem, model = _save(tmp_path, "run", SEED)
    save_model_atomic(model, f"{stem}_model.keras")
    assert Path(f"{stem}_model.keras").is_file()
    with h5py.File(f"{stem}_model.h5", "r") as f:
        assert "model_config" not in f.attrs  # Keras 2's load_model must fail (DAS catches it)
        assert f.attrs[WEIGHTS_FORMAT_ATTR]
    Path(f"{stem}_model.h5").write_bytes(b"not a model")
    load_model(stem)  # the .keras file, the broken h5 is not read


def test_weights_that_do_not_fit_the_params_are_refused(tmp_path):
    stem, _ = _save(tmp_path, "run", SEED)
    params = load_params(stem)
    save_params(f"{stem}_params.yaml", {**params, "nb_conv": 2})
    with pytest.raises(DasError, match="do not belong together"):
        load_model(stem)
    os.remove(f"{stem}_params.yaml")
    with pytest.raises(DasError):
        load_model(f"{stem}_model.h5")


def test_old_keras3_h5_files_still_load(tmp_path):
    keras.utils.set_random_seed(3)
    network = NetworkConfig(**STFT).validated()
    model = build_model(network, 1, 3, compile=False)
    stem = tmp_path / "old"
    model.save(f"{stem}_model.h5")  # what napari-das wrote before (a whole Keras 3 model)
    save_params(f"{stem}_params.yaml", _params(network, 1, 3))
    assert not is_weights_file(f"{stem}_model.h5") and not is_das_stem(stem)
    x = np.random.default_rng(2).normal(size=(1, 1024, 1)).astype("float32")
    expected = np.asarray(model(x, training=False))
    loaded, _ = load_model_and_params(stem)
    np.testing.assert_array_equal(np.asarray(loaded(x, training=False)), expected)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    stem, model = _save(tmp_path, "run", SEED)
    before = Path(f"{stem}_model.h5").read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(h5py.Group, "create_dataset", broken)
    with pytest.raises(OSError, match="disk full"):
        write_das_h5(model, f"{stem}_model.h5")
    assert Path(f"{stem}_model.h5").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run_model.h5", "run_params.yaml"]


# ------------------------------------------------------------------------------ DAS's layout
@pytest.mark.parametrize("name", ["tcn", "stft", "multi_sep"])
def test_layout_equals_the_das_written_file_of_the_same_network(tmp_path, name):
    if not (DAS_MODELS / f"{name}_model.h5").is_file():
        pytest.skip(f"DAS reference models not found at {DAS_MODELS}")
    params = load_params(DAS_MODELS / name)
    network = network_from_params(params)
    model = build_model(network, int(params["nb_freq"]), int(params["nb_classes"]),
                        compile=False)
    write_das_h5(model, tmp_path / "ours_model.h5")
    ours, theirs = _layout(tmp_path / "ours_model.h5"), _layout(DAS_MODELS / f"{name}_model.h5")
    assert len(ours) > 10
    assert ours == theirs  # layer names, weight names, their order and shapes
    with h5py.File(tmp_path / "ours_model.h5", "r") as f:
        assert f["model_weights"].attrs["backend"] == "tensorflow"


def test_lstm_weights_are_named_as_keras2_names_them(tmp_path):
    stem, model = _save(tmp_path, "lstm", OTHER, 2)
    layout = _layout(f"{stem}_model.h5")
    assert [n for n, _, _ in layout][:3] == ["conv1d", "separable_conv1d", "conv1d_1"]
    name, weights, shapes = layout[-2]
    assert name == "bidirectional" and weights == [
        f"bidirectional/{side}_lstm/lstm_cell/{w}:0" for side in ("forward", "backward")
        for w in ("kernel", "recurrent_kernel", "bias")]
    assert shapes == [(8, 12), (3, 12), (12,)] * 2
    assert layout[-1][0] == "dense" and layout[-1][2] == [(6, 3), (3,)]


# ------------------------------------------------------------------------------ DAS itself
def _das_python() -> Path | None:
    candidates = [os.environ["DAS_VENV"]] if os.environ.get("DAS_VENV") else []
    candidates += [ROOT.parent / ".venv-das", ROOT.parents[1] / ".venv-das"]
    for venv in map(Path, candidates):
        if (venv / "bin" / "python").is_file():
            return venv / "bin" / "python"
    return None


#: run by DAS's interpreter: DAS's loader on our files, the weights it holds, its probabilities
DAS_SIDE = textwrap.dedent("""
    import json, logging, sys
    import numpy as np, h5py
    import das.utils, das.predict
    stem, audio, out = sys.argv[1:4]
    model, params = das.utils.load_model_and_params(stem)
    with h5py.File(stem + "_model.h5") as f:
        g = f["model_weights"]
        saved = [[np.asarray(g[n][w]) for w in g[n].attrs["weight_names"]]
                 for n in g.attrs["layer_names"]]
    held = [layer.get_weights() for layer in model.layers if layer.weights]
    same = len(saved) == len(held) and all(
        len(s) == len(w) and all(np.array_equal(a, b) for a, b in zip(s, w))
        for s, w in zip(saved, held))
    x = np.load(audio)
    p = das.predict.predict_probabilities(x, model, params, verbose=0)
    np.save(out, np.asarray(p, np.float32))
    print("@result " + json.dumps({"same_weights": bool(same), "layers": len(held)}))
""")


def _song(seconds: float, seed: int = 7) -> np.ndarray:
    from napari_das.core.data.synth import make_fly_song

    x, _ = make_fly_song(duration=seconds, seed=seed)
    return np.asarray(x, np.float32)


@pytest.mark.slow
@pytest.mark.parametrize("name, changes, tolerance",
                         [("seed", SEED, 1e-4), ("stft", STFT, None)])
def test_das_loads_our_h5_and_predicts_our_probabilities(tmp_path, name, changes, tolerance):
    das_python = _das_python()
    if das_python is None:
        pytest.skip("no DAS venv (set DAS_VENV or install DAS at ../.venv-das)")
    from napari_das.core.inference.predict import predict_probabilities

    stem, _ = _save(tmp_path, name, changes, seed=5)
    x = _song(4.0)
    np.save(tmp_path / "x.npy", x)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([str(das_python), "-c", DAS_SIDE, str(stem), str(tmp_path / "x.npy"),
                           str(tmp_path / "das.npy")], capture_output=True, text=True, env=env,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Strict weight loading failed" not in proc.stderr  # loaded by order, not by name
    result = json.loads([ln for ln in proc.stdout.splitlines()
                         if ln.startswith("@result ")][-1][len("@result "):])
    assert result["same_weights"] and result["layers"] > 10
    theirs = np.load(tmp_path / "das.npy")
    model, params = load_model_and_params(stem)
    ours = predict_probabilities(model, x, {**params, DAS_LAYOUT_KEY: True})  # DAS's chunks
    covered = theirs.sum(axis=1) > 0.5
    assert covered.sum() > 0.5 * len(x)  # DAS stops at its last complete batch
    diff = float(np.abs(ours[: len(theirs)][covered] - theirs[covered]).max())
    print(f"{name}: max |DAS - ours| {diff:.2e} on {int(covered.sum())} rows")
    assert float(np.ptp(theirs[covered], axis=0).max()) > 0.05  # not a constant output
    if tolerance is not None:
        assert diff < tolerance
    else:  # DAS scales each chunk's spectrogram by its maximum, we by a fixed reference
        assert np.isfinite(theirs).all() and diff > 0
