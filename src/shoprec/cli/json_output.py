"""One meaning for `--json` on every command: a flag that prints the command's machine-readable
result on stdout, and nothing else there (progress and notes go to stderr).

Commands that also keep their result as a file (`evaluate`, `tune`, `search-eval`) write it into
the workspace as before and take `--json-out FILE` to write it elsewhere. Their old spelling
`--json FILE` still works, with a deprecation note: `--json` followed by a value that is not an
option reads the value as FILE; followed by an option, or by nothing, it is the flag.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from shoprec import progress

F = TypeVar("F", bound=Callable[..., Any])
# What click gives `--json` when no value follows it; `--json -` (stdout) means the same.
_PRINT = "-"


@dataclass(frozen=True)
class JsonRequest:
    """What the command line asked of the result JSON: print it on stdout, and where its file goes
    (None: the command's default in the workspace)."""

    print: bool
    path: Path | None


def json_result_options(default: str) -> Callable[[F], F]:
    """`--json` (print the result on stdout) and `--json-out FILE` (write the file here, not at
    `default`); read them with `json_request`."""

    def decorate(func: F) -> F:
        func = click.option("--json-out", "json_out", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
                            help=f"Write the result JSON here (default: {default}).")(func)
        return click.option("--json", "as_json", is_flag=False, flag_value=_PRINT, default=None, metavar="",
                            help="Print the result as JSON on stdout, and nothing else there.")(func)

    return decorate


def json_request(as_json: str | None, json_out: Path | None) -> JsonRequest:
    """The request of `--json` / `--json-out`, the old `--json FILE` read as `--json-out FILE` with a note."""
    if as_json is None or as_json == _PRINT:
        return JsonRequest(print=as_json is not None, path=json_out)
    if json_out is not None:
        raise click.UsageError(f"--json {as_json} is the old spelling of --json-out FILE; give --json-out only")
    progress.note(f"'--json FILE' is deprecated: use '--json-out {as_json}' ('--json' alone prints the result on stdout)")
    return JsonRequest(print=False, path=Path(as_json))


def dumps(document: Any) -> str:
    """The JSON text every command prints and writes: indented, non-ASCII kept, odd values as strings."""
    return json.dumps(document, indent=2, ensure_ascii=False, default=str)
