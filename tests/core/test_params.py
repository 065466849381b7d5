"""_params.yaml: safe round trip and DAS files with python/numpy tags."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

from napari_das.core.errors import DasError
from napari_das.core.io.files import result_paths, strip_result_suffix
from napari_das.core.io.params import load_params, save_params

# Written the way DAS's unsafe dumper writes numpy scalars and tuples (numpy 1.x module names).
DAS_PARAMS = """\
batch_size: 32
class_names:
- noise
- pulse
- sine
class_types: !!python/tuple
- segment
- event
- segment
data_padding: 48
dilations:
- 1
- 2
samplerate_x_Hz: !!python/object/apply:numpy.core.multiarray.scalar
- !!python/object/apply:numpy.dtype
  args:
  - f8
  - false
  - true
  state: !!python/tuple
  - 3
  - <
  - null
  - null
  - null
  - -1
  - -1
  - 0
- !!binary |
  AAAAAACIw0A=
nb_channels: !!python/object/apply:numpy.core.multiarray.scalar
- !!python/object/apply:numpy.dtype
  args: [i8, false, true]
  state: !!python/tuple [3, <, null, null, null, -1, -1, 0]
- !!binary |
  AQAAAAAAAAA=
class_weights: null
data_splits: !!python/object/apply:collections.OrderedDict
- - - train
    - 0.6
  - - val
    - 0.2
save_name: res/20200430_201821
"""


def test_load_das_params_with_numpy_tags(tmp_path):
    path = tmp_path / "20200430_201821_params.yaml"
    path.write_text(DAS_PARAMS)
    with pytest.raises(yaml.constructor.ConstructorError):
        yaml.safe_load(DAS_PARAMS)  # what a plain safe loader does with these files
    params = load_params(tmp_path / "20200430_201821")
    assert params["samplerate_x_Hz"] == 10000.0 and type(params["samplerate_x_Hz"]) is float
    assert params["nb_channels"] == 1 and type(params["nb_channels"]) is int
    assert params["class_types"] == ["segment", "event", "segment"]
    assert params["data_splits"] == {"train": 0.6, "val": 0.2}
    assert params["class_weights"] is None and params["data_padding"] == 48
    # the same from the model file name
    assert load_params(tmp_path / "20200430_201821_model.h5") == params


def test_load_params_written_by_unsafe_dumper_numpy2(tmp_path):
    values = {"a": np.float32(0.5), "b": (1, 2), "c": np.arange(4).reshape(2, 2),
              "d": np.bool_(False), "e": [np.int16(-3)], "f": np.str_("tcn")}
    (tmp_path / "x_params.yaml").write_text(yaml.dump(values))
    assert load_params(tmp_path / "x") == {"a": 0.5, "b": [1, 2], "c": [[0, 1], [2, 3]],
                                           "d": False, "e": [-3], "f": "tcn"}


def test_save_params_round_trip_is_safe_yaml(tmp_path):
    params = {"nb_hist": np.int64(256), "lr": np.float32(1e-4), "sep": (False, True),
              "history": {"loss": [np.float64(0.5), float("nan")]}, "path": tmp_path,
              "nested": {"conf_mat": np.eye(2, dtype=int)}, "seed": None}
    written = save_params(tmp_path / "run_params.yaml", params)
    loaded = yaml.safe_load(written.read_text())
    assert loaded["nb_hist"] == 256 and loaded["sep"] == [False, True]
    assert loaded["lr"] == pytest.approx(1e-4)
    assert loaded["history"]["loss"][0] == 0.5 and math.isnan(loaded["history"]["loss"][1])
    assert loaded["path"] == str(tmp_path) and loaded["nested"]["conf_mat"] == [[1, 0], [0, 1]]
    assert loaded["seed"] is None
    assert list(loaded) == list(params)  # order kept
    assert [p.name for p in tmp_path.iterdir()] == ["run_params.yaml"]  # no temp file left


def test_load_params_errors(tmp_path):
    with pytest.raises(DasError, match="params file not found"):
        load_params(tmp_path / "missing")
    (tmp_path / "bad_params.yaml").write_text("- a\n- b\n")
    with pytest.raises(DasError, match="not a readable params file"):
        load_params(tmp_path / "bad")
    (tmp_path / "evil_params.yaml").write_text("a: !!python/object/apply:os.system ['true']\n")
    assert load_params(tmp_path / "evil") == {"a": "true"}  # never executed, just a value


def test_result_paths():
    paths = result_paths("res/p_20240101_000000_model.keras")
    assert paths["model"] == "res/p_20240101_000000_model.h5"
    assert paths["checkpoint"] == "res/p_20240101_000000_checkpoint.keras"
    assert strip_result_suffix("res/a_results.h5") == "res/a"
