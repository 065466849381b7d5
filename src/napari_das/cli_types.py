"""Value parsers of the ``das`` command line (DAS's spellings of booleans and None)."""

from __future__ import annotations

import argparse

TRUE_WORDS = {"true", "yes", "1", "on", "y", "t"}
FALSE_WORDS = {"false", "no", "0", "off", "n", "f"}


def parse_bool(text: str) -> bool:
    """Parse ``True``/``False`` (and yes/no/1/0/on/off) as DAS's command line writes them."""
    word = str(text).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise argparse.ArgumentTypeError(f"expected True or False, not {text!r}")


def parse_optional_float(text: str) -> float | None:
    if str(text).strip().lower() in {"none", "null", ""}:
        return None
    return float(text)


def parse_optional_int(text: str) -> int | None:
    if str(text).strip().lower() in {"none", "null", ""}:
        return None
    return int(text)
