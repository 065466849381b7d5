"""Annotations CSV <-> napari layers <-> writer round trips, writer refusals, sample data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_das._napari.layers import (
    annotations_to_layers,
    color_of,
    hz_to_world_y,
    layers_to_annotations,
)
from napari_das._napari.reader import read_annotations
from napari_das._napari.sample_data import DATA_DIR, FINCH_STEM
from napari_das._napari.strip import is_strip
from napari_das._napari.writer import write_annotations
from napari_das.core.errors import DasError
from napari_das.core.io.annotations import Annotations

CSV = (
    "name,start_seconds,stop_seconds\n"
    "pulse,0.1234567890123,0.1234567890123\n"
    "sine,0.2,0.35\n"
    "pulse,0.3333333333333333,0.3333333333333333\n"
    "sine,1.0000000000000002,2.5\n"
    "clack,nan,nan\n"
    "buzz,nan,0\n"
)


def _fake_annotations() -> Annotations:
    return Annotations.from_events_segments(
        {"pulse": [0.5, 0.333333333], "tick": []}, {"sine": ([0.1, 2.0], [0.4, 2.200000001])}
    )


def test_annotations_to_layers_geometry_features_and_colours():
    layers = annotations_to_layers(_fake_annotations(), freq_range=(0, 4000), name="rec")
    (points, pkw, ptype), (shapes, skw, stype) = layers
    assert (ptype, stype) == ("points", "shapes")
    assert (pkw["name"], skw["name"]) == ("rec events", "rec segments")
    np.testing.assert_array_equal(points[:, 1], [0.333333333, 0.5])
    np.testing.assert_allclose(points[:, 0], hz_to_world_y(2000.0))
    assert list(pkw["features"]["name"]) == ["pulse", "pulse"]
    np.testing.assert_array_equal(shapes[1][:, 1], [2.0, 2.200000001, 2.200000001, 2.0])
    np.testing.assert_allclose(sorted(set(shapes[0][:, 0])), [-4.0, 0.0])
    assert skw["metadata"]["das"]["categories"] == {"pulse": "event", "tick": "event",
                                                   "sine": "segment"}
    assert color_of("sine") == color_of("sine") and len({color_of(n) for n in "abcdef"}) > 1
    assert back_equal(layers)


def back_equal(layers) -> bool:
    return layers_to_annotations(layers) == _fake_annotations()


def test_csv_layers_writer_round_trip_is_exact(make_napari_viewer, tmp_path):
    source = tmp_path / "rec_annotations.csv"
    source.write_text(CSV)
    original = Annotations.from_file(source)
    viewer = make_napari_viewer()
    added = viewer.open(str(source), plugin="napari-das")
    assert [layer.name for layer in added] == ["rec events", "rec segments"]
    written = write_annotations(
        str(tmp_path / "out.csv"), [layer.as_layer_data_tuple() for layer in added]
    )
    assert written == [str(tmp_path / "out_annotations.csv"), str(tmp_path / "out_definitions.csv")]
    again = Annotations.from_file(written[0])
    assert again == original  # same table (exact float64 times) and the empty types
    assert again.categories == {"pulse": "event", "sine": "segment", "clack": "event",
                                "buzz": "segment"}
    # and writing what we read gives byte-identical files
    second = write_annotations(str(tmp_path / "out_annotations.csv"), read_annotations(written[0]))
    assert open(second[0]).read() == open(written[0]).read()


def test_finch_annotations_round_trip_through_viewer_layers(make_napari_viewer, tmp_path):
    source = DATA_DIR / f"{FINCH_STEM}_annotations.csv"
    viewer = make_napari_viewer()
    viewer.open(str(source), plugin="napari-das")
    [shapes] = viewer.layers
    assert len(shapes.data) == len(pd.read_csv(source))
    written = write_annotations(str(tmp_path / "finch_annotations.csv"), [
        shapes.as_layer_data_tuple()
    ])
    assert Annotations.from_file(written[0]) == Annotations.from_file(source)


def test_edited_layers_become_annotations(make_napari_viewer):
    viewer = make_napari_viewer()
    for data, kwargs, layer_type in annotations_to_layers(_fake_annotations(), (0, 5000)):
        getattr(viewer, f"add_{layer_type}")(data, **kwargs)
    points, shapes = viewer.layers
    points.feature_defaults = {"name": "tick", "start_seconds": np.nan, "stop_seconds": np.nan}
    points.add([[-2.5, 3.25]])
    points.data[0, 1] += 0.125  # move the pulse at 1/3 s
    points.data = points.data
    shapes.selected_data = {0}
    shapes.remove_selected()
    result = layers_to_annotations([points, shapes])
    np.testing.assert_array_equal(result.events("tick"), [3.25])
    np.testing.assert_allclose(result.events("pulse"), [0.333333333 + 0.125, 0.5])  # sorted
    assert result.segments("sine")[0].tolist() == [2.0]


def test_writer_refuses_other_layers_and_foreign_existing_files(tmp_path):
    layers = annotations_to_layers(_fake_annotations())
    with pytest.raises(DasError, match="only shapes"):
        write_annotations(str(tmp_path / "x.csv"), layers + [(np.zeros((2, 2)), {"name": "img"},
                                                                "image")])
    (tmp_path / "y_annotations.csv").write_text("keep me")
    with pytest.raises(DasError, match="already exists"):
        write_annotations(str(tmp_path / "y.csv"), layers)
    assert (tmp_path / "y_annotations.csv").read_text() == "keep me"
    unnamed = [(np.array([[0.0, 1.0]]), {"name": "p", "features": pd.DataFrame({"name": [""]})},
                "points")]
    with pytest.raises(DasError, match="no song-type name"):
        write_annotations(str(tmp_path / "z.csv"), unnamed)
    assert not list(tmp_path.glob("z*"))
    clash = [(np.array([[0.0, 1.0]]), {"features": pd.DataFrame({"name": ["a"]})}, "points"),
             ([np.array([[0.0, 1.0], [1.0, 2.0]])], {"features": pd.DataFrame({"name": ["a"]})},
              "shapes")]
    with pytest.raises(DasError, match="as points and as shapes"):
        layers_to_annotations(clash)


def test_sample_data_open_in_the_viewer(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.open_sample("napari-das", "fly_song")
    assert [layer.name for layer in viewer.layers if not is_strip(layer)] == [
        "fly_song", "fly_song events", "fly_song segments"]
    image, points, shapes = [layer for layer in viewer.layers if not is_strip(layer)]
    assert image.metadata["das"]["samplerate"] == 10000
    assert image.metadata["das"]["duration"] == pytest.approx(20.0)
    annotations = layers_to_annotations([points, shapes])
    assert set(annotations.categories) == {"pulse", "sine"}
    assert len(annotations.events("pulse")) > 10 and len(annotations.segments("sine")[0]) > 1
    viewer.layers.clear()
    viewer.open_sample("napari-das", "bengalese_finch")
    assert [layer._type_string for layer in viewer.layers] == ["image", "shapes"]
    assert viewer.layers[0].metadata["das"]["samplerate"] == 32000
    assert "CC BY 4.0" in (DATA_DIR / "README.md").read_text()


def test_channel_column_survives_layers_edit_and_write(make_napari_viewer, tmp_path):
    source = tmp_path / "ch_annotations.csv"
    source.write_text("name,start_seconds,stop_seconds,channel\n"
                      "pulse,0.5,0.5,2\nsine,1.0,1.5,1\nsine,2.0,2.5,-1\npulse,3.0,3.0,0\n")
    viewer = make_napari_viewer()
    points, shapes = viewer.open(str(source), plugin="napari-das")
    assert points.features["channel"].tolist() == [2, 0]
    assert shapes.features["channel"].tolist() == [1, -1]
    points.add([[-2.5, 4.0]])  # a new event gets the default channel -1
    points.data[1, 1] += 0.25  # move the pulse of channel 0
    points.data = points.data
    written = write_annotations(str(tmp_path / "out_annotations.csv"),
                                [points.as_layer_data_tuple(), shapes.as_layer_data_tuple()])
    lines = open(written[0]).read().splitlines()
    assert lines == ["name,start_seconds,stop_seconds,channel", "pulse,0.5,0.5,2",
                     "sine,1.0,1.5,1", "sine,2.0,2.5,-1", "pulse,3.25,3.25,0",
                     "pulse,4.0,4.0,-1"]


def test_song_type_colours_are_distinct_up_to_twenty_and_stable():
    from napari_das._napari.layers import PALETTE, color_of, colors_for

    finch = ["i", "a", "b", "c", "d", "e", "f", "g", "h", "j", "k", "0", "-", "x"]
    colors = colors_for(finch)
    assert len(set(colors.values())) == len(finch)  # 14 types, 14 colours
    many = [f"type{i}" for i in range(20)]
    assert len(set(colors_for(many).values())) == 20 == len(PALETTE)
    # the same name keeps its colour wherever it does not collide
    assert color_of("pulse") == color_of("pulse", ["pulse"]) == colors_for(["pulse"])["pulse"]
    assert colors_for(finch) == colors_for(list(reversed(finch)))  # order does not matter
