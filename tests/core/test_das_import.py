"""Models trained by the original DAS 0.32.13: rebuilt from their params, DAS's probabilities."""

from __future__ import annotations

import json
import shutil

import h5py
import numpy as np
import pytest
from das_files import DAS_MODELS

from napari_das.core.errors import DasError
from napari_das.core.inference import das_layout

NAMES = ("tcn", "stft", "multi_sep")


def _need_models():
    if not (DAS_MODELS / "tcn_model.h5").is_file():
        pytest.skip(f"DAS reference models not found at {DAS_MODELS}")


# ------------------------------------------------------------------------------ layout (numpy)
@pytest.mark.parametrize("frames", [1, 50, 255, 256, 257, 1000, 1001, 5000])
def test_das_layout_tiles_and_uses_das_chunk_for_every_covered_sample(frames):
    nb_hist, pad = 64, 8
    stride = nb_hist - 2 * pad
    x = np.arange(frames, dtype=np.float32)[:, None]

    def run(chunks):  # output = (chunk start, position in chunk) as two "classes"
        start = chunks[:, :1, 0]
        pos = np.broadcast_to(np.arange(nb_hist, dtype=np.float32), chunks.shape[:2])
        return np.stack([np.broadcast_to(start, chunks.shape[:2]), pos], axis=-1)

    out = np.full((frames, 2), np.nan, np.float32)
    for start, block in das_layout.iter_das_probabilities(run, lambda a, b: x[a:b], frames,
                                                          nb_hist, stride, pad, 1,
                                                          batch_size=3):
        assert np.isnan(out[start: start + len(block)]).all()
        out[start: start + len(block)] = block
    assert not np.isnan(out).any()  # every sample filled, exactly once
    i = np.arange(frames)
    chunk_start = out[:, 0].astype(int) + 0  # x[j*stride] == j*stride (edge padding beyond)
    assert np.all(chunk_start + out[:, 1].astype(int) == i)  # row i is position i - start
    das_rows = (i >= pad) & (i < frames - nb_hist + pad)  # rows of chunks inside the audio
    expected = ((i - pad) // stride) * stride
    np.testing.assert_array_equal(chunk_start[das_rows], expected[das_rows])


def test_das_layout_pads_the_end_by_repeating_the_last_sample():
    x = np.array([[1.0], [2.0], [3.0]], np.float32)
    got = das_layout.read_edge_padded(lambda a, b: x[a:b], 3, 1, 6)
    assert got[:, 0].tolist() == [2.0, 3.0, 3.0, 3.0, 3.0]


# ------------------------------------------------------------------------------ golden models
@pytest.mark.parametrize("name", NAMES)
def test_das_models_reproduce_das_probabilities(name):
    _need_models()
    from napari_das.core.inference.predict import predict

    golden = np.load(DAS_MODELS / f"{name}_golden.npz")
    x, expected = golden["x"], golden["probabilities"]
    prediction = predict(x, float(golden["samplerate"]), str(DAS_MODELS / name))
    probs = prediction.probabilities
    assert probs.shape == (len(x), expected.shape[1])
    covered = expected.sum(axis=1) > 0.5
    assert covered.sum() > 0.9 * len(x)
    assert np.abs(probs[: len(expected)][covered] - expected[covered]).max() <= 1e-4
    # DAS leaves the edges empty; we fill them with probabilities
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)


def test_das_model_params_with_numpy_tags_and_weight_mapping():
    _need_models()
    from napari_das.core.nn.das_import import das_network, load_das_model, read_h5_weights

    model, params = load_das_model(DAS_MODELS / "multi_sep")
    net = das_network(params)
    assert (net.nb_hist, net.stride, net.data_padding, net.separable) == \
        (256, 192, 32, (True, False))
    assert params["das_chunk_layout"] is True
    saved = read_h5_weights(DAS_MODELS / "multi_sep_model.h5")
    assert [k for _, k, _ in saved][:3] == ["conv", "separable", "conv"]
    layer = [la for la in model.layers if la.weights][1]
    np.testing.assert_array_equal(layer.get_weights()[0], saved[1][2][0])


