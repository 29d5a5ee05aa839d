"""The command line imports only what the command asked for needs: listing commands imports none of them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from shoprec.cli import COMMANDS, cli

HEAVY = ("pandas", "pyarrow", "lightgbm", "sklearn", "torch", "matplotlib", "faiss", "tantivy")


def _loaded_after(*args: str) -> set[str]:
    code = ("import sys, json\nfrom shoprec.cli import cli\n"
            "try:\n    cli.main(sys.argv[1:], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
            f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    run = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return set(json.loads(run.stdout.strip().splitlines()[-1]))


def test_listing_the_commands_imports_no_heavy_library() -> None:
    assert _loaded_after("--help") == set()


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_commands_help_imports_no_heavy_library(command: str) -> None:
    # A command's module declares its options with light imports only; what it runs is imported when it runs.
    assert _loaded_after(command, "--help") == set()


def test_the_listed_summaries_are_the_commands_own() -> None:
    for name, (_module, summary) in COMMANDS.items():
        command = cli.get_command(None, name)  # type: ignore[arg-type]
        assert command is not None and command.name == name
        assert command.get_short_help_str(limit=400) == summary, name
