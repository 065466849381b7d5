"""predict_file streams a recording once, in any format, with the results of predict()."""

from __future__ import annotations

import numpy as np
import pytest

from napari_das.core.config import NetworkConfig, PredictionConfig
from napari_das.core.io import audio

NET = NetworkConfig(nb_hist=256, nb_filters=8, kernel_size=4, nb_conv=1, dilations=[1, 2, 4])
FS = 2000.0


@pytest.fixture(scope="module")
def model_and_params():
    from napari_das.core.nn.model import build_model

    model = build_model(NET, nb_channels=2, nb_classes=3, compile=False)
    params = dict(NET.to_dict(), class_names=["noise", "pulse", "sine"],
                  class_types=["segment", "event", "segment"], samplerate_x_Hz=FS,
                  nb_channels=2)
    return model, params


def _recording(folder, kind, rng):
    t = np.arange(20000) / FS
    data = np.stack([0.5 * np.sin(2 * np.pi * 80 * t) * (np.sin(2 * np.pi * 0.7 * t) > 0),
                     0.3 * np.sin(2 * np.pi * 130 * t)], axis=1)
    data = (data + 0.05 * rng.normal(size=data.shape)).astype(np.float32)
    path = folder / f"rec.{'npz' if 'npz' in kind else kind}"
    if kind == "cnpz":
        np.savez_compressed(path, data=data, samplerate=FS)
    elif kind == "cfnpz":
        np.savez_compressed(path, data=np.asfortranarray(data), samplerate=FS)
    else:
        audio.write(path, data, FS)
    return path


@pytest.mark.parametrize("kind", ["wav", "flac", "npz", "cnpz", "cfnpz"])
def test_file_is_opened_once_and_predicted_like_audio_in_memory(tmp_path, rng, kind,
                                                                model_and_params, monkeypatch):
    from napari_das.core.inference import predict as P

    model, params = model_and_params
    path = _recording(tmp_path, kind, rng)
    x, fs = audio.read(path)
    config = PredictionConfig(batch_size=1, segment_fillgap=0.01, event_thres=0.4,
                              segment_thres=0.4, bandpass_low_freq=20.0)
    whole = P.predict(x, fs, (model, params), config)
    opened = []
    original = audio.open_source

    def counting(p):
        opened.append(p)
        return original(p)

    monkeypatch.setattr(audio, "open_source", counting)
    steps = []
    got = P.predict_file(str(path), model, params, config, keep_probabilities=True,
                         progress=lambda r: steps.append(r) if r.event == "step" else None)
    assert len(opened) == 1  # not once per block
    assert len(steps) > 5  # many blocks
    np.testing.assert_allclose(got.probabilities, whole.probabilities, atol=1e-5)
    assert got.probabilities[:, 1:].std() > 1e-3  # the model's output varies
    assert list(got.segments.names) == list(whole.segments.names)
    np.testing.assert_allclose(got.segments.onsets_seconds, whole.segments.onsets_seconds)
    np.testing.assert_allclose(got.events.seconds, whole.events.seconds)


def test_audio_without_band_pass_or_resampling_does_not_load_scipy_signal():
    """scipy.signal costs 0.4-0.8 s to import: a das predict of a recording at the model's rate
    without --bandpass loads it only where events are detected."""
    import os
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import sys
        import numpy as np
        from napari_das.core.inference.preprocess import preprocessed_reader
        data = np.arange(40, dtype=np.float32)[:, None]
        read, frames, rate = preprocessed_reader(lambda a, b: data[a:b], 40, 1000.0, 1000.0)
        assert frames == 40 and rate == 1000.0 and (read(3, 9) == data[3:9]).all()
        print("scipy.signal" in sys.modules)
        preprocessed_reader(lambda a, b: data[a:b], 40, 1000.0, 500.0)  # resampling needs it
        print("scipy.signal" in sys.modules)
    """)
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), "src")  # this tree's package, not an installed copy
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]
