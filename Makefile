# napari-das: `make demo` and `make test` work on a fresh machine (they install what they need).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-napari-das
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONUNBUFFERED := 1

# Debian packages that Xvfb, OpenGL (Mesa) and Qt's xcb platform plugin need (PLATFORM.md).
APT_PACKAGES := xvfb xauth libgl1 libegl1 libgl1-mesa-dri libglx-mesa0 libxkbcommon-x11-0 \
	libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 \
	libxcb-xinerama0 libxcb-xfixes0 libxcb-shape0 libxcb-cursor0 libfontconfig1 libdbus-1-3

.PHONY: install system-deps test test-fast demo bench screenshots lint wheel-check clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[testing]"
	@# Qt binding: PyQt6 (napari's PyQt5 support is deprecated); qtpy prefers PyQt5 when both
	@# are installed, so a venv made with an older napari-das drops it.
	$(PY) -m pip uninstall -q -y PyQt5 PyQt5-Qt5 PyQt5-sip 2>/dev/null || true
	touch $(STAMP)

# Installs the GUI test dependencies when they are missing (needs root and apt-get).
system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian packages:" $$missing; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "warning: missing Debian packages (GUI tests may be skipped):" $$missing; fi; \
	fi

# Two processes: TensorFlow and napari's OpenGL canvas must not share one (PLATFORM.md), so
# each run collects only its own test folders (collecting a module can import TensorFlow).
GUI_TESTS := tests/napari tests/qt tests/packaging
NO_GUI := $(foreach d,$(GUI_TESTS),--ignore=$(d))

test: install system-deps
	$(PY) -m pytest -ra --timeout=900 -m "not gui" -p no:xvfb $(NO_GUI) \
		--doctest-modules src/napari_das/core tests
	$(PY) -m pytest -ra --timeout=600 -m gui $(GUI_TESTS)

test-fast: install
	$(PY) -m pytest -q -m "not slow and not gui" -p no:xvfb $(NO_GUI) tests

demo: install
	$(PY) -m napari_das.demo

bench: install
	$(PY) bench/run_all.py

# The README's viewer and widget pictures (docs/images/); proofreading.png and evaluation.png need
# a finch model: docs/screenshot_proofread.py MODEL_STEM.
screenshots: install system-deps
	$(PY) docs/make_screenshots.py
	$(PY) docs/screenshot_threshold_playback.py

lint: install
	$(VENV)/bin/ruff check src tests bench

clean:
	rm -rf $(VENV) dist build demo-output
