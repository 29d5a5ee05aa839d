"""LightGBM, imported without its scikit-learn API.

`import lightgbm` imports scikit-learn (and through it scipy.stats) for its `LGBMRanker`-style
estimators: 1.0 s of the 1.3 s the import takes, in every process that loads a learned ranker
(`shoprec recommend` on a bundle whose default is fusion:ltr took 2.8-3.5 s, 1 s of it this).
shoprec uses only `lightgbm.train` and `lightgbm.Booster`, which need none of it, and LightGBM
supports running without scikit-learn (its `compat` module then defines stand-ins). So when
scikit-learn is not imported yet, `lightgbm()` imports LightGBM as if it were absent; scikit-learn
itself stays importable afterwards for whatever needs it. In a process that already imported
scikit-learn, LightGBM is imported as usual.
"""

from __future__ import annotations

import sys
from types import ModuleType


def lightgbm() -> ModuleType:
    """The `lightgbm` module (imported on first call)."""
    if "lightgbm" not in sys.modules and "sklearn" not in sys.modules:
        sys.modules["sklearn"] = None  # type: ignore[assignment]  # `import sklearn` raises ImportError
        try:
            import lightgbm as lgb
        finally:
            del sys.modules["sklearn"]
        return lgb
    import lightgbm as lgb

    return lgb
