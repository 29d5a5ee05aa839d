"""Incremental loads: ingest the files that land in a folder (a shop's nightly export), exactly once each.

`shoprec ingest --watch DIR` polls DIR (not its subfolders) for files matching a pattern (default:
every file with a data extension, plain, .gz or .zip; names starting with '.' or '~' and ending in
.tmp/.part are never taken).

A file is taken once it is complete, which is when its size and modification time are the same on
two polls in a row (`--interval` apart): a file still being copied or written is not read half.
An exporter that writes slowly, with pauses longer than the interval, should write under a
temporary name (`.part`, `.tmp`, or a leading '.') and rename when done; a rename is atomic.

Each file gets its own ingest (its own summary and quarantine). Which files were ingested is kept
in a ledger, `<workspace>/store/watch/ledger.json`, keyed by the file's path, size, modification time and
a hash of its first and last MiB, written (atomically) after the ingest commits; so a restart
ingests nothing twice, and a file rewritten in place (new size, time or content) is ingested again.
A crash between the commit and the ledger write makes the next run ingest that file again, which
is harmless: every event of it is an exact repeat of a stored one and is merged as a duplicate,
and catalogue and user rows replace themselves. A file whose ingest fails on the file as a whole
(a missing column, say) is recorded with its error and not retried until it changes. The ledger is
updated under a lock, so two watchers of one workspace never ingest the same file twice.
"""

from __future__ import annotations

import fcntl
import fnmatch
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from shoprec.atomic import write_atomic
from shoprec.data.ingest import IngestSummary, Source, ingest
from shoprec.data.store import Store
from shoprec.errors import DataError, ShoprecError

LEDGER = Path("watch") / "ledger.json"  # under the store: a store deleted to start again forgets it too
DATA_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".jsonl", ".ndjson", ".json", ".parquet", ".pq")
SAMPLE_BYTES = 1 << 20  # the fingerprint hashes this much at each end of a file


@dataclass(frozen=True)
class Fingerprint:
    """What identifies one version of a file: its path, size, modification time and a content sample hash."""

    path: str
    size: int
    mtime_ns: int
    sample: str

    @property
    def key(self) -> str:
        return f"{self.path}|{self.size}|{self.mtime_ns}|{self.sample}"

    @classmethod
    def of(cls, path: Path) -> Fingerprint:
        stat = path.stat()
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            digest.update(handle.read(SAMPLE_BYTES))
            if stat.st_size > SAMPLE_BYTES:
                handle.seek(max(SAMPLE_BYTES, stat.st_size - SAMPLE_BYTES))
                digest.update(handle.read(SAMPLE_BYTES))
        return cls(str(path.resolve()), stat.st_size, stat.st_mtime_ns, digest.hexdigest()[:32])


@dataclass
class Taken:
    """One file the watcher took: its ingest's summary, or the error that stopped it."""

    path: Path
    summary: IngestSummary | None = None
    error: str | None = None


def is_data_file(name: str, pattern: str | None = None) -> bool:
    """Whether a file named `name` is one to take: it matches `pattern`, or by default has a data extension."""
    if name.startswith((".", "~")) or name.endswith((".tmp", ".part", ".partial", ".crdownload")):
        return False
    if pattern is not None:
        return fnmatch.fnmatch(name, pattern)
    lower = name.lower().removesuffix(".gz").removesuffix(".zip")
    return name.lower().endswith(".zip") or lower.endswith(DATA_SUFFIXES)


