"""Small helpers shared by the torch models (two-tower, SASRec): seeding, device, weights, early stopping.

Import this module only from torch models: it imports torch, an optional extra.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from shoprec import threads as thread_policy

# Importing torch sets the shared OpenMP runtime (and torch's own pool) to every core: back to the policy.
thread_policy.apply()

# Training and serving run on the CPU: the models are small, and a CPU run reproduces exactly.
DEVICE = torch.device("cpu")
WEIGHTS_FILE = "weights.pt"


@contextmanager
def threads(count: int | None) -> Iterator[None]:
    """Run a block with torch using `count` CPU threads (None: the thread policy's, shoprec.threads),
    restored afterwards.

    Small models are often fastest on one thread: torch's worker threads spin while they wait, and
    on a busy machine that costs far more than the parallel work saves. A fixed count also keeps
    floating-point sums, hence results, the same from run to run.
    """
    old = torch.get_num_threads()
    torch.set_num_threads(min(count, thread_policy.torch_threads()) if count is not None else thread_policy.torch_threads())
    try:
        yield
    finally:
        torch.set_num_threads(old)


@contextmanager
def seeded(seed: int, thread_count: int | None = None) -> Iterator[torch.Generator]:
    """Run a block reproducibly: torch's global RNG seeded (and restored afterwards), deterministic
    algorithms on, a fixed thread count; yields a generator seeded with `seed` for sampling.

    The global state is put back on exit, so a model's fit does not change the caller's RNG or
    torch settings.
    """
    deterministic = torch.are_deterministic_algorithms_enabled()
    with torch.random.fork_rng(devices=[]), threads(thread_count):
        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True)
        try:
            yield torch.Generator().manual_seed(seed)
        finally:
            torch.use_deterministic_algorithms(deterministic)


def save_weights(module: nn.Module, directory: Path) -> None:
    """Write the module's learned weights in torch's own format (a state dict, no pickled classes)."""
    torch.save(module.state_dict(), Path(directory) / WEIGHTS_FILE)


def load_weights(module: nn.Module, directory: Path) -> None:
    """Read weights written by `save_weights` into `module` (weights only: no code is unpickled)."""
    state = torch.load(Path(directory) / WEIGHTS_FILE, map_location=DEVICE, weights_only=True)
    module.load_state_dict(state)
    module.eval()


def embedding_bag_input(matrix: sp.csr_matrix, rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The given rows of a CSR matrix as `nn.EmbeddingBag` input: column indices, bag offsets and the
    values (as `per_sample_weights`); an empty row is an empty bag."""
    starts, lengths = matrix.indptr[rows], np.diff(matrix.indptr)[rows]
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    positions = np.repeat(starts - offsets, lengths) + np.arange(lengths.sum())
    return (torch.from_numpy(matrix.indices[positions].astype(np.int64)), torch.from_numpy(offsets),
            torch.from_numpy(matrix.data[positions].astype(np.float32)))


class EarlyStopping:
    """Keep the best weights seen so far by a validation metric (higher is better); say when to stop.

    `update` returns True once the metric has not improved for `patience` checks in a row;
    `restore` puts the best weights back into the module.
    """

    def __init__(self, patience: int, min_delta: float = 0.0) -> None:
        self.patience = patience
        self.min_delta = min_delta
        self.best: float = float("-inf")
        self.best_epoch: int = -1
        self.history: list[float] = []
        self._best_state: dict[str, torch.Tensor] | None = None
        self._bad = 0

    def update(self, metric: float, module: nn.Module, epoch: int) -> bool:
        """Record `metric` after `epoch`; True when training should stop."""
        self.history.append(metric)
        if metric > self.best + self.min_delta:
            self.best, self.best_epoch, self._bad = metric, epoch, 0
            self._best_state = copy.deepcopy(module.state_dict())
        else:
            self._bad += 1
        return self._bad >= self.patience

    def restore(self, module: nn.Module) -> None:
        """Load the best weights back (no-op when no metric was recorded)."""
        if self._best_state is not None:
            module.load_state_dict(self._best_state)


def epoch_note(metric: float, k: int, stopping: EarlyStopping, stop: bool) -> str:
    """The validation part of an epoch's progress line, e.g.
    `validation ndcg@10 0.1234 (best 0.1300), no better for 3 epochs: stopping`."""
    note = f"validation ndcg@{k} {metric:.4f} (best {stopping.best:.4f})"
    return note + (f", no better for {stopping.patience} epochs: stopping" if stop else "")
