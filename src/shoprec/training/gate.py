"""`shoprec train --promote-if-better`: a champion/challenger gate on validation, never on test.

The challenger (the bundle just trained, not yet current) and the champion (the current bundle)
are compared on one number: the default entry's validation NDCG@10 on the validation split the
challenger's training carved from the data as stored now (shoprec.training.validation).

- The challenger's number is the one training recorded; a bundle whose training learned no fusion
  recorded none, and its default model is then measured the same way (refitted on the validation
  split's train side) and the number added to its manifest.
- The champion's recorded number is reused only when its definition is the challenger's (the same
  data, weights, split, candidates). Otherwise (the data changed since, or it recorded none) its
  recipe (models, hyperparameters, fusion method) is refitted and measured on the challenger's
  validation split. A recipe that cannot be refitted blocks the promotion, with the reason.

The challenger becomes current when its number is at least the champion's: a tie promotes, as the
challenger was trained on the newer data (retraining the same models each night must not freeze
the bundle on the first night's data). Either way both numbers are reported.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from shoprec.atomic import write_atomic
from shoprec.bundle import MANIFEST, bundles_dir, current_version, recorded_validation, set_current
from shoprec.data.dataset import Dataset
from shoprec.errors import ShoprecError
from shoprec.training.validation import METRIC, definition, recipe, score_recipe

RECORDED = "recorded on the same data"
RESCORED = "re-scored on this data"


@dataclass
class GateDecision:
    """What the gate compared and decided."""

    promoted: bool
    metric: str
    challenger: str
    challenger_value: float
    champion: str | None
    champion_value: float | None
    champion_source: str | None  # RECORDED, RESCORED, or None when there was nothing to compare
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def gate(workspace: Path, challenger: Path, dataset: Dataset, split: str, options: dict[str, Any],
         n_candidates: int) -> GateDecision:
    """Compare the bundle at `challenger` (written, not current) with the current one on the
    validation split `split`/`options` carves from `dataset` (the data the challenger was trained
    on), and make the challenger current when it is not worse."""
    the_definition = _plain(definition(dataset, split, options, n_candidates))
    manifest = _manifest(challenger)
    value, its_definition = recorded_validation(manifest)
    if value is None or its_definition != the_definition:
        settings, methods, entry = recipe(manifest)
        value = score_recipe(settings, methods, entry, dataset, the_definition)
        metrics = manifest.setdefault("metrics", {})
        metrics["validation"] = {"definition": the_definition, "values": {entry: value}}
        write_atomic(challenger / MANIFEST, json.dumps(manifest, indent=2, default=str))
    version = challenger.name
    champion = current_version(workspace)
    if champion is None or not (bundles_dir(workspace) / champion / MANIFEST).exists():
        set_current(workspace, version, action="train")
        why = "no current bundle" if champion is None else f"the current bundle {champion} is missing"
        return GateDecision(True, METRIC, version, value, champion, None, None, f"{why}: nothing to compare with")
    champion_manifest = _manifest(bundles_dir(workspace) / champion)
    champion_value, champion_definition = recorded_validation(champion_manifest)
    source = RECORDED
    if champion_value is None or champion_definition != the_definition:
        source = RESCORED
        try:
            settings, methods, entry = recipe(champion_manifest)
            champion_value = score_recipe(settings, methods, entry, dataset, the_definition)
        except (ShoprecError, ValueError) as exc:
            return GateDecision(False, METRIC, version, value, champion, None, None,
                                f"the current bundle could not be measured on this validation split ({exc})")
    if value >= champion_value:
        set_current(workspace, version, action="train")
        verdict = "beats" if value > champion_value else "ties (the newer data wins)"
        return GateDecision(True, METRIC, version, value, champion, champion_value, source,
                            f"the new bundle {verdict} the current one")
    return GateDecision(False, METRIC, version, value, champion, champion_value, source,
                        "the current bundle is better on validation")


def _manifest(folder: Path) -> dict[str, Any]:
    try:
        document = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ShoprecError(f"{folder}: unreadable {MANIFEST}: {exc}") from exc
    return document if isinstance(document, dict) else {}


def _plain(value: dict[str, Any]) -> dict[str, Any]:
    """`value` as it reads back from a manifest (JSON), so that definitions compare equal."""
    return json.loads(json.dumps(value, default=str))