def _copy_model(name, tmp_path, stem="m"):
    for suffix in ("_model.h5", "_params.yaml"):
        shutil.copy(DAS_MODELS / f"{name}{suffix}", tmp_path / f"{stem}{suffix}")
    return tmp_path / stem


@pytest.mark.parametrize("model_name", ["stft_res_dense", "tcn_multi", "my_net"])
def test_unsupported_das_model_families_are_refused_in_one_line(tmp_path, model_name):
    _need_models()
    from napari_das.core.nn.model import load_model_and_params

    stem = _copy_model("tcn", tmp_path)
    params = (tmp_path / "m_params.yaml").read_text()
    (tmp_path / "m_params.yaml").write_text(params.replace("model_name: tcn",
                                                           f"model_name: {model_name}"))
    with pytest.raises(DasError, match=f"model_name '{model_name}' is not supported") as err:
        load_model_and_params(str(stem))
    assert "\n" not in str(err.value)


def test_weights_that_do_not_fit_the_params_are_refused(tmp_path):
    _need_models()
    from napari_das.core.nn.model import load_model_and_params

    stem = _copy_model("tcn", tmp_path)
    shutil.copy(DAS_MODELS / "multi_sep_params.yaml", tmp_path / "m_params.yaml")
    with pytest.raises(DasError, match="do not belong together"):
        load_model_and_params(str(stem))


def _plant_lambda(h5_path, marker):
    """Replace the code of DAS's first Lambda layer by code that creates ``marker``."""
    import base64
    import marshal

    code = compile(f"lambda x: (open({str(marker)!r}, 'w').close(), x)[1]", "<planted>", "eval")
    func_code = [c for c in code.co_consts if hasattr(c, "co_code")][0]
    payload = base64.b64encode(marshal.dumps(func_code)).decode()
    with h5py.File(h5_path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        for layer in config["config"]["layers"]:
            if layer["class_name"] == "Lambda":
                layer["config"]["function"] = [payload, None, None]
                break
        f.attrs["model_config"] = json.dumps(config)


def test_a_planted_lambda_never_runs(tmp_path):
    _need_models()
    from napari_das.core.inference.predict import predict_probabilities
    from napari_das.core.nn.model import load_model_and_params

    marker = tmp_path / "code_ran"
    stem = _copy_model("tcn", tmp_path)
    _plant_lambda(tmp_path / "m_model.h5", marker)
    model, params = load_model_and_params(str(stem))  # rebuilt from params, weights by order
    x = np.load(DAS_MODELS / "tcn_golden.npz")["x"][:3000]
    predict_probabilities(model, x, params)
    assert not marker.exists()


def test_a_keras_file_with_a_lambda_is_refused_in_one_line(tmp_path):
    _need_models()
    import keras

    from napari_das.core.nn.model import load_model

    marker = tmp_path / "code_ran"
    inp = keras.Input((None, 1))
    planted = eval(f"lambda x: (open({str(marker)!r}, 'w').close(), x)[1]")  # noqa: S307
    out = keras.layers.Lambda(planted)(inp)
    keras.Model(inp, out).save(tmp_path / "evil_model.keras")
    marker.unlink(missing_ok=True)
    with pytest.raises(DasError, match="Lambda") as err:
        load_model(tmp_path / "evil")
    assert "\n" not in str(err.value)
    assert not marker.exists()


def test_das_predict_h5_writes_probabilities_aligned_with_the_audio(tmp_path):
    _need_models()
    from napari_das.cli import main

    golden = np.load(DAS_MODELS / "stft_golden.npz")
    np.savez(tmp_path / "snip.npz", data=golden["x"], samplerate=golden["samplerate"])
    out = tmp_path / "snip_das.h5"
    assert main(["predict", str(tmp_path / "snip.npz"), str(DAS_MODELS / "stft_model.h5"),
                 "--save-format", "h5", "--save-filename", str(out)]) == 0
    with h5py.File(out, "r") as f:
        probs = f["class_probabilities"][:]
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in f["class_names"][:]]
    expected = golden["probabilities"]
    assert probs.shape == (len(golden["x"]), 3) and names == ["noise", "pulse", "sine"]
    covered = expected.sum(axis=1) > 0.5
    assert np.abs(probs[: len(expected)][covered] - expected[covered]).max() <= 1e-4
