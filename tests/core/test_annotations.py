"""core.annotations: DAS CSV reading/writing, NaN placeholders, definitions, helpers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_das.core.errors import DasError
from napari_das.core.io.annotations import (
    Annotations,
    definitions_path_for,
    read_definitions,
    write_definitions,
)


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------ reading


def test_reads_das_predict_csv_with_index_and_channel_columns(tmp_path):
    path = write(
        tmp_path / "rec_annotations.csv",
        ",name,start_seconds,stop_seconds,channel\n"
        "0,sine,2.0,3.5,0\n"
        "1,pulse,1.0,1.0,-1\n"
        "2,pulse,0.5,0.5,-1\n",
    )
    ann = Annotations.from_file(path)
    assert list(ann.df.columns) == ["name", "start_seconds", "stop_seconds", "channel"]
    assert ann.df.values.tolist() == [["pulse", 0.5, 0.5, -1], ["pulse", 1.0, 1.0, -1],
                                      ["sine", 2.0, 3.5, 0]]
    assert ann.categories == {"sine": "segment", "pulse": "event"}
    assert list(ann.categories) == ["sine", "pulse"]  # order of first appearance


def test_nan_placeholders_define_categories_and_are_dropped(tmp_path):
    path = write(
        tmp_path / "a_annotations.csv",
        "name,start_seconds,stop_seconds\n"
        "song,,\n"  # event placeholder (NaN, NaN)
        "trill,nan,0\n"  # segment placeholder (NaN, finite)
        "song,1.5,1.5\n"
        "click,,\n"
        "click,0.2,0.7\n",
    )  # a real row with a duration outweighs the placeholder of 'click'
    ann = Annotations.from_file(path)
    assert ann.categories == {"song": "event", "trill": "segment", "click": "segment"}
    assert ann.evidence == {"song": "rows", "trill": "placeholder", "click": "rows"}
    assert ann.df.values.tolist() == [["click", 0.2, 0.7], ["song", 1.5, 1.5]]
    assert ann.names_of("event") == ["song"]
    assert ann.names_of("segment") == ["trill", "click"]


def test_names_that_look_like_missing_values_or_numbers_stay_names(tmp_path):
    path = write(
        tmp_path / "a_annotations.csv",
        "name,start_seconds,stop_seconds\nNA,1,1\nnan,2,3\n007,4,4\n",
    )
    ann = Annotations.from_file(path)
    assert ann.df["name"].tolist() == ["NA", "nan", "007"]


def test_header_only_file_is_empty(tmp_path):
    ann = Annotations.from_file(write(tmp_path / "e.csv", "name,start_seconds,stop_seconds\n"))
    assert len(ann) == 0 and ann.categories == {}


@pytest.mark.parametrize(
    "content, message",
    [
        (
            "name,start,stop\na,1,2\n",
            r"missing column\(s\) start_seconds, stop_seconds "
            r"\(found: name, start, stop\)",
        ),
        (
            "name,start_seconds,stop_seconds\na,1,2\nb,one,2\n",
            "line 3: start_seconds 'one' is not a number",
        ),
        ("name,start_seconds,stop_seconds\na,1,2\n,3,4\n", "line 3: empty name"),
        ("name,start_seconds,stop_seconds\na,1,inf\n", "line 2: times must be finite"),
        ("", "the annotation file is empty"),
    ],
)
def test_bad_files_name_the_file_and_the_line(tmp_path, content, message):
    path = write(tmp_path / "bad_annotations.csv", content)
    with pytest.raises(DasError, match=rf"bad_annotations\.csv: .*{message}"):
        Annotations.from_file(path)


def test_missing_file(tmp_path):
    with pytest.raises(DasError, match=r"gone_annotations\.csv: annotation file not found"):
        Annotations.from_file(tmp_path / "gone_annotations.csv")


# ------------------------------------------------------------------------------ writing


def test_written_file_is_das_format_sorted_with_placeholders(tmp_path):
    ann = Annotations.from_events_segments(
        {"pulse": [2.0, 0.25], "tick": []}, {"sine": ([1.0], [1.5]), "buzz": ([], [])}
    )
    path = ann.to_file(tmp_path / "x_annotations.csv")
    assert path.read_text().splitlines() == [
        "name,start_seconds,stop_seconds",
        "pulse,0.25,0.25",
        "sine,1.0,1.5",
        "pulse,2.0,2.0",
        "tick,,",
        "buzz,,0.0",
    ]
    assert not definitions_path_for(path).exists()
    # pandas (as DAS reads it) sees NaN placeholders
    df = pd.read_csv(path)
    assert df["start_seconds"].isna().tolist() == [False] * 3 + [True] * 2


def test_round_trip_keeps_table_and_categories_including_awkward_names(tmp_path, rng):
    names = ["pulse", "sïne ♪", 'say "hi", twice', "a,b", "trailing space ", "多"]
    events = {n: np.sort(rng.random(5) * 100) for n in names[:3]}
    onsets = {n: np.sort(rng.random(4) * 100) for n in names[3:]}
    segments = {n: (on, on + rng.random(4)) for n, on in onsets.items()}
    events["empty event"] = []
    segments["empty segment"] = ([], [])
    ann = Annotations.from_events_segments(events, segments)
    path = ann.to_file(tmp_path / "u_annotations.csv", definitions=True)
    back = Annotations.from_file(path)
    assert back == ann
    pd.testing.assert_frame_equal(back.df, ann.df)
    assert list(back.categories.items()) == list(ann.categories.items())
    # times are held and written on a 1 ns grid (core/timebase.py), so the file is what is held
    np.testing.assert_array_equal(back.events('say "hi", twice'),
                                  np.round(events['say "hi", twice'], 9))
    assert np.abs(back.events("pulse") - events["pulse"]).max() <= 0.5e-9
    # without the definitions file, categories still agree (placeholders carry empty types)
    definitions_path_for(path).unlink()
    assert Annotations.from_file(path).categories == ann.categories


def test_times_of_samples_are_written_without_float_noise(tmp_path):
    from napari_das.core.timebase import to_sample

    fs = 44100.0
    n = np.arange(0, 441000, 37)
    ann = Annotations.from_events_segments({"pulse": n / fs}, {"sine": ([0.1 + 0.2], [0.7])})
    path = ann.to_file(tmp_path / "n_annotations.csv")
    lines = path.read_text().splitlines()
    assert "sine,0.3,0.7" in lines  # 0.1 + 0.2 = 0.30000000000000004 in memory before
    assert max(len(line.split(",")[1].split(".")[1]) for line in lines[1:]) <= 9
    back = Annotations.from_file(path)
    assert to_sample(back.events("pulse"), fs).tolist() == n.tolist()


def test_to_file_refuses_to_overwrite_when_asked_and_is_atomic(tmp_path):
    ann = Annotations.from_events_segments({"pulse": [1.0]})
    path = ann.to_file(tmp_path / "x_annotations.csv")
    with pytest.raises(DasError, match="file exists"):
        Annotations.from_events_segments({"pulse": [2.0]}).to_file(path, overwrite=False)
    assert Annotations.from_file(path).events("pulse").tolist() == [1.0]
    Annotations.from_events_segments({"pulse": [2.0]}).to_file(path)  # default overwrites
    assert Annotations.from_file(path).events("pulse").tolist() == [2.0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x_annotations.csv"]


# ------------------------------------------------------------------------------ definitions


def test_definitions_one_line_file_and_merge_order(tmp_path):
    write(tmp_path / "r_definitions.csv", "tick,event\n")
    assert read_definitions(tmp_path / "r_definitions.csv") == {"tick": "event"}
    write(tmp_path / "r_annotations.csv", "name,start_seconds,stop_seconds\nsine,1,2\n")
    ann = Annotations.from_file(tmp_path / "r_annotations.csv")
    assert list(ann.categories.items()) == [("tick", "event"), ("sine", "segment")]
    assert ann.names_of("event") == ["tick"]


def test_write_definitions_then_read(tmp_path):
    categories = {"a,b": "segment", "ü": "event"}
    path = write_definitions(tmp_path / "d_definitions.csv", categories)
    assert read_definitions(path) == categories
    write(tmp_path / "bad_definitions.csv", "a,event\n\nb,song\n")
    with pytest.raises(DasError, match=r"bad_definitions\.csv: line 3: expected"):
        read_definitions(tmp_path / "bad_definitions.csv")


def test_definitions_path_for():
    assert definitions_path_for("/d/x_annotations.csv").name == "x_definitions.csv"
    assert definitions_path_for("/d/x.csv").name == "x_definitions.csv"


# ------------------------------------------------------------------------------ helpers


def test_events_segments_shift_and_crop():
    ann = Annotations.from_events_segments(
        {"pulse": [0.5, 1.0, 3.0]}, {"sine": ([0.8, 2.0, 2.9], [1.2, 2.5, 3.5])}
    )
    np.testing.assert_array_equal(ann.events("pulse"), [0.5, 1.0, 3.0])
    on, off = ann.segments("sine")
    np.testing.assert_array_equal(on, [0.8, 2.0, 2.9])
    np.testing.assert_array_equal(off, [1.2, 2.5, 3.5])
    assert ann.events("nothing").size == 0

    moved = ann.shifted(10.0)
    np.testing.assert_array_equal(moved.events("pulse"), [10.5, 11.0, 13.0])
    assert moved.categories == ann.categories

    # strict: the segment 0.8-1.2 starts before t0 and 2.9-3.5 ends after t1 -> both left out
    cropped = ann.cropped(0.9, 3.0)
    np.testing.assert_allclose(cropped.events("pulse"), [0.1, 2.1])
    np.testing.assert_allclose(np.stack(cropped.segments("sine")), [[1.1], [1.6]])
    assert cropped.categories == ann.categories
    assert len(ann.cropped(5, 6)) == 0


def test_constructor_validates_and_sorts():
    df = pd.DataFrame({"name": ["b", "a"], "start_seconds": [2.0, 1.0], "stop_seconds": [2.0, 1.5]})
    ann = Annotations(df)
    assert ann.df["name"].tolist() == ["a", "b"]
    assert ann.categories == {"b": "event", "a": "segment"}
    with pytest.raises(DasError, match="row 1: stop_seconds 0.5 is before"):
        Annotations(pd.DataFrame({"name": ["a"], "start_seconds": [1.0], "stop_seconds": [0.5]}))
    with pytest.raises(DasError, match="both events and segments"):
        Annotations.from_events_segments({"x": [1]}, {"x": ([1], [2])})
    with pytest.raises(DasError, match="category of 'a' must be"):
        Annotations(df, {"a": "syllable"})


def test_definitions_keep_zero_length_segments_but_not_events_with_durations(tmp_path):
    csv = tmp_path / "r_annotations.csv"
    csv.write_text("name,start_seconds,stop_seconds\nsine,0.1,0.1\nclick,0.2,0.3\n")
    (tmp_path / "r_definitions.csv").write_text("sine,segment\nclick,event\n")
    assert Annotations.from_file(csv).categories == {"sine": "segment", "click": "segment"}
