"""LightGBM imported without scikit-learn: training and prediction work, scikit-learn stays importable."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


def _run(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_fresh_process_gets_lightgbm_without_scikit_learn_and_can_still_import_it() -> None:
    out = _run("""
        import json, sys
        import numpy as np
        from shoprec.lightgbm_module import lightgbm
        lgb = lightgbm()
        loaded_sklearn = "sklearn" in sys.modules
        x = np.random.default_rng(0).random((200, 3)); y = (x[:, 0] > 0.5).astype(float)
        booster = lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1}, lgb.Dataset(x, y), 20)
        accuracy = float(((booster.predict(x) > 0.5) == y).mean())
        import lightgbm.compat, sklearn.feature_extraction.text
        print(json.dumps({"loaded_sklearn": loaded_sklearn, "accuracy": accuracy,
                          "lightgbm_sees_sklearn": lightgbm.compat.SKLEARN_INSTALLED, "sklearn_after": "sklearn" in sys.modules}))
    """)
    assert out == {"loaded_sklearn": False, "accuracy": out["accuracy"], "lightgbm_sees_sklearn": False, "sklearn_after": True}
    assert out["accuracy"] > 0.95


def test_after_scikit_learn_lightgbm_is_imported_as_usual() -> None:
    out = _run("""
        import json
        import sklearn
        from shoprec.lightgbm_module import lightgbm
        lgb = lightgbm()
        import lightgbm.compat
        print(json.dumps({"lightgbm_sees_sklearn": lightgbm.compat.SKLEARN_INSTALLED, "booster": hasattr(lgb, "Booster")}))
    """)
    assert out == {"lightgbm_sees_sklearn": True, "booster": True}
