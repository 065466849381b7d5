"""Ticks in real units, drawn into RGBA pixel arrays (no napari, no Qt).

napari draws no axes with ticks, so the waveform strip carries the time axis (ticks in s, in
m:ss or h:mm:ss once a view reaches a minute) and a narrow transparent overlay on the left of
the spectrogram the frequency axis (kHz).  Both are pictures at canvas resolution, redrawn at
every camera change (:mod:`napari_das._napari.strip`).

>>> time_ticks(0.0, 1.0, 1000)
([0.0, 0.2, 0.4, 0.6, 0.8, 1.0], 0.2)
>>> [format_time(t, step) for t, step in ((2.5, 0.5), (62.0, 1.0), (3725.0, 5.0))]
['2.5 s', '1:02', '1:02:05']
>>> freq_ticks(0.0, 16000.0, 500)
([0.0, 2000.0, 4000.0, 6000.0, 8000.0, 10000.0, 12000.0, 14000.0, 16000.0], 2000.0)
>>> format_khz(2500.0, 500.0), format_khz(4000.0, 2000.0)
('2.5 kHz', '4 kHz')
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

#: Candidate time steps (s): 1-2-5 below a second, then clock-like steps.
TIME_STEPS = tuple(m * 10.0**e for e in range(-4, 1) for m in (1, 2, 5)) + (
    10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)
#: Minimum pixels between time ticks and between frequency ticks.
TIME_TICK_PX = 110
FREQ_TICK_PX = 36


def _nice_step(span: float, pixels: float, min_px: float, steps) -> float:
    per_px = span / max(pixels, 1.0)
    for step in steps:
        if step / per_px >= min_px:
            return float(step)
    return float(steps[-1])


def time_ticks(t0: float, t1: float, pixels: float, min_px: float = TIME_TICK_PX
               ) -> tuple[list[float], float]:
    """Tick times (s) inside ``[t0, t1]`` at least ``min_px`` apart, and their step."""
    if not t1 > t0:
        return [], 0.0
    step = _nice_step(t1 - t0, pixels, min_px, TIME_STEPS)
    first = math.ceil(t0 / step - 1e-9)
    ticks = [round(k * step, 9) for k in range(first, int(math.floor(t1 / step + 1e-9)) + 1)]
    return ticks, step


def _decimals(step: float) -> int:
    return max(0, -int(math.floor(math.log10(step) + 1e-9))) if step < 1 else 0


def format_time(seconds: float, step: float, hours: bool = False) -> str:
    """``"2.5 s"`` below a minute, ``"m:ss"`` / ``"h:mm:ss"`` (with decimals if needed) above;
    ``hours``: always ``h:mm:ss`` (every tick of an axis that reaches an hour alike).

    >>> format_time(600.0, 600.0, hours=True), format_time(0.0, 600.0, hours=True)
    ('0:10:00', '0:00:00')
    """
    decimals = _decimals(step)
    if seconds < 60 and step < 60 and not hours:
        return f"{seconds:.{decimals}f} s"
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    hour, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    width = 2 + (decimals + 1 if decimals else 0)
    sec = f"{secs:0{width}.{decimals}f}"
    if hour >= 1 or hours:
        return f"{sign}{int(hour)}:{int(minutes):02d}:{sec}"
    return f"{sign}{int(minutes)}:{sec}"


def freq_ticks(low_hz: float, high_hz: float, pixels: float, min_px: float = FREQ_TICK_PX
               ) -> tuple[list[float], float]:
    """Tick frequencies (Hz) inside the band at least ``min_px`` apart, and their step."""
    if not high_hz > low_hz:
        return [], 0.0
    steps = [m * 10.0**e for e in range(0, 6) for m in (1, 2, 5)]
    step = _nice_step(high_hz - low_hz, pixels, min_px, steps)
    first = math.ceil(low_hz / step - 1e-9)
    last = int(math.floor(high_hz / step + 1e-9))
    return [float(k * step) for k in range(first, last + 1)], step


def format_khz(hz: float, step: float) -> str:
    decimals = max(0, _decimals(step / 1e3))
    return f"{hz / 1e3:.{decimals}f} kHz"


@lru_cache(maxsize=4)
def font(size: int = 12):
    """DejaVu Sans (or Pillow's built-in font) at ``size`` pixels."""
    from PIL import ImageFont

    for name in ("DejaVuSans.ttf", "Arial.ttf", "LiberationSans-Regular.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def draw_time_axis(image: np.ndarray, t0: float, t1: float, top: int,
                   colour=(225, 225, 225, 255)) -> np.ndarray:
    """Ticks and labels of ``[t0, t1]`` (the image's full width) in rows ``top:`` of RGBA
    ``image`` (returned, modified)."""
    from PIL import Image, ImageDraw

    height, width = image.shape[:2]
    ticks, step = time_ticks(t0, t1, width)
    picture = Image.fromarray(image, "RGBA")
    draw = ImageDraw.Draw(picture)
    per_px = (t1 - t0) / width
    hours = bool(ticks) and max(abs(ticks[0]), abs(ticks[-1])) >= 3600
    for t in ticks:
        x = (t - t0) / per_px
        draw.line([(x, top), (x, top + 4)], fill=colour)
        label = format_time(t, step, hours)
        w = draw.textlength(label, font=font())
        left = min(max(x - w / 2, 1), width - w - 1)
        draw.text((left, top + 4), label, fill=colour, font=font())
    return np.asarray(picture)


def draw_freq_axis(height: int, width: int, low_hz: float, high_hz: float,
                   colour=(235, 235, 235, 255)) -> np.ndarray:
    """A transparent ``[height, width, 4]`` picture with kHz ticks of the band (high at top)."""
    from PIL import Image, ImageDraw

    picture = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(picture)
    ticks, step = freq_ticks(low_hz, high_hz, height)
    per_px = (high_hz - low_hz) / max(height, 1)
    for hz in ticks:
        y = (high_hz - hz) / per_px
        draw.line([(0, y), (5, y)], fill=colour, width=1)
        label = format_khz(hz, step) if hz == ticks[-1] else format_khz(hz, step)[:-4]
        top = min(max(y - 7, 0), height - 15)
        draw.text((8, top), label, fill=colour, font=font(), stroke_width=2,
                  stroke_fill=(0, 0, 0, 200))
    return np.asarray(picture)
