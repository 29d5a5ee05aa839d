"""No module of shoprec over 400 lines: past that, a file holds more than one idea (docs/layout.md)."""

from __future__ import annotations

from pathlib import Path

MAX_LINES = 400
PACKAGE = Path(__file__).resolve().parents[1] / "src" / "shoprec"


def test_every_module_is_at_most_400_lines() -> None:
    sizes = {path.relative_to(PACKAGE.parent): len(path.read_text(encoding="utf-8").splitlines())
             for path in PACKAGE.rglob("*.py")}
    assert len(sizes) > 100
    over = {str(path): n for path, n in sorted(sizes.items()) if n > MAX_LINES}
    assert not over, f"split these by idea: {over}"
