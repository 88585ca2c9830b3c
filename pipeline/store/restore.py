"""`cityqda restore BACKUP`: put a store written by `cityqda backup` back in place.

The backup is copied beside the store and every check runs on that copy (SQLite's integrity
check, a schema version this cityqda can open, upgraded if older, the same study); only then,
holding the study's lock exclusively (no other cityqda command running), the current store is
backed up to backups/, folded together with its write-ahead log, and replaced by the copy in
one rename, with no -wal or -shm file left beside it. A refusal changes nothing.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipeline.errors import CityQDAError
from pipeline.store import STUDY_KEY, dialect
from pipeline.store import lock as study_lock
from pipeline.store.migrations import CURRENT_VERSION, MIGRATIONS

SQLITE_HEADER = b"SQLite format 3\x00"
_SIDE_FILES = ("-wal", "-shm", "-journal")


def is_sqlite_file(path: Path) -> bool:
    """Told by content, not by name: an SQLite file starts with its 16-byte header."""
    try:
        with open(path, "rb") as handle:
            return handle.read(16) == SQLITE_HEADER
    except OSError:
        return False


@dataclass
class BackupRestored:
    backup: Path
    previous: Path | None  # where the replaced store was saved (None: there was none)
    upgraded_from: int | None
    interviews: int
    codings: int
    decisions: int
    last_event: str | None

    def lines(self) -> list[str]:
        lines = []
        if self.previous is not None:
            lines.append(f"restore: the store it replaced was saved as {self.previous}")
        if self.upgraded_from is not None:
            lines.append(f"restore: the backup was upgraded from store schema version "
                         f"{self.upgraded_from} to {CURRENT_VERSION}")
        lines.append(f"restore: put back {self.backup}: {self.interviews} interview(s), "
                     f"{self.codings} coding(s), {self.decisions} review decision(s); "
                     f"last recorded event {self.last_event or 'none'}")
        return lines


def _unique_backup_target(study_root: Path, suffix: str = "") -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = study_root / "backups"
    target = folder / f"cityqda-{stamp}-before-restore{suffix}.sqlite"
    counter = 1
    while target.exists():
        counter += 1
        target = folder / f"cityqda-{stamp}-before-restore-{counter}{suffix}.sqlite"
    return target


def _scalar(conn: sqlite3.Connection, sql: str, *args):
    row = conn.execute(sql, args).fetchone()
    return None if row is None else row[0]


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return _scalar(conn, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                   name) is not None


def _prepare_copy(study, backup: Path, copy: Path, *, force: bool) -> int | None:
    """Copy, check and (if older) upgrade the backup at `copy`; return the version it was
    upgraded from, or None."""
    reason = dialect.check_is_store(backup)
    if reason is not None:
        code = "CQ017" if "malformed" in reason else "CQ014"
        raise CityQDAError(code, path=str(backup), problem=reason)
    try:
        dialect.backup_file(backup, copy)
    except OSError as exc:
        if os.access(copy.parent, os.W_OK):  # the folder is fine: the backup is not
            raise CityQDAError("CQ017", path=str(backup), problem=str(exc)) from exc
        raise CityQDAError("CQ015", path=str(copy), problem=str(exc)) from exc
    conn = sqlite3.connect(str(copy), isolation_level=None)
    try:
        try:
            result = [row[0] for row in conn.execute("PRAGMA integrity_check(20)")]
        except sqlite3.DatabaseError as exc:
            result = [str(exc)]
        if result != ["ok"]:
            raise CityQDAError("CQ017", path=str(backup), problem="; ".join(result))
        found = int(_scalar(conn, "SELECT value FROM store_meta WHERE key='schema_version'")
                    or 0)
        if found > CURRENT_VERSION:
            raise CityQDAError("CQ010", path=str(backup), found=found,
                               supported=CURRENT_VERSION)
        if found < 1:
            raise CityQDAError("CQ014", path=str(backup), problem="it has no schema version")
        _check_same_study(study, backup, conn, force=force)
    finally:
        conn.close()
    if found == CURRENT_VERSION:
        return None
    from pipeline.store import Store, _set_schema_version

    store = Store(copy, dialect.sqlite_engine(copy))
    try:
        with store.write() as sa_conn:
            for migration in MIGRATIONS[found:]:
                migration.upgrade(sa_conn)
                _set_schema_version(sa_conn, migration.VERSION)
    finally:
        store.close()
    return found


def _check_same_study(study, backup: Path, conn: sqlite3.Connection, *, force: bool) -> None:
    """The backup names this study, or (an older backup that names none) shares at least one
    transcript with the current store, or there is nothing to compare it with."""
    if force:
        return
    named = _scalar(conn, "SELECT value FROM store_meta WHERE key=?", STUDY_KEY)
    if named is not None:
        if named != study.name:
            raise CityQDAError("CQ018", path=str(backup), found=named, expected=study.name)
        return
    current = study.store_path
    if not current.is_file() or dialect.check_is_store(current) is not None:
        return
    theirs = {row[0] for row in conn.execute("SELECT file FROM interviews")}
    if not theirs:
        return
    live = sqlite3.connect(f"file:{current}?mode=ro", uri=True)
    try:
        ours = {row[0] for row in live.execute("SELECT file FROM interviews")}
    except sqlite3.DatabaseError:
        return
    finally:
        live.close()
    if ours and not ours & theirs:
        raise CityQDAError("CQ018", path=str(backup), expected=study.name,
                           found="another study (it shares no transcript with this one)")


def _save_current(study, current: Path) -> Path | None:
    """Back up the store about to be replaced; a damaged one is copied file by file."""
    if not current.exists() or current.stat().st_size == 0:
        return None
    target = _unique_backup_target(study.root)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if dialect.check_is_store(current) is None:
            tmp = target.with_name(target.name + ".partial")
            try:
                dialect.backup_file(current, tmp)
                tmp.replace(target)
                return target
            except OSError:
                if tmp.exists():
                    tmp.unlink()
        # Damaged or unreadable: keep its bytes and its log as they are.
        target = _unique_backup_target(study.root, "-damaged")
        shutil.copyfile(current, target)
        for side in ("-wal",):
            found = current.with_name(current.name + side)
            if found.exists():
                shutil.copyfile(found, target.with_name(target.name + side))
        return target
    except OSError as exc:
        raise CityQDAError("CQ015", path=str(target), problem=str(exc)) from exc


def _fold_log(current: Path) -> None:
    """Fold the live store's write-ahead log into it, so that removing -wal loses nothing
    even if the rename that follows never happens."""
    if not current.exists():
        return
    try:
        conn = sqlite3.connect(str(current), isolation_level=None)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        pass  # damaged: its bytes are saved already


def _summary(path: Path) -> tuple[int, int, int, str | None]:
    conn = sqlite3.connect(str(path))
    try:
        return (
            _scalar(conn, "SELECT count(*) FROM interviews WHERE status='active'"),
            _scalar(conn, "SELECT count(*) FROM codings WHERE merged_into IS NULL"),
            _scalar(conn, "SELECT count(*) FROM decisions"),
            _scalar(conn, "SELECT max(time) FROM events"),
        )
    finally:
        conn.close()


def _record(copy: Path, backup: Path, previous: Path | None) -> None:
    """In the restored store: an audit event naming both files, and no aggregate-cache token
    (the cache was filled from the replaced store; pipeline.aggregate.cache)."""
    import json

    from pipeline.aggregate.cache import STORE_TOKEN
    from pipeline.store import utc_now

    conn = sqlite3.connect(str(copy), isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DELETE FROM store_meta WHERE key=?", (STORE_TOKEN,))
        conn.execute(
            "INSERT INTO events (time, actor, kind, entity, entity_key, source, new) "
            "VALUES (?, 'cityqda', 'store.restored', 'store', ?, ?, ?)",
            (utc_now(), backup.name, str(backup), json.dumps(
                {"backup": str(backup), "replaced_store_saved_as":
                 None if previous is None else str(previous)}, sort_keys=True)))
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode=WAL")  # as every store is kept
    finally:
        conn.close()


def restore_backup(study, backup: Path, *, force: bool = False) -> BackupRestored:
    backup = Path(backup)
    current = study.store_path
    if not backup.is_file():
        raise CityQDAError("CQ006", path=str(backup))
    if backup.resolve() == current.resolve():
        raise CityQDAError("CQ014", path=str(backup),
                           problem="it is the study's own store, not a backup of it")
    try:
        held = study_lock.exclusive(current)
    except study_lock.LockHeld as exc:
        raise CityQDAError("CQ016", path=str(current)) from exc
    copy = current.with_name(f".{current.name}.restoring")
    try:
        try:
            _discard(copy)
            upgraded_from = _prepare_copy(study, backup, copy, force=force)
            previous = _save_current(study, current)
            interviews, codings, decisions, last = _summary(copy)
            _record(copy, backup, previous)
            with open(copy, "rb") as handle:
                os.fsync(handle.fileno())
        except OSError as exc:
            raise CityQDAError("CQ015", path=str(copy), problem=str(exc)) from exc
        try:
            _replace(current, copy)
        except OSError as exc:  # e.g. Windows: another program has the store open
            saved = (f"a copy of it was saved as {previous}" if previous is not None
                     else "there was no store to save")
            raise CityQDAError("CQ019", path=str(current), problem=str(exc),
                               saved=saved) from exc
    finally:
        _discard(copy)
        held.release()
    return BackupRestored(backup, previous, upgraded_from, interviews, codings, decisions,
                          last)


def _replace(current: Path, copy: Path) -> None:
    """Put the checked copy in place of the store: its write-ahead log folded in first (so
    the store stays whole if the rename fails), no -wal, -shm or -journal left beside it."""
    _fold_log(current)
    for side in _SIDE_FILES:
        found = current.with_name(current.name + side)
        if found.exists():
            found.unlink()
    os.replace(copy, current)


def _discard(copy: Path) -> None:
    for path in (copy, *(copy.with_name(copy.name + side) for side in _SIDE_FILES)):
        if path.exists():
            path.unlink()
