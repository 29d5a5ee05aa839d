"""`shoprec train` when a model fails: the others still form the current bundle, the exit says who and what to do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from shoprec.bundle import load_current

REPO = Path(__file__).resolve().parents[2]
# Registers the failing test models, then runs the command line as the `shoprec` script does.
LAUNCH = ("from shoprec.models.registry import MODELS; "
          "MODELS['segfault'] = 'tests.models.failing_models:SegfaultRecommender'; "
          "MODELS['raising'] = 'tests.models.failing_models:RaisingRecommender'; "
          "from shoprec.cli import main; main()")


def _shoprec(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", LAUNCH, *args], capture_output=True, text=True, timeout=300, cwd=REPO)


def test_a_native_crash_in_one_model_keeps_the_others_and_names_it(tmp_path: Path) -> None:
    ws = str(tmp_path / "ws")
    generated = _shoprec("generate", "--workspace", ws, "--users", "60", "--items", "80", "--events", "1500")
    assert generated.returncode == 0, generated.stderr
    run = _shoprec("train", "--workspace", ws, "--models", "popularity,segfault,itemknn,raising,ease",
                   "--fusion", "rrf")
    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    assert "segfault" in run.stderr and "SIGSEGV" in run.stderr
    assert "planted failure" in run.stderr
    assert "shoprec train --models popularity,itemknn,ease" in run.stderr
    bundle = load_current(Path(ws))
    assert set(bundle.models) == {"popularity", "itemknn", "ease", "context_popularity", "similar_items", "fusion:rrf"}
    failed = bundle.manifest["metrics"]["failed"]
    assert set(failed) == {"segfault", "raising"} and "SIGSEGV" in failed["segfault"]
    assert bundle.manifest["metrics"]["fusion"]["members"] == ["popularity", "itemknn", "ease"]


def test_when_every_model_fails_no_bundle_is_written(tmp_path: Path) -> None:
    ws = str(tmp_path / "ws")
    assert _shoprec("generate", "--workspace", ws, "--users", "30", "--items", "40", "--events", "500").returncode == 0
    run = _shoprec("train", "--workspace", ws, "--models", "segfault", "--json")
    assert run.returncode == 2
    assert "every model failed, no bundle written" in run.stderr and "SIGSEGV" in run.stderr
    assert run.stdout == ""
    assert not (Path(ws) / "bundles" / "CURRENT").exists()
    assert [p for p in (Path(ws) / "bundles").iterdir()] == []  # the started folder is removed
