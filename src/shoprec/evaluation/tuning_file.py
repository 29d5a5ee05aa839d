"""The tuning file: what `shoprec tune` writes (by default `<workspace>/tuning.json`) and
`shoprec train --params-from` reads, one entry per model.

Apart from shoprec.evaluation.tuning so that reading it, and naming it in the command line's
help, loads neither numpy nor the models.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from shoprec.atomic import write_atomic
from shoprec.errors import ShoprecError

TUNING_FILE = "tuning.json"


class Tuned(Protocol):
    """What the file keeps of a tuning result (shoprec.evaluation.tuning.TuningResult)."""

    def to_dict(self) -> dict[str, Any]: ...


def save_tuning(path: Path, results: Mapping[str, Tuned], extra: Mapping[str, Any] | None = None) -> None:
    """Write `{model: {params, metric, value, trials, validation, ...extra}}` to `path`.

    Models already in an existing file and not tuned now are kept, so tuning models one at a
    time builds up one file.
    """
    path = Path(path)
    entries: dict[str, Any] = load_tuning(path) if path.exists() else {}
    for name, result in results.items():
        entries[name] = {**result.to_dict(), **(extra or {})}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(entries, indent=2, default=str) + "\n")


def load_tuning(path: Path) -> dict[str, Any]:
    """Read a tuning file written by `save_tuning`; a clear error when it is missing or damaged."""
    path = Path(path)
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ShoprecError(f"{path}: no tuning file; run 'shoprec tune' first") from exc
    except json.JSONDecodeError as exc:
        raise ShoprecError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(entries, dict) or not all(isinstance(e, dict) and isinstance(e.get("params"), dict)
                                                for e in entries.values()):
        raise ShoprecError(f"{path}: expected {{model: {{\"params\": {{...}}, ...}}}}")
    return entries
