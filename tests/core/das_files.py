"""Where the DAS reference files are (../shared next to the repository or its worktree)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_CANDIDATES = [Path(os.environ["DAS_SHARED"])] if os.environ.get("DAS_SHARED") else []
_CANDIDATES += [ROOT.parent / "shared", ROOT.parents[1] / "shared"]
SHARED = next((p for p in _CANDIDATES if (p / "das_models").is_dir()), _CANDIDATES[0])
DAS_MODELS = SHARED / "das_models"
