"""Qt forms built from the config dataclasses' field metadata.

Every option shown in a widget comes from :mod:`napari_das.core.config`: the label
(``label``), the tooltip (``help``), the group box (``group``), combo-box choices (``choices``),
spin-box bounds (``min``/``max``) and file pickers (``widget="dir"|"save_dir"``).  Optional fields
(default ``None``) get a check box that switches the value on; unchecked means ``None``.
Widgets may replace single fields with their own :class:`FieldEditor` (the Train widget's
downsample factor).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterable
from typing import Any

from qtpy.QtCore import Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..core.errors import DasError

INT_LIMIT = 2**31 - 1


def field_type(cls: type, f: dataclasses.Field) -> tuple[str, type, bool]:
    """(kind, scalar type, optional) of a field; kind is 'bool', 'list' or 'scalar'."""
    tp = typing.get_type_hints(cls)[f.name]
    optional = False
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        optional = type(None) in args
        tp = next(a for a in args if a is not type(None))
    if typing.get_origin(tp) is list:
        return "list", typing.get_args(tp)[0], optional
    if tp is bool:
        return "bool", bool, optional
    return "scalar", tp, optional


def field_default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    return f.default_factory()  # type: ignore[misc]


def _parse_word(word: str, scalar: type) -> Any:
    if scalar is bool:
        w = word.strip().lower()
        if w in ("true", "yes", "1", "on"):
            return True
        if w in ("false", "no", "0", "off"):
            return False
        raise ValueError(f"expected True or False, not {word!r}")
    return scalar(word)


class FieldEditor(QWidget):
    """One editable value.  Subclasses implement :meth:`value` and :meth:`set_value`."""

    changed = Signal()

    def value(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def set_value(self, value: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class _Editor(FieldEditor):
    """Generic editor chosen from the field type and metadata."""

    def __init__(self, name: str, kind: str, scalar: type, optional: bool, meta: dict,
                 on_value: Any = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.name, self.kind, self.scalar, self.optional = name, kind, scalar, optional
        self.meta = meta
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.enable: QCheckBox | None = None
        self.on_value = on_value
        choices = meta.get("choices")
        if kind == "bool":
            self.editor: QWidget = QCheckBox()
            self.editor.toggled.connect(self.changed)
        elif choices:
            self.editor = QComboBox()
            self.editor.addItems([str(c) for c in choices])
            self.editor.currentIndexChanged.connect(self.changed)
        elif kind == "scalar" and scalar is int:
            self.editor = QSpinBox()
            self.editor.setRange(int(meta.get("min", -INT_LIMIT)), int(meta.get("max", INT_LIMIT)))
            self.editor.valueChanged.connect(self.changed)
        else:  # float, str, list: a line edit (floats keep their full precision)
            self.editor = QLineEdit()
            self.editor.textChanged.connect(self.changed)
            if kind == "list":
                self.editor.setPlaceholderText("values separated by spaces")
            elif optional and scalar is str:
                self.editor.setPlaceholderText("(default)")
        if optional and kind != "bool" and not (scalar is str and kind == "scalar"):
            self.enable = QCheckBox()
            self.enable.setToolTip("use this option (unchecked: default)")
            self.enable.toggled.connect(self.editor.setEnabled)
            self.enable.toggled.connect(self.changed)
            layout.addWidget(self.enable)
            self.editor.setEnabled(False)
        layout.addWidget(self.editor, 1)
        widget_hint = meta.get("widget")
        if widget_hint in ("dir", "save_dir", "file", "save_file"):
            button = QPushButton("…")
            button.setMaximumWidth(30)
            button.setToolTip("browse")
            button.clicked.connect(lambda: self._browse(widget_hint))
            layout.addWidget(button)
            self.browse_button = button

    def _browse(self, hint: str) -> None:
        start = self.editor.text() if isinstance(self.editor, QLineEdit) else ""
        if hint in ("dir", "save_dir"):
            path = QFileDialog.getExistingDirectory(self, self.meta.get("label", self.name), start)
        elif hint == "file":
            path, _ = QFileDialog.getOpenFileName(self, self.meta.get("label", self.name), start)
        else:
            path, _ = QFileDialog.getSaveFileName(self, self.meta.get("label", self.name), start)
        if path:
            self.set_value(path)

    def value(self) -> Any:
        if self.enable is not None and not self.enable.isChecked():
            return None
        e = self.editor
        if isinstance(e, QCheckBox):
            return e.isChecked()
        if isinstance(e, QComboBox):
            return self.meta["choices"][e.currentIndex()]
        if isinstance(e, QSpinBox):
            return int(e.value())
        text = e.text().strip()
        label = self.meta.get("label", self.name)
        if self.kind == "list":
            try:
                return [_parse_word(w, self.scalar) for w in text.replace(",", " ").split()]
            except ValueError as err:
                raise DasError(f"{label}: {err}") from None
        if self.scalar is str:
            return text if text or not self.optional else None
        if not text:
            if self.optional:
                return None
            raise DasError(f"{label}: enter a number")
        try:
            return self.scalar(text)
        except ValueError:
            raise DasError(f"{label}: {text!r} is not a number") from None

    def set_value(self, value: Any) -> None:
        if self.enable is not None:
            self.enable.setChecked(value is not None)
            if value is None:
                value = self.on_value
                if value is None:
                    return
        e = self.editor
        if isinstance(e, QCheckBox):
            e.setChecked(bool(value))
        elif isinstance(e, QComboBox):
            choices = list(self.meta["choices"])
            if value in choices:
                e.setCurrentIndex(choices.index(value))
        elif isinstance(e, QSpinBox):
            e.setValue(int(value))
        elif self.kind == "list":
            e.setText(" ".join(str(v) for v in (value or [])))
        else:
            e.setText("" if value is None else str(value))


class ConfigForm(QWidget):
    """A form for one config class, grouped by the fields' ``group`` metadata.

    Parameters
    ----------
    cls : type
        A config dataclass from :mod:`napari_das.core.config`.
    defaults : dict, optional
        GUI defaults that differ from the dataclass defaults.
    on_values : dict, optional
        Value shown when an optional field is switched on (e.g. seed 1).
    exclude : iterable of str
        Fields not shown (their values come from ``defaults`` or the dataclass).
    editors : dict, optional
        ``name -> FieldEditor factory(meta)`` replacing the generic editor.
    group_boxes : bool
        Put each group in a titled box (otherwise one flat form).
    """

    changed = Signal()

    def __init__(self, cls: type, defaults: dict[str, Any] | None = None,
                 on_values: dict[str, Any] | None = None, exclude: Iterable[str] = (),
                 editors: dict[str, Callable[[dict], FieldEditor]] | None = None,
                 group_boxes: bool = True, parent: QWidget | None = None):
        super().__init__(parent)
        self.cls = cls
        self.defaults = {f.name: field_default(f) for f in dataclasses.fields(cls)}
        self.defaults.update(defaults or {})
        self.hidden = {name: self.defaults[name] for name in exclude}
        self.editors: dict[str, FieldEditor] = {}
        self.groups: dict[str, QGroupBox | None] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        forms: dict[str, QFormLayout] = {}
        for f in dataclasses.fields(cls):
            if f.name in self.hidden or f.metadata.get("cli") is False:
                continue
            meta = dict(f.metadata)
            group = meta.get("group", "") if group_boxes else ""
            if group not in forms:
                form = QFormLayout()
                form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
                # a narrow dock puts a field under its label instead of cutting the fields off
                # behind a horizontal scroll bar
                form.setRowWrapPolicy(QFormLayout.WrapLongRows)
                if group:
                    box = QGroupBox(group)
                    box.setLayout(form)
                    layout.addWidget(box)
                    self.groups[group] = box
                else:
                    holder = QWidget()
                    holder.setLayout(form)
                    form.setContentsMargins(0, 0, 0, 0)
                    layout.addWidget(holder)
                forms[group] = form
            if editors and f.name in editors:
                editor = editors[f.name](meta)
            else:
                kind, scalar, optional = field_type(cls, f)
                editor = _Editor(f.name, kind, scalar, optional, meta,
                                 on_value=(on_values or {}).get(f.name))
            editor.setToolTip(meta.get("help", ""))
            editor.setObjectName(f.name)
            editor.set_value(self.defaults[f.name])
            editor.changed.connect(self.changed)
            label = meta.get("label") or f.name.replace("_", " ").capitalize()
            forms[group].addRow(label, editor)
            forms[group].labelForField(editor).setToolTip(meta.get("help", ""))
            self.editors[f.name] = editor

    def values(self) -> dict[str, Any]:
        """All field values (hidden ones included); DasError for unparsable entries."""
        out = dict(self.hidden)
        for name, editor in self.editors.items():
            out[name] = editor.value()
        return out

    def set_values(self, values: dict[str, Any]) -> None:
        """Fill the form from a dict (unknown keys ignored, e.g. a whole ``_params.yaml``)."""
        for name, value in values.items():
            if name in self.editors:
                self.editors[name].set_value(value)
            elif name in self.hidden:
                self.hidden[name] = value

    def config(self, validate: bool = True) -> Any:
        """The config object of the form (validated: DasError on bad values)."""
        cfg = self.cls.from_dict(self.values())
        return cfg.validated() if validate else cfg

    def reset(self) -> None:
        self.set_values(self.defaults)


def widget_words(text: str, *classes: type) -> str:
    """``text`` with the command-line flags of ``classes``' fields replaced by the widgets'
    labels (``choose another --save-name`` -> ``choose another "Save name"``)."""
    import re

    labels = {"overwrite": "overwrite", "resume": "Resume"}
    for cls in classes:
        for f in dataclasses.fields(cls):
            labels[f.name] = f.metadata.get("label") or f.name.replace("_", " ").capitalize()

    def label(match: re.Match) -> str:
        name = match.group(1).replace("-", "_")
        return f'"{labels[name]}"' if name in labels else match.group(0)

    return re.sub(r"--([a-z][a-z0-9-]*)", label, str(text))