class Ledger:
    """The files ingested into one workspace: `<workspace>/store/watch/ledger.json`, {fingerprint key: record}.

    In a folder of its own: the store's root holds only what the store's writer lock guards."""

    def __init__(self, store: Store) -> None:
        self.path = store.root / LEDGER
        self._lock_path = self.path.parent / ".lock"

    def read(self) -> dict[str, dict[str, object]]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except json.JSONDecodeError as exc:
            raise DataError(f"the watch ledger is unreadable ({exc}); move it away to ingest every file again", file=str(self.path)) from exc
        return dict(raw.get("files", {}))

    @contextmanager
    def locked(self) -> Iterator[dict[str, dict[str, object]]]:
        """Hold the ledger's lock; yields its records, written back (atomically) when the block ends well."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock_path.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                records = self.read()
                before = json.dumps(records, sort_keys=True)
                yield records
                if json.dumps(records, sort_keys=True) != before:
                    write_atomic(self.path, json.dumps({"format": 1, "files": records}, indent=1, sort_keys=True))
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


class FolderWatch:
    """Polls a folder and ingests each complete new file once (see the module's docstring).

    `sources_for(path)` makes the sources of one file (the same as `shoprec ingest PATH` would).
    Call `poll()` every interval; `run_once` is two polls an interval apart.
    """

    def __init__(self, store: Store, folder: Path, sources_for: Callable[[Path], list[Source]], *,
                 pattern: str | None = None, strict: bool = False) -> None:
        self.store, self.folder, self.sources_for = store, Path(folder), sources_for
        self.pattern, self.strict = pattern, strict
        self.ledger = Ledger(store)
        self._seen: dict[Path, tuple[int, int]] = {}  # size and mtime at the previous poll
        self._failed: set[tuple[Path, int, int]] = set()  # passing errors (a file unreadable now), told once
        self._keys: dict[Path, tuple[tuple[int, int], str]] = {}  # fingerprint key per (size, mtime)
        self.busy: Path | None = None  # the file being ingested now, if any

    def stable_files(self) -> list[Path]:
        """The folder's files unchanged since the previous poll (in name order); remembers this poll."""
        if not self.folder.is_dir():
            raise DataError("no such folder to watch", file=str(self.folder))
        now: dict[Path, tuple[int, int]] = {}
        for entry in os.scandir(self.folder):
            if entry.is_file() and is_data_file(entry.name, self.pattern):
                stat = entry.stat()
                now[Path(entry.path)] = (stat.st_size, stat.st_mtime_ns)
        stable = sorted(path for path, state in now.items() if self._seen.get(path) == state)
        self._seen = now
        self._keys = {path: key for path, key in self._keys.items() if path in now}
        return stable

    def poll(self) -> Iterator[Taken]:
        """Ingest each stable file not yet in the ledger; yields what became of each, as it is done."""
        done = self.ledger.read()
        for path in self.stable_files():
            state = self._seen[path]
            if (path, *state) in self._failed:
                continue
            key = self._keys.get(path)
            if key is None or key[0] != state:  # hashed once per version of a file, not on every poll
                try:
                    key = (state, Fingerprint.of(path).key)
                except OSError:
                    continue  # gone since the scan: it is looked at again if it comes back
                self._keys[path] = key
            if key[1] in done:
                continue
            taken = self.take(path)
            if taken is not None:
                yield taken

    def take(self, path: Path) -> Taken | None:
        """Ingest one file unless the ledger has it (checked again under the ledger's lock)."""
        with self.ledger.locked() as records:
            try:
                fingerprint = Fingerprint.of(path)
            except OSError:
                return None
            if fingerprint.key in records:
                return None  # another watcher of this workspace took it meanwhile
            record: dict[str, object] = {"path": fingerprint.path, "size": fingerprint.size,
                                         "mtime_ns": fingerprint.mtime_ns, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            self.busy = path
            try:
                summary = ingest(self.store, self.sources_for(path), strict=self.strict)
            except ShoprecError as exc:
                records[fingerprint.key] = {**record, "error": str(exc)}
                return Taken(path, error=str(exc))
            except OSError as exc:  # unreadable now (permissions, gone): told once, tried again after a restart
                self._failed.add((path, fingerprint.size, fingerprint.mtime_ns))
                return Taken(path, error=str(exc))
            finally:
                self.busy = None
            records[fingerprint.key] = {**record, "accepted": summary.accepted, "duplicates": summary.duplicates,
                                        "rejected": summary.rejected_total, "committed": summary.committed,
                                        "quarantine": summary.quarantine}
            return Taken(path, summary=summary)

    def run(self, interval: float, *, once: bool = False, sleep: Callable[[float], None] = time.sleep) -> Iterator[Taken]:
        """Poll every `interval` seconds, yielding each file taken; with `once`, two polls then stop."""
        self.stable_files()  # the first look: a file is taken once it is the same on the next
        while True:
            sleep(interval)
            yield from self.poll()
            if once:
                return
