"""Reading a /metrics answer in tests: prometheus_client's own parser, so that label order and number
formatting (`1.0`, `1e+06`) do not matter."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """Every sample called `name` (a full sample name: `..._total`, `..._bucket`), with its labels."""
    return [(dict(s.labels), s.value) for family in text_string_to_metric_families(text)
            for s in family.samples if s.name == name]


def sample(text: str, name: str, **labels: str) -> float:
    """The value of the sample `name` whose labels are exactly `labels`; an assertion error if there is none."""
    found = [value for got, value in samples(text, name) if got == labels]
    assert found, f"{name}{labels} not in metrics"
    return found[0]


def families(text: str) -> dict[str, str]:
    """Each family's name and type."""
    return {family.name: family.type for family in text_string_to_metric_families(text)}
