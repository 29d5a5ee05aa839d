"""How a model's learned state is written and read: JSON for small values, arrays in `state.npz`,
large dense arrays as their own memory-mapped `.npy`. No pickle anywhere.

A dense learned array of MMAP_MIN_BYTES or more is saved as `<name>.npy` and memory-mapped (read
only) on load, so a process reads only the rows it touches and the workers of one service share
the pages: EASE's matrix for 20,000 items is 1.6 GB, of which one shopper's answer reads a few rows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from shoprec.config import WeightConfig
from shoprec.errors import ShoprecError

MODEL_FILE = "model.json"
STATE_FILE = "state.npz"
MMAP_MIN_BYTES = 64 * 2**20


def save_state(directory: Path, owner: str, state: dict[str, Any]) -> dict[str, Any]:
    """Write `state`'s arrays into `directory`; its JSON description (for model.json)."""
    arrays, described = _encode_state(owner, state)
    for name, info in described.items():
        if info["kind"] == "array" and arrays[name].nbytes >= MMAP_MIN_BYTES:
            info["file"] = f"{name}.npy"
            np.save(directory / info["file"], arrays.pop(name), allow_pickle=False)
    np.savez(directory / STATE_FILE, allow_pickle=False, **arrays)
    return described


def load_state(directory: Path, described: dict[str, Any]) -> dict[str, Any]:
    """The state `save_state` wrote, by attribute name."""
    with np.load(directory / STATE_FILE, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    arrays.update(_mapped_arrays(directory, described))
    return _decode_state(described, arrays)


def _encode_state(owner: str, state: dict[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Split learned state into npz arrays and a JSON description."""
    arrays: dict[str, np.ndarray] = {}
    described: dict[str, Any] = {}
    for name, value in state.items():
        if isinstance(value, np.ndarray):
            if value.dtype == object:
                raise TypeError(f"{owner}.{name}: object arrays cannot be saved without pickle")
            arrays[name] = value
            described[name] = {"kind": "array"}
        elif sp.issparse(value):
            csr = sp.csr_matrix(value)
            arrays.update({f"{name}.data": csr.data, f"{name}.indices": csr.indices, f"{name}.indptr": csr.indptr})
            described[name] = {"kind": "csr", "shape": list(csr.shape)}
        elif isinstance(value, WeightConfig):
            described[name] = {"kind": "weights", "event_weights": value.event_weights, "half_life_days": value.half_life_days}
        else:
            if isinstance(value, np.generic):
                value = value.item()
            try:
                json.dumps(value)
            except TypeError as exc:
                raise TypeError(
                    f"{owner}.{name}: cannot save a {type(value).__name__}; override _learned_state and _save_extra"
                ) from exc
            described[name] = {"kind": "json", "value": value}
    return arrays, described


def _mapped_arrays(directory: Path, described: dict[str, Any]) -> dict[str, np.ndarray]:
    """The arrays saved as their own .npy file (see MMAP_MIN_BYTES), memory-mapped read-only."""
    mapped = {}
    for name, info in described.items():
        file = info.get("file")
        if file is None:
            continue
        if info.get("kind") != "array" or not isinstance(file, str) or Path(file).name != file or not file.endswith(".npy"):
            raise ShoprecError(f"{directory / MODEL_FILE}: state {name!r} names file {file!r}; expected '<name>.npy' in the same folder")
        mapped[name] = np.load(directory / file, mmap_mode="r", allow_pickle=False)
    return mapped


def _decode_state(described: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for name, info in described.items():
        kind = info["kind"]
        if kind == "array":
            state[name] = arrays[name]
        elif kind == "csr":
            parts = (arrays[f"{name}.data"], arrays[f"{name}.indices"], arrays[f"{name}.indptr"])
            state[name] = sp.csr_matrix(parts, shape=tuple(info["shape"]))
        elif kind == "weights":
            state[name] = WeightConfig(event_weights=info["event_weights"], half_life_days=info["half_life_days"])
        else:
            state[name] = info["value"]
    return state
