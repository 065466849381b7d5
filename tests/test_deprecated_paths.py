"""The old module paths (before the regroup by stage) still import for one release, with a
DeprecationWarning naming the new home, and give the same objects as the new paths."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap

import pytest

#: Old path -> (a new module, names that must be the same object under both paths).
OLD_PATHS = {
    "audio": ("io.audio", ["read", "info", "write", "resample", "AUDIO_SUFFIXES"]),
    "annotations": ("io.annotations", ["Annotations"]),
    "params": ("io.params", ["load_params", "save_params", "to_plain"]),
    "store": ("io.store", ["load_dataset"]),
    "dataset": ("data.dataset", ["make_dataset", "load_dataset"]),
    "synth": ("data.synth", ["make_fly_song", "write_fly_song_folder"]),
    "targets": ("data.targets", ["make_targets"]),
    "splits": ("data.splits", ["plan_splits"]),
    "chunks": ("data.chunks", ["ChunkBatches"]),
    "levels": ("data.levels", ["noise_level"]),
    "spectrogram": ("data.spectrogram", ["SpectrogramGeometry"]),
    "model": ("nn.model", ["build_model", "load_model"]),
    "layers": ("nn.layers", ["custom_layers"]),
    "events": ("post.events", ["detect_events"]),
    "metrics": ("evaluation.metrics", ["match_events"]),
    "plots": ("evaluation.plots", ["save_evaluation_plots"]),
    "train": ("training.train", ["train", "TrainResult"]),
    "callbacks": ("training.callbacks", ["EpochKeeper"]),
    "predict_io": ("inference.files", ["predict_paths"]),
    "predict": ("inference.predict", ["predict", "predict_file", "Prediction"]),
    "prediction": ("post.stream", ["PostProcessor", "Events", "Segments"]),
    "postprocess": ("post.segments", ["detect_segments", "label_segments"]),
    "evaluate": ("evaluation.evaluate", ["evaluate", "evaluate_split"]),
    "train_setup": ("training.data", ["prepare_data", "tf_dataset"]),
}
#: Names of split modules that moved elsewhere than the main new module.
ELSEWHERE = {
    ("predict", "window_plan"): "inference.windows",
    ("predict", "predict_probabilities"): "inference.predict",
    ("predict", "predict_paths"): "inference.files",
    ("predict", "load_model_and_params"): "nn.model",
    ("predict", "class_info"): "io.params",
    ("prediction", "Prediction"): "inference.predict",
    ("postprocess", "post_opt"): "evaluation.tune",
    ("evaluate", "split_probabilities"): "evaluation.split_predict",
    ("evaluate", "optimize_postprocessing"): "evaluation.tune",
    ("train_setup", "draw_seed"): "data.splits",
}


def import_fresh(name: str):
    sys.modules.pop(name, None)
    return importlib.import_module(name)


@pytest.mark.parametrize("old", sorted(OLD_PATHS))
def test_old_path_warns_and_gives_the_same_objects(old):
    new, names = OLD_PATHS[old]
    with pytest.warns(DeprecationWarning, match=rf"napari_das\.core\.{old} is deprecated.*"
                                                rf"napari_das\.core\.{new}"):
        module = import_fresh(f"napari_das.core.{old}")
    target = importlib.import_module(f"napari_das.core.{new}")
    for name in names:
        assert getattr(module, name) is getattr(target, name), name
    for (split, name), home in ELSEWHERE.items():
        if split == old:
            assert getattr(module, name) is getattr(
                importlib.import_module(f"napari_das.core.{home}"), name)


def test_readme_imports_work_and_warn_in_the_users_script(tmp_path):
    """The README's Python section as a user script: it runs, and Python's default filters
    show the warning attributed to the script's own line."""
    script = tmp_path / "user.py"
    script.write_text(textwrap.dedent("""
        from napari_das.core.config import DatasetConfig, NetworkConfig, TrainingConfig
        from napari_das.core.dataset import make_dataset
        from napari_das.core.train import train
        from napari_das.core.predict import predict
        from napari_das.core import audio
        print(make_dataset.__module__, train.__module__, predict.__module__, audio.read.__module__)
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["napari_das.core.data.dataset", "napari_das.core.training.train",
                                  "napari_das.core.inference.predict", "napari_das.core.io.audio"]
    assert out.stderr.count("DeprecationWarning") == 4
    assert f"{script}:3: DeprecationWarning: napari_das.core.dataset is deprecated" in out.stderr
