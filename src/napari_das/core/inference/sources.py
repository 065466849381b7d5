"""Which recordings a ``das predict`` run covers and where each one's outputs go.

``das predict SOURCE`` takes a recording, a folder (``recursive=True`` descends into
sub-folders), a glob pattern (``'rigs/*/day1_*.wav'``, ``**`` descends) or a list file
(``.txt``/``.lst``: one path a line, ``#`` comments; ``.csv``/``.tsv``: the column ``recording``,
``path`` or ``file``, else the first one), paths relative to the list file's folder.  A batch run
keeps its run manifest ``predict_run.csv`` in its *run folder*: ``--save-filename`` if given,
else the folder, the list file's folder or the glob's common folder.
"""

from __future__ import annotations

import csv
import glob
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import DasError
from ..io.audio import AUDIO_SUFFIXES

#: .h5 files in a folder that are results, not recordings.
NOT_AUDIO_SUFFIXES = ("_das.h5", "_model.h5", "_results.h5", ".weights.h5")
#: Suffixes of list files (anything else that exists and is not audio is refused).
LIST_SUFFIXES = (".txt", ".lst", ".list", ".csv", ".tsv")
LIST_COLUMNS = ("recording", "path", "file", "filename")
GLOB_CHARS = set("*?[")


@dataclass
class Sources:
    """The recordings of a run: ``kind`` is ``file``, ``folder``, ``glob`` or ``list``."""

    kind: str
    recordings: list[Path]
    root: Path  # outputs in a --save-filename folder mirror the recordings' paths below it


def is_recording(path: Path) -> bool:
    """A file with an audio suffix that is not one of our result files."""
    return path.suffix.lower() in AUDIO_SUFFIXES and not path.name.endswith(NOT_AUDIO_SUFFIXES)


def list_recordings(folder: Path, recursive: bool = False) -> list[Path]:
    """Audio files of every supported format in ``folder`` (sorted; hidden entries skipped)."""
    if not recursive:
        return sorted(p for p in folder.iterdir() if p.is_file() and is_recording(p))
    found = []
    for here, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(here) / f for f in files if not f.startswith(".")
                  and is_recording(Path(here) / f)]
    return sorted(found)


def read_list_file(path: Path) -> list[Path]:
    """The recordings named by a list file, resolved against its folder."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise DasError(f"cannot read the list of recordings ({err})", path) from None
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if path.suffix.lower() in (".csv", ".tsv") and lines:
        rows = list(csv.reader(lines, delimiter="\t" if path.suffix.lower() == ".tsv" else ","))
        header = [h.strip().lower() for h in rows[0]]
        column = next((header.index(c) for c in LIST_COLUMNS if c in header), None)
        if column is None and rows[0] and not is_recording(Path(rows[0][0].strip())):
            raise DasError("a CSV list of recordings needs a column 'recording' (or 'path', "
                           "'file')", path)
        rows = rows[1:] if column is not None else rows
        names = [r[column or 0].strip() for r in rows if len(r) > (column or 0)]
    else:
        names = [ln.strip() for ln in lines]
    names = [n for n in names if n]
    if not names:
        raise DasError("the list of recordings is empty", path)
    out, seen = [], set()
    for name in names:
        p = Path(os.path.expanduser(name))
        p = p if p.is_absolute() else path.parent / p
        key = os.path.normpath(p.absolute())
        if key not in seen:
            seen.add(key)
            out.append(Path(key))
    return out


def find_sources(source: str, recursive: bool = False) -> Sources:
    """Recordings named by ``source`` (a file, folder, glob or list file)."""
    path = Path(os.path.expanduser(source))
    if path.is_dir():
        recordings = list_recordings(path, recursive)
        if not recordings:
            where = "this folder" + (" or its sub-folders" if recursive else
                                     " (sub-folders need --recursive)")
            raise DasError(f"no recordings (.wav .flac .ogg .npz .h5) in {where}", path)
        return Sources("folder", recordings, path)
    if path.is_file():
        if path.suffix.lower() in AUDIO_SUFFIXES:
            return Sources("file", [path], path.parent)
        if path.suffix.lower() in LIST_SUFFIXES:
            return Sources("list", read_list_file(path), path.parent)
        raise DasError("not a recording (.wav .flac .ogg .npz .h5) nor a list of recordings "
                       "(.txt .csv)", path)
    if GLOB_CHARS & set(source):
        matches = [Path(m) for m in glob.glob(os.path.expanduser(source), recursive=True)]
        recordings = sorted(m for m in matches if m.is_file() and is_recording(m))
        if not recordings:
            raise DasError("no recordings (.wav .flac .ogg .npz .h5) match this pattern", source)
        root = Path(os.path.commonpath([str(m.absolute().parent) for m in recordings]))
        return Sources("glob", recordings, root)
    raise DasError("no such file or folder: give a recording, a folder, a glob pattern or a "
                   "list file of recordings", path)


def relative_name(path: Path, folder: Path) -> str:
    """``path`` relative to ``folder`` (POSIX separators); absolute if on another drive."""
    try:
        return Path(os.path.relpath(os.path.abspath(path), os.path.abspath(folder))).as_posix()
    except ValueError:
        return Path(os.path.abspath(path)).as_posix()


def output_paths(audio_path: Path, save_format: str, save_probabilities: bool,
                 save_filename: str | None, folder_input: bool,
                 root: Path | None = None) -> dict[str, Path]:
    """``{"csv": ..., "h5": ...}`` for one recording (keys only for what is written).

    With a ``save_filename`` folder (``folder_input``), the recording's path below ``root``
    is kept (``root/day1/a.wav`` -> ``OUT/day1/a_annotations.csv``), so equal names in
    different folders never collide.
    """
    stem = audio_path.stem
    base = audio_path.with_name(stem)
    if save_filename and folder_input:
        sub = Path(".")
        if root is not None:
            rel = relative_name(audio_path.parent, root)
            sub = Path(rel) if not rel.startswith("..") and not Path(rel).is_absolute() else \
                Path(".")
        base = Path(save_filename) / sub / stem
    elif save_filename:
        given = Path(save_filename)
        name = given.name
        for ending in ("_annotations.csv", "_das.h5", ".csv", ".h5"):
            if name.endswith(ending):
                name = name[: -len(ending)]
                break
        base = given.with_name(name)
    out = {}
    given = Path(save_filename) if save_filename and not folder_input else None
    if save_format in ("csv", "both"):
        out["csv"] = given if given is not None and given.suffix == ".csv" else \
            Path(f"{base}_annotations.csv")
    if save_format in ("h5", "both") or save_probabilities:
        out["h5"] = given if given is not None and given.suffix == ".h5" else Path(f"{base}_das.h5")
    return out
