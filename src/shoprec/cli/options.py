"""Parsing of the small option languages: `k=v` maps and comma lists."""

from __future__ import annotations

from collections.abc import Iterable

from shoprec.errors import ConfigError


def parse_pairs(values: Iterable[str], option: str) -> dict[str, str]:
    """`["a=b", "c=d,e=f"]` -> {"a": "b", "c": "d", "e": "f"} with a clear error for a bad pair."""
    pairs: dict[str, str] = {}
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            key, sep, target = part.partition("=")
            if not sep or not key.strip() or not target.strip():
                raise ConfigError(f"{option}: expected NAME=VALUE, got '{part}'")
            pairs[key.strip()] = target.strip()
    return pairs


def parse_list(value: str | None) -> list[str]:
    """`"a, b,c"` -> ["a", "b", "c"]."""
    return [p.strip() for p in (value or "").split(",") if p.strip()]


def parse_ks(value: str) -> tuple[int, ...]:
    """`"10,20"` -> (10, 20); each K must be a positive integer."""
    ks = []
    for part in parse_list(value):
        if not part.isdigit() or int(part) < 1:
            raise ConfigError(f"--k: expected positive integers like 10,20, got '{part}'")
        ks.append(int(part))
    if not ks:
        raise ConfigError("--k: give at least one cut-off, e.g. --k 10,20")
    return tuple(sorted(set(ks)))
