"""Training on Apache Spark: `shoprec train --engine spark` (docs/spark.md).

The data preparation (merging exact repeats, event weights, time decay, the interaction table),
implicit ALS (Spark MLlib), popularity and item co-occurrence run on Spark and write the same
bundle the local engine writes, so serving does not change. pyspark is an optional extra; the
modules under this package import it, this one does not.
"""

from __future__ import annotations

from shoprec.errors import ConfigError

INSTALL_HINT = "pip install -e '.[spark]'"
# Registry names Spark trains (itemknn_bm25 is itemknn with BM25 weighting; similar_items, which every
# bundle gets, counts its co-occurrence on Spark and builds its content part on the driver).
SPARK_MODELS = ("ials", "itemknn", "itemknn_bm25", "popularity", "similar_items")


def require_pyspark() -> None:
    """Raise a ConfigError naming the install command when pyspark is not importable."""
    try:
        import pyspark  # noqa: F401
    except ModuleNotFoundError as exc:
        raise ConfigError(f"--engine spark needs pyspark, which is not installed: install with {INSTALL_HINT}") from exc


def check_spark_models(names: list[str]) -> None:
    """ConfigError naming the models Spark cannot train, and those it can."""
    refused = [name for name in names if name not in SPARK_MODELS]
    if refused:
        raise ConfigError(
            f"--engine spark trains {', '.join(SPARK_MODELS)}; it cannot train {', '.join(refused)} "
            "(train those with --engine local)"
        )
