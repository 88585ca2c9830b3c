"""Each interview's rendered dataset rows, kept between runs (`<study>/.cityqda-cache/`).

A rerun after one changed interview used to rebuild both coded datasets whole (71,369 rows
at N = 1,000, 12 s). An interview's rows depend only on its own store rows, its metadata,
the codebook and, for the long dataset, the names of the entities its mentions point to,
so its rendered chunk (pipeline.aggregate.writing.Chunk) is kept under a key made of:

* per interview, read for all interviews in a few grouped queries: the count and largest
  id of its segments, codings, decisions and entity mentions (ids only grow, so any insert
  or delete moves them) and its `interview_changes` counter (rows changed in place, kept
  by triggers: store migration m0005); its metadata values as aggregate has them;
* for the whole dataset: its columns (the wide one has a column per code), the selection,
  the codebook's labels, the package's aggregate and writing code, pyarrow's version;
* for a long chunk, besides the key, the names its entity mentions resolved to: checked
  against the current names (a merge or rejection elsewhere changes them).

A chunk is used only when its key matches and its bytes pass their CRC-32; anything else
(missing, stale, corrupt, unreadable cache) renders the interview again, so the cache can
only cost time, never change an output. The keys hold only while ids grow, that is while
the store is the one the cache was filled from, carried forward: a store restored from a
backup, or another study's store copied in, can reach the same counts and ids again with
other rows. So every time the cache's content changes, a new random token is written into
the store (`store_meta`, before the cache commits) and kept with the cache; a store whose
token differs (older, foreign, or none) drops every chunk. The store's change counters
(m0003) are checked too: one that went back drops every chunk. A clean run renders every
chunk the same way, so clean and incremental runs give the same bytes.

The cache also keeps the XLSX packages openpyxl saved for the datasets (their heads and
column widths, no rows; `shells`, checked by CRC-32): a rerun whose datasets changed only
in their rows writes them without importing openpyxl.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sqlite3
import zlib
from functools import lru_cache
from pathlib import Path

from pipeline.aggregate.writing import Chunk

CACHE_NAME = "aggregate-datasets.sqlite"
FORMAT = 4
STORE_TOKEN = "aggregate_cache_token"  # store_meta key: see the module doc
_BLOBS = ("arrow", "flags", "widths")  # besides the text blobs (csv, xml)
_SHELLS_KEPT = 8  # XLSX packages (`ChunkCache.shell`): both datasets, a few selections
_PART = "rows, xml_size, xml_crc, digest, kinds, arrow, flags, widths, check_crc"


@lru_cache(maxsize=1)
def code_version() -> str:
    """The code that renders chunks, as one hash (edits invalidate every chunk): this
    package's modules and the rule that derives a coding's status."""
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256(str(FORMAT).encode("ascii"))
    for path in (*(here / name for name in ("cache.py", "datasets.py", "writing.py",
                                            "tables.py")),
                 here.parent / "coding" / "decisions.py"):
        digest.update(path.name.encode("utf-8") + b"\0" + path.read_bytes())
    try:
        import pyarrow

        digest.update(pyarrow.__version__.encode("utf-8"))
    except ImportError:
        pass
    return digest.hexdigest()


# The store tables a dataset chunk is made of, in the order of their parts in its key.
DATASET_SOURCES = ("segments", "codings", "decisions", "initiative_mentions",
                   "actor_mentions", "interview_changes")


def key_of(*parts) -> str:
    text = json.dumps(parts, ensure_ascii=False, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def interview_states(cursor) -> dict[int, list]:
    """Interview id -> what its dataset rows are made of in the store (see the module doc
    and pipeline.store.interview_states)."""
    from pipeline.store.interview_states import interview_states as states

    return states(cursor, DATASET_SOURCES)


class ChunkCache:
    """Chunks by (dataset, interview id) in one SQLite file; written in one transaction
    at `commit`. Any fault in the file makes it an empty cache (it is rebuilt)."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / CACHE_NAME
        self.conn: sqlite3.Connection | None = None
        self.changed = False  # chunks put or dropped since the last commit
        self._versions: dict[str, int] | None = None
        self._parts: dict[str, dict[int, tuple]] = {}  # read ahead by `get`
        try:
            self._open()
        except (sqlite3.Error, OSError):
            self._reset()

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = DELETE")
        if self.conn.execute("PRAGMA user_version").fetchone()[0] != FORMAT:
            for table in ("chunks", "meta", "files", "shells"):
                self.conn.execute(f"DROP TABLE IF EXISTS {table}")
            self.conn.execute(f"PRAGMA user_version = {FORMAT}")
        # the text blobs last: a row read without them never touches their pages
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS chunks (dataset TEXT NOT NULL, "
            "interview_id INTEGER NOT NULL, key TEXT NOT NULL, extra TEXT NOT NULL, "
            "rows INTEGER NOT NULL, xml_size INTEGER NOT NULL, xml_crc INTEGER NOT NULL, "
            "digest TEXT NOT NULL, kinds TEXT NOT NULL, arrow BLOB NOT NULL, "
            "flags BLOB NOT NULL, widths BLOB NOT NULL, check_crc INTEGER NOT NULL, "
            "text_crc INTEGER NOT NULL, csv BLOB NOT NULL, xml BLOB NOT NULL, "
            "PRIMARY KEY (dataset, interview_id))")
        self.conn.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, "
                          "value TEXT NOT NULL)")
        self.conn.execute("CREATE TABLE IF NOT EXISTS files (name TEXT PRIMARY KEY, "
                          "path TEXT NOT NULL, stat TEXT NOT NULL, entries TEXT NOT NULL)")
        self.conn.execute("CREATE TABLE IF NOT EXISTS shells (key TEXT PRIMARY KEY, "
                          "used INTEGER NOT NULL, crc INTEGER NOT NULL, data BLOB NOT NULL)")
        self.conn.execute("BEGIN")

    def follow_store(self, versions: dict[str, int], token: str | None) -> None:
        """Forget every chunk unless the store is the one the cache was last committed
        with (same `token`, see the module doc) and none of its change counters went
        back. The counters seen are kept at `commit`."""
        self._versions = dict(versions)
        if self.conn is None:
            return
        try:
            meta = dict(self.conn.execute("SELECT name, value FROM meta"))
            seen = json.loads(meta.get("store", "{}"))
            went_back = any(versions.get(table, -1) < count for table, count in seen.items())
            if went_back or token is None or meta.get("token") != token:
                self.conn.execute("DELETE FROM files")
                self._parts.clear()
                self.changed = self.conn.execute("DELETE FROM chunks").rowcount > 0 \
                    or self.changed
        except (sqlite3.Error, ValueError, TypeError, AttributeError):
            self._reset()

    def _reset(self) -> None:
        self.close()
        self._parts.clear()
        try:
            for suffix in ("", "-journal"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            self._open()
        except (sqlite3.Error, OSError):
            self.conn = None  # no cache this time: everything is rendered

    def keys(self, dataset: str) -> dict[int, tuple[str, str]]:
        """Interview id -> (key, extra) of the cached chunks of `dataset`."""
        if self.conn is None:
            return {}
        try:
            return {row[0]: (row[1], row[2]) for row in self.conn.execute(
                "SELECT interview_id, key, extra FROM chunks WHERE dataset = ?", (dataset,))}
        except sqlite3.Error:
            self._reset()
            return {}

    def get(self, dataset: str, interview_id: int, key: str) -> Chunk | None:
        """The chunk cached under `key`, its `csv` and `xml` left empty (the caller takes
        them from the previous files, `previous_file`, or from `text`). The first call
        reads every chunk of `dataset` in one query (one query per chunk cost a third of
        a rerun's cache reads at N = 1,000); each is handed out once."""
        if self.conn is None:
            return None
        if dataset not in self._parts:
            try:
                self._parts[dataset] = {row[0]: row[1:] for row in self.conn.execute(
                    f"SELECT interview_id, key, {_PART} FROM chunks WHERE dataset = ?",
                    (dataset,))}
            except sqlite3.Error:
                self._reset()
                return None
        row = self._parts[dataset].pop(interview_id, None)
        if row is None or row[0] != key:
            return None
        chunk = Chunk(rows=row[1], xml_size=row[2], xml_crc=row[3], digest=row[4],
                      kinds=row[5], arrow=row[6], flags=row[7], widths=row[8],
                      csv=b"", xml=b"")
        return chunk if _check_crc(chunk) == row[9] else None

    def text(self, dataset: str, interview_id: int, key: str) -> tuple[bytes, bytes] | None:
        """The `csv` and `xml` of a cached chunk (when the previous files lack them)."""
        if self.conn is None:
            return None
        try:
            row = self.conn.execute(
                "SELECT text_crc, csv, xml FROM chunks WHERE dataset = ? AND "
                "interview_id = ? AND key = ?", (dataset, interview_id, key)).fetchone()
        except sqlite3.Error:
            self._reset()
            return None
        if row is None or zlib.crc32(row[2], zlib.crc32(row[1])) != row[0]:
            return None
        return row[1], row[2]

    def put(self, dataset: str, interview_id: int, key: str, chunk: Chunk,
            extra: str = "") -> None:
        self._parts.get(dataset, {}).pop(interview_id, None)
        if self.conn is None:
            return
        try:
            self.conn.execute(
                "INSERT OR REPLACE INTO chunks (dataset, interview_id, key, extra, rows, "
                "xml_size, xml_crc, digest, kinds, arrow, flags, widths, check_crc, "
                "text_crc, csv, xml) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (dataset, interview_id, key, extra, chunk.rows, chunk.xml_size,
                 chunk.xml_crc, chunk.digest, chunk.kinds, chunk.arrow, chunk.flags,
                 chunk.widths, _check_crc(chunk), _text_crc(chunk), chunk.csv, chunk.xml))
            self.changed = True
        except sqlite3.Error:
            self._reset()

    def previous_file(self, name: str) -> tuple[object, dict] | None:
        """The file the last run wrote as `name` (a dataset's kind), opened, with where
        each interview's chunk sits in it (interview id -> [digest, offset, length]);
        None unless that file is still the one written then (same size, modification and
        change times, inode)."""
        if self.conn is None:
            return None
        try:
            row = self.conn.execute("SELECT path, stat, entries FROM files WHERE name = ?",
                                    (name,)).fetchone()
        except sqlite3.Error:
            self._reset()
            return None
        if row is None:
            return None
        try:
            handle = open(row[0], "rb")  # noqa: SIM115 - the writer closes it
        except OSError:
            return None
        if _stat_of(os.fstat(handle.fileno())) != row[1]:
            handle.close()
            return None
        try:
            return handle, {int(i): entry for i, entry in json.loads(row[2]).items()}
        except (ValueError, TypeError, AttributeError):
            handle.close()
            return None

    def record_file(self, name: str, path: Path, entries: dict[int, list]) -> None:
        """Where each interview's chunk sits in the file just written (see
        `previous_file`)."""
        if self.conn is None:
            return
        try:
            self.conn.execute("INSERT OR REPLACE INTO files (name, path, stat, entries) "
                              "VALUES (?, ?, ?, ?)",
                              (name, str(path), _stat_of(os.stat(path)),
                               json.dumps(entries, separators=(",", ":"))))
        except (sqlite3.Error, OSError):
            self._reset()

    def remembered(self, name: str) -> str | None:
        """A value kept under `name` (`remember`), None when there is none."""
        if self.conn is None:
            return None
        try:
            row = self.conn.execute("SELECT value FROM meta WHERE name = ?",
                                    (f"remember:{name}",)).fetchone()
        except sqlite3.Error:
            self._reset()
            return None
        return None if row is None else row[0]

    def remember(self, name: str, value: str) -> None:
        """Keep a value derived from study files, not from the store (the codebook's
        labels): it is kept whatever the store's token."""
        if self.conn is None:
            return
        try:
            self.conn.execute("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)",
                              (f"remember:{name}", value))
        except sqlite3.Error:
            self._reset()

    def shell(self, key: str) -> bytes | None:
        """The XLSX package openpyxl saved for `key` (pipeline.aggregate.writing.
        write_xlsx: it depends on the package's code and the heads, not on the store)."""
        if self.conn is None:
            return None
        try:
            row = self.conn.execute("SELECT crc, data FROM shells WHERE key = ?",
                                    (key,)).fetchone()
            if row is None or zlib.crc32(row[1]) != row[0]:
                return None
            self.conn.execute("UPDATE shells SET used = (SELECT max(used) + 1 FROM shells) "
                              "WHERE key = ?", (key,))
        except sqlite3.Error:
            self._reset()
            return None
        return row[1]

    def put_shell(self, key: str, data: bytes) -> None:
        """Keep a package `shell` gives back; the few used last are kept (one per
        dataset and selection)."""
        if self.conn is None:
            return
        try:
            self.conn.execute("INSERT OR REPLACE INTO shells (key, used, crc, data) VALUES "
                              "(?, (SELECT coalesce(max(used), 0) + 1 FROM shells), ?, ?)",
                              (key, zlib.crc32(data), data))
            self.conn.execute(f"DELETE FROM shells WHERE key NOT IN (SELECT key FROM shells "
                              f"ORDER BY used DESC LIMIT {_SHELLS_KEPT})")
        except sqlite3.Error:
            self._reset()

    def keep_only(self, dataset: str, interview_ids: set[int]) -> None:
        """Drop the chunks of interviews no longer in the dataset."""
        if self.conn is None:
            return
        try:
            gone = [(dataset, interview_id) for interview_id in self.keys(dataset)
                    if interview_id not in interview_ids]
            self.conn.executemany("DELETE FROM chunks WHERE dataset = ? AND "
                                  "interview_id = ?", gone)
            self.changed = self.changed or bool(gone)
        except sqlite3.Error:
            self._reset()

    def commit(self, store) -> None:
        """Keep what was put: when the chunks changed, a new token goes into `store`
        first, then into the cache with them (a failure between the two leaves tokens
        that differ: the next run starts empty, never wrong). A store that cannot take
        the token (read-only, busy) keeps the cache as it was."""
        if self.conn is None:
            return
        try:
            if self.changed:
                token = secrets.token_hex(16)
                if not _store_token_written(store, token):
                    self.close()
                    return
                self.conn.execute("INSERT OR REPLACE INTO meta (name, value) VALUES "
                                  "('token', ?)", (token,))
            if self._versions is not None:
                self.conn.execute("INSERT OR REPLACE INTO meta (name, value) VALUES "
                                  "('store', ?)", (json.dumps(self._versions),))
            self.conn.execute("COMMIT")
            self.conn.execute("BEGIN")
            self.changed = False
        except sqlite3.Error:
            self._reset()

    def close(self) -> None:
        if self.conn is not None:
            try:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                self.conn.close()
            except sqlite3.Error:
                pass
            self.conn = None


