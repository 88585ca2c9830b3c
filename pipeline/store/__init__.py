"""The project store: one SQLite file beside `cityqda.toml`, opened through SQLAlchemy Core.

Every stage writes inside `Store.write()`, one transaction per unit of work, so a crash or
a refused input leaves the store as it was. Opening a store migrates it forward (after a
backup copy) or refuses one written by a newer cityqda.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import inspect, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from pipeline.errors import CityQDAError, warn
from pipeline.store import dialect
from pipeline.store.location import sync_or_network_kind
from pipeline.store.migrations import CURRENT_VERSION, MIGRATIONS
from pipeline.store.schema import events, store_meta


def utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class Store:
    def __init__(self, path: Path, engine: Engine):
        self.path = path
        self.engine = engine
        self.lock = None  # the study's shared lock (pipeline.store.lock), set by open_study_store
        self.pending_meta: dict[str, str] = {}  # store_meta values the first write sets

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction (BEGIN IMMEDIATE): all of it commits, or none of it."""
        try:
            with self.engine.connect() as conn:
                conn = conn.execution_options(write=True)
                pending = self.pending_meta
                with conn.begin():
                    for key, value in pending.items():
                        _set_meta(conn, key, value)
                    yield conn
                if pending is self.pending_meta:
                    self.pending_meta = {}
        except OperationalError as exc:
            if dialect.is_busy_error(exc):
                raise CityQDAError("CQ012", path=str(self.path), problem=str(exc.orig)) from exc
            raise

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A consistent read snapshot."""
        with self.engine.connect() as conn:
            with conn.begin():
                yield conn

    def schema_version(self) -> int:
        with self.read() as conn:
            return _schema_version(conn)

    def close(self) -> None:
        self.engine.dispose()
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def in_forked_worker(self) -> None:
        """First thing in a forked worker: leave the parent's pooled connections alone (the
        worker opens its own), and leave Ctrl-C to the parent, which stops its pool (an
        interrupted worker would print its own traceback)."""
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.engine.dispose(close=False)


def record_event(conn: Connection, *, actor: str, kind: str, entity: str, entity_key: str,
                 old=None, new=None, source: str | None = None, reason: str | None = None,
                 run_id: int | None = None) -> None:
    """Append to the audit log; events are never updated or deleted."""
    conn.execute(events.insert().values(
        time=utc_now(), actor=actor, kind=kind, entity=entity, entity_key=str(entity_key),
        source=source, reason=reason, run_id=run_id,
        old=None if old is None else json.dumps(old, ensure_ascii=False, sort_keys=True),
        new=None if new is None else json.dumps(new, ensure_ascii=False, sort_keys=True),
    ))


def _schema_version(conn: Connection) -> int:
    if not inspect(conn).has_table("store_meta"):
        return 0
    value = conn.execute(
        select(store_meta.c.value).where(store_meta.c.key == "schema_version")
    ).scalar()
    return int(value) if value is not None else 0


def _set_schema_version(conn: Connection, version: int) -> None:
    conn.execute(store_meta.delete().where(store_meta.c.key == "schema_version"))
    conn.execute(store_meta.insert().values(key="schema_version", value=str(version)))


def migrate(store: Store) -> int:
    """Bring the store to CURRENT_VERSION; return the version it had before."""
    with store.read() as conn:
        found = _schema_version(conn)
    if found > CURRENT_VERSION:
        raise CityQDAError("CQ010", path=str(store.path), found=found,
                           supported=CURRENT_VERSION)
    if found == CURRENT_VERSION:
        return found
    backup = None
    if found > 0:
        backup = store.path.with_name(f"{store.path.name}.v{found}.bak")
        counter = 1
        while backup.exists():
            counter += 1
            backup = store.path.with_name(f"{store.path.name}.v{found}.{counter}.bak")
        dialect.backup_file(store.path, backup)
    with store.write() as conn:
        # Re-read inside the write lock: another process may have migrated meanwhile.
        current = _schema_version(conn)
        for migration in MIGRATIONS[current:]:
            migration.upgrade(conn)
            _set_schema_version(conn, migration.VERSION)
    if backup is not None:
        warn("CQ051", path=str(store.path), old=found, new=CURRENT_VERSION, backup=str(backup))
    return found


def open_store(path: str | Path, *, warn_location: bool = True) -> Store:
    """Open (creating if absent) and migrate the store at `path`.

    Callers reach a store through a loaded study, so a store is never created outside a
    study folder.
    """
    path = Path(path)
    if path.exists() and path.stat().st_size > 0:
        reason = dialect.check_is_store(path)
        if reason is not None:
            raise CityQDAError("CQ011", path=str(path), problem=reason)
    if warn_location and not os.environ.get("CITYQDA_NO_LOCATION_WARNING"):
        kind = sync_or_network_kind(path)
        if kind:
            warn("CQ050", path=str(path), kind=kind)
    store = Store(path, dialect.sqlite_engine(path))
    try:
        migrate(store)
    except OperationalError as exc:
        store.close()
        raise CityQDAError("CQ011", path=str(path), problem=str(exc.orig)) from exc
    except OSError as exc:  # the copy taken before an upgrade could not be written
        store.close()
        raise CityQDAError("CQ011", path=str(path), problem=str(exc)) from exc
    except BaseException:
        store.close()
        raise
    return store


STUDY_KEY = "study"  # store_meta: the name of the study the store belongs to


def open_study_store(study) -> Store:
    """The study's store, holding the study's shared lock until `close()` (so `restore` never
    replaces it under a running command), and recording the study's name in the store the
    first time it writes (so a backup of another study's store can be told apart)."""
    from pipeline.store import lock as study_lock

    try:
        held = study_lock.shared(study.store_path)
    except study_lock.LockHeld as exc:
        raise CityQDAError("CQ012", path=str(study.store_path),
                           problem="`cityqda restore` is replacing it") from exc
    try:
        store = open_store(study.store_path)
    except BaseException:
        held.release()
        raise
    store.lock = held
    # a command that only reads writes nothing; the first write records the name as the
    # study now has it (a study renamed in cityqda.toml keeps restoring its own backups)
    store.pending_meta = {STUDY_KEY: study.name}
    return store


def _set_meta(conn: Connection, key: str, value: str) -> None:
    """store_meta[key] = value, written only when it differs."""
    found = conn.execute(select(store_meta.c.value).where(store_meta.c.key == key)).first()
    if found is None:
        conn.execute(store_meta.insert().values(key=key, value=value))
    elif found.value != value:
        conn.execute(store_meta.update().where(store_meta.c.key == key).values(value=value))


def default_backup_target(study_root: Path) -> Path:
    """backups/cityqda-<UTC time>.sqlite in the study folder (git-ignored by `init`)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return study_root / "backups" / f"cityqda-{stamp}.sqlite"


def backup_store(store_path: Path, target: Path) -> Path:
    """Consistent copy of a live store (SQLite backup API); refuses to overwrite."""
    if target.exists():
        raise CityQDAError("CQ013", path=str(target))
    if not store_path.exists():
        raise CityQDAError("CQ006", path=str(store_path))
    reason = dialect.check_is_store(store_path)
    if reason is not None:
        raise CityQDAError("CQ011", path=str(store_path), problem=reason)
    tmp = target.with_name(target.name + ".partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        dialect.backup_file(store_path, tmp)
        tmp.replace(target)
    except OSError as exc:
        raise CityQDAError("CQ015", path=str(target), problem=str(exc)) from exc
    finally:
        if tmp.exists():
            tmp.unlink()
    return target
