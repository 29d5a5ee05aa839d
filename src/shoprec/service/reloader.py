"""Loading a bundle to serve: found, complete and loadable, or refused with the reason, before the
service swaps anything (`Services.reload` swaps)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from shoprec.bundle import Bundle, bundles_dir, current_path, load_bundle, set_current
from shoprec.errors import ShoprecError
from shoprec.ranking.engine import RecommendationEngine
from shoprec.service.problems import InvalidInput, NotFound


def load_for_serving(workspace: Path, version: str | None, open_engine: Callable[[Bundle], RecommendationEngine],
                     *, make_current: bool = True) -> tuple[Bundle, RecommendationEngine]:
    """Bundle `version` (default: the one CURRENT names) and an engine over it, built beside the serving
    one. A missing bundle is NotFound; a partial or damaged one InvalidInput, the serving one untouched.
    When a version is named, it also becomes CURRENT once it loaded (unless `make_current` is false),
    so that a restart serves it too, and every other worker follows (bundle_follower.py)."""
    try:
        path = bundles_dir(workspace) / version if version else current_path(workspace)
    except ShoprecError as exc:
        raise NotFound(str(exc)) from exc
    if not path.is_dir():
        raise NotFound(f"no bundle {path.name} in {bundles_dir(workspace)}")
    try:
        bundle = load_bundle(path)
        engine = open_engine(bundle)
    except ShoprecError as exc:
        raise InvalidInput(f"bundle {path.name} refused, the serving one is kept: {exc}") from exc
    except Exception as exc:  # a damaged file fails deep inside numpy, scipy or torch
        raise InvalidInput(f"bundle {path.name} refused, the serving one is kept: damaged bundle: "
                           f"{type(exc).__name__}: {exc}") from exc
    if version and make_current:
        set_current(workspace, version)
    return bundle, engine