def store_token(cursor) -> str | None:
    """The token the store holds for the aggregate cache (None: never written)."""
    row = cursor.execute("SELECT value FROM store_meta WHERE key = ?",
                         (STORE_TOKEN,)).fetchone()
    return row[0] if row else None


def _store_token_written(store, token: str) -> bool:
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from pipeline.errors import CityQDAError

    try:
        with store.write() as conn:
            conn.execute(text("INSERT OR REPLACE INTO store_meta (key, value) "
                              "VALUES (:key, :value)"), {"key": STORE_TOKEN, "value": token})
        return True
    except (CityQDAError, SQLAlchemyError, sqlite3.Error):
        return False


def _stat_of(found: os.stat_result) -> str:
    return f"{found.st_size}:{found.st_mtime_ns}:{found.st_ctime_ns}:{found.st_ino}"


def _check_crc(chunk: Chunk) -> int:
    crc = zlib.crc32(chunk.kinds.encode("utf-8"))
    for name in _BLOBS:
        crc = zlib.crc32(getattr(chunk, name), crc)
    return zlib.crc32(f"{chunk.rows}:{chunk.xml_size}:{chunk.xml_crc}:{chunk.digest}"
                      .encode("ascii"), crc)


def _text_crc(chunk: Chunk) -> int:
    return zlib.crc32(chunk.xml, zlib.crc32(chunk.csv))
