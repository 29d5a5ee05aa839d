"""The hand-written Prometheus exposition: counts, cumulative buckets and label escaping, checked by hand."""

from __future__ import annotations

from shoprec.service.metrics import BUCKETS, Metrics


def test_histogram_buckets_are_cumulative_and_sum_the_latencies() -> None:
    metrics = Metrics()
    for seconds in (0.0005, 0.001, 0.003, 0.2, 20.0):  # 0.001 is in the le="0.001" bucket (le: less or equal)
        metrics.observe_request("GET", "/r", 200, seconds)
    lines = metrics.render().splitlines()
    buckets = {line.split('le="')[1].split('"')[0]: int(line.rsplit(" ", 1)[1])
               for line in lines if line.startswith("shoprec_http_request_duration_seconds_bucket")}
    expected = {"0.001": 2, "0.0025": 2, "0.005": 3, "0.01": 3, "0.025": 3, "0.05": 3, "0.1": 3, "0.25": 4,
                "0.5": 4, "1.0": 4, "2.5": 4, "5.0": 4, "10.0": 4, "+Inf": 5}
    assert buckets == expected and len(expected) == len(BUCKETS) + 1
    total = next(line for line in lines if line.startswith("shoprec_http_request_duration_seconds_sum"))
    assert abs(float(total.rsplit(" ", 1)[1]) - 20.2045) < 1e-9
    assert 'shoprec_http_requests_total{method="GET",route="/r",status="200"} 5' in lines


def test_every_family_has_help_and_type_and_labels_are_escaped() -> None:
    metrics = Metrics()
    metrics.set_model_version('v"1\\x\ny')
    metrics.count_events(3)
    metrics.count_reload("refused")
    text = metrics.render()
    assert 'shoprec_model_info{version="v\\"1\\\\x\\ny"} 1' in text
    assert "shoprec_events_ingested_total 3" in text
    assert 'shoprec_bundle_reloads_total{outcome="refused"} 1' in text
    for family in ("shoprec_http_requests_total", "shoprec_http_request_duration_seconds", "shoprec_events_ingested_total",
                   "shoprec_bundle_reloads_total", "shoprec_model_info"):
        assert f"# HELP {family} " in text and f"# TYPE {family} " in text
    assert text.endswith("\n")
