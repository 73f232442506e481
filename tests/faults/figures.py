"""The figures each fault case measured, printed and kept for the issue's table
(var/test-artifacts/faults/<case>.json)."""

import json
from pathlib import Path
from typing import Any

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "faults"


def figures_keep(case: str, figures: dict[str, Any]) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{case}.json").write_text(json.dumps(figures, indent=2, sort_keys=True))
    print(f"\n[faults] {case}: {json.dumps(figures, sort_keys=True)}")
