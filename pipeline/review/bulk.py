"""Many decisions at once, with exactly the effect of `set_decision` called for each.

A returned workbook can hold 100,000 decisions; `pipeline.coding.decisions.set_decision`
runs about seven statements per decision, which makes such an import take minutes. This is
the same write in batches, for the plain case the import has most: accept, reject or
discuss, with no corrected coding to link. The rows and events it writes are the ones
set_decision writes (a test compares both); anything else goes through set_decision itself.

The statements go through the driver's connection (sqlite3), inside the caller's
transaction: plain tuples and `executemany`, because building SQLAlchemy statements and
result rows for 100,000 decisions cost more than writing them. First decisions on codings
not flagged for review, the usual case, are written by SQLite alone, events' JSON included
(`write_new_plain_decisions`), so that an import can write them in a thread while it is
still reading (`EarlyDecisions`).
"""

from __future__ import annotations

import json
from collections import namedtuple

from sqlalchemy.engine import Connection

from pipeline.coding.decisions import DECISIONS, ROLES, _decision_state
from pipeline.store import utc_now

CHUNK = 900  # ids per IN (...), under SQLite's default limit of bound parameters
BATCH = 5000  # decisions per batch: bounds the memory of the events' JSON

# what _decision_state and the unchanged test read of a stored decision
_Stored = namedtuple("_Stored", "id coding_id decision role corrected_code corrected_flags "
                                "linked_coding_id comment")
_VALUES = ("decision", "role", "corrected_code", "corrected_flags", "linked_coding_id",
           "comment")
_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True)  # as record_event writes


def _chunks(values: list, size: int = CHUNK):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _driver(conn: Connection):
    return conn.connection.driver_connection


def _in(sql: str, ids: list) -> str:
    return sql.replace("(?)", f"({', '.join('?' for _ in ids)})")


def identities(conn: Connection, coding_ids: list[int]) -> dict[int, dict]:
    """`coding_identity` for many codings."""
    return {coding_id: dict(zip(_IDENTITY_KEYS, row, strict=True))
            for coding_id, row in _identity_rows(conn, coding_ids)}


# coding_identity's keys, sorted as the events' JSON writes them
_IDENTITY_KEYS = ("code", "coder", "evidence_text", "interview_id", "interview_path",
                  "occurrence", "segment_id", "segment_ord", "segment_sha256")


def _identity_rows(conn: Connection, coding_ids: list[int]):
    """(coding id, the values of `_IDENTITY_KEYS`) for each coding found."""
    raw = _driver(conn)
    sql = ("SELECT c.id, c.code, c.coder, c.evidence_text, c.interview_id, i.path, "
           "c.occurrence, c.segment_id, s.ord, s.sha256 FROM codings c "
           "JOIN segments s ON s.id = c.segment_id "
           "JOIN interviews i ON i.id = c.interview_id WHERE c.id IN (?)")
    for chunk in _chunks(sorted(set(coding_ids))):
        for coding_id, code, coder, *rest in raw.execute(_in(sql, chunk), chunk):
            yield coding_id, (code, coder or None, *rest)


_encode_text = json.encoder.encode_basestring  # what _JSON uses for text (ensure_ascii=False)


def _json_value(value) -> str:
    """`value` as _JSON writes it, for text, None and integers; KeyError otherwise."""
    if type(value) is str:
        return _encode_text(value)
    if value is None:
        return "null"
    if type(value) is int:
        return int.__repr__(value)
    raise KeyError(value)


_IDENTITY_TEMPLATE = "{" + ", ".join(f'"{key}": %s' for key in _IDENTITY_KEYS) + "}"


def _identity_json(values: tuple) -> str:
    """_JSON.encode of a coding identity, written directly: one encoder call per event
    cost a second for 100,000 decisions. Same text (a test compares them)."""
    code, coder, evidence, interview_id, path, occurrence, segment_id, ord_, sha256 = values
    if coder is None:
        coder = "null"
    elif type(coder) is str:
        coder = _encode_text(coder)
    else:
        coder = ""
    if coder and type(code) is type(evidence) is type(path) is type(sha256) is str and \
            type(interview_id) is type(occurrence) is type(segment_id) is type(ord_) is int:
        return _IDENTITY_TEMPLATE % (
            _encode_text(code), coder, _encode_text(evidence), int.__repr__(interview_id),
            _encode_text(path), int.__repr__(occurrence), int.__repr__(segment_id),
            int.__repr__(ord_), _encode_text(sha256))
    try:
        return "{" + ", ".join([f'"{key}": {_json_value(value)}'
                                for key, value in zip(_IDENTITY_KEYS, values,
                                                      strict=True)]) + "}"
    except KeyError:
        return _JSON.encode(dict(zip(_IDENTITY_KEYS, values, strict=True)))


def _new_state_json(identity: str, decision: str, role: str, comment: str | None,
                    cleared: str | None, clears: bool) -> str:
    """_JSON.encode of a plain decision's new state (keys sorted; corrected code, flags
    and linked coding are null), around the identity's JSON text."""
    return "".join([
        '{"coding": ', identity, ', "comment": ', _json_value(comment),
        ', "corrected_code": null, "corrected_flags": null, "decision": ',
        _encode_text(decision), ', "linked_coding_id": null, ',
        f'"review_cleared": {_json_value(cleared)}, ' if clears else "",
        '"role": ', _encode_text(role), "}"])


def set_plain_decisions(conn: Connection, wanted: list[tuple[int, str, str | None]],
                        coder: str, *, role: str, source: str,
                        run_id: int | None = None, known: dict | None = None) -> int:
    """(coding id, decision, comment) for one coder; returns how many changed.

    Same result as `set_decision(conn, id, coder, decision, comment, source=source,
    role=role)` for each, in order, with no corrected code, flags or linked coding.

    `known`, when given, holds for each coding of `wanted` what the caller read of it
    in this transaction, unchanged since: (this coder's stored decision row or None,
    the coding's needs_review). The batches then read only the identities (and the
    review reason of flagged codings): the import's checks read the rest already, and
    reading it again was two thirds of the helper thread's reading.
    """
    _check_plain(wanted, role)
    raw = _driver(conn)
    batches = [wanted[start:start + BATCH] for start in range(0, len(wanted), BATCH)]

    def prepared(batch):
        return _prepare_batch(conn, batch, coder, role, source, run_id, known)

    def write(ready) -> int:
        if ready[0] == "new":
            return write_new_plain_decisions(raw, ready[1], coder, role=role, source=source,
                                             run_id=run_id)
        return _write_batch(raw, ready[1])

    if len(batches) <= 1:
        return sum(write(prepared(batch)) for batch in batches)
    # Each batch is read and built in a thread while the previous batch is written:
    # SQLite works without holding the GIL, so on two cores the Python half of the work
    # (the rows read, the events' JSON) mostly overlaps the writing. The thread reads
    # through the same connection (the caller's transaction; SQLite serialises the two
    # threads' statements). Batches hold distinct codings, so writing one never changes
    # what the next one reads.
    from concurrent.futures import ThreadPoolExecutor

    changed = 0
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(prepared, batches[0])
        for batch in batches[1:]:
            ready = pending.result()
            pending = pool.submit(prepared, batch)
            changed += write(ready)
        changed += write(pending.result())
    return changed


def _check_plain(wanted: list[tuple[int, str, str | None]], role: str) -> None:
    if role not in ROLES or any(d not in DECISIONS or d == "change" for _i, d, _c in wanted):
        raise ValueError("set_plain_decisions takes accept, reject or discuss only")
    if len({coding_id for coding_id, _d, _c in wanted}) != len(wanted):
        raise ValueError("set_plain_decisions takes each coding once")


def _prepare_batch(conn: Connection, batch: list[tuple[int, str, str | None]], coder: str,
                   role: str, source: str, run_id: int | None, known: dict | None):
    """("new", batch) when no coding of the batch has a decision by this coder or a
    review flag (`write_new_plain_decisions` writes it), else ("built", the rows and
    events `_build_batch` makes)."""
    old_rows, review = _batch_state(conn, batch, coder, known)
    if not old_rows and not any(flag for flag, _reason in review.values()):
        return "new", batch
    ids = sorted({coding_id for coding_id, _d, _c in batch})
    return "built", _build_batch((old_rows, review, list(_identity_rows(conn, ids))),
                                 batch, coder, role, source, run_id)


_NEW_DECISIONS = (
    "INSERT INTO decisions (coding_id, coder, time, source, decision, role, corrected_code, "
    "corrected_flags, linked_coding_id, comment) "
    "SELECT w.coding_id, ?, ?, ?, w.decision, ?, NULL, NULL, NULL, w.comment FROM w "
    "ORDER BY w.pos")
# the event's JSON as _new_state_json and _identity_json write it: SQLite's json_quote
# escapes text as the encoder does with ensure_ascii=False (quote, backslash and control
# characters: the short forms for backspace, form feed, newline, return and tab, else
# a lower-case \u00xx), and writes NULL as null and integers as digits
_IDENTITY_SQL = "'{' || " + " || ', ' || ".join(
    f"'\"{key}\": ' || json_quote({column})" for key, column in zip(_IDENTITY_KEYS, (
        "c.code", "NULLIF(c.coder, '')", "c.evidence_text", "c.interview_id", "i.path",
        "c.occurrence", "c.segment_id", "s.ord", "s.sha256"), strict=True)) + " || '}'"
_NEW_EVENTS = (
    "INSERT INTO events (time, actor, kind, entity, entity_key, source, reason, run_id, "
    "old, new) SELECT ?, ?, 'decision.set', 'codings', CAST(w.coding_id AS TEXT), ?, NULL, "
    "?, NULL, '{\"coding\": ' || CASE WHEN s.id IS NULL OR i.id IS NULL THEN '{}' ELSE "
    + _IDENTITY_SQL + " END || ', \"comment\": ' || json_quote(w.comment) || "
    "', \"corrected_code\": null, \"corrected_flags\": null, \"decision\": ' || "
    "json_quote(w.decision) || ', \"linked_coding_id\": null, \"role\": ' || "
    "json_quote(?) || '}' FROM w LEFT JOIN codings c ON c.id = w.coding_id "
    "LEFT JOIN segments s ON s.id = c.segment_id "
    "LEFT JOIN interviews i ON i.id = c.interview_id ORDER BY w.pos")


def _with_wanted(sql: str, count: int) -> str:
    return ("WITH w (pos, coding_id, decision, comment) AS (VALUES "
            + ", ".join(["(?, ?, ?, ?)"] * count) + ") " + sql)


def write_new_plain_decisions(raw, wanted: list[tuple[int, str, str | None]], coder: str, *,
                              role: str, source: str, run_id: int | None = None) -> int:
    """`set_plain_decisions` for codings this coder has not decided and that are not
    flagged for review (the caller knows it; a stored decision fails the unique key):
    the same rows and events, each table written by one statement whose event JSON
    SQLite builds. No Python work per decision, so the write holds the GIL only to bind
    the values: another thread can read and check rows meanwhile. `raw`: the driver's
    connection, inside the caller's transaction."""
    _check_plain(wanted, role)
    now = utc_now()
    written = 0
    for batch in _chunks(wanted, _NEW_PER_STATEMENT):
        values = [value for at, (coding_id, decision, comment) in enumerate(batch)
                  for value in (at, coding_id, decision, comment)]
        raw.execute(_with_wanted(_NEW_DECISIONS, len(batch)),
                    [*values, coder, now, source, role])
        raw.execute(_with_wanted(_NEW_EVENTS, len(batch)),
                    [*values, now, coder, source, run_id, role])
        written += len(batch)
    return written


_NEW_PER_STATEMENT = 5000  # 4 values a decision: under SQLite's default 32,766 variables


def _batch_state(conn: Connection, wanted: list[tuple[int, str, str | None]], coder: str,
                 known: dict | None = None) -> tuple[dict, dict]:
    """This coder's stored decisions and the codings' review flags (coding id -> flag,
    reason) for a batch (from `known` if given)."""
    raw = _driver(conn)
    ids = sorted({coding_id for coding_id, _d, _c in wanted})
    if known is not None:
        return _known_batch(raw, ids, known)
    old_rows, review = {}, {}
    for chunk in _chunks(ids):
        for row in raw.execute(_in(
                "SELECT id, coding_id, decision, role, corrected_code, corrected_flags, "
                "linked_coding_id, comment FROM decisions WHERE coder = ? AND coding_id IN (?)",
                chunk), [coder, *chunk]):
            old_rows[row[1]] = _Stored(*row)
        for coding_id, needs_review, reason in raw.execute(_in(
                "SELECT id, needs_review, review_reason FROM codings WHERE id IN (?)", chunk),
                chunk):
            review[coding_id] = (needs_review, reason)
    return old_rows, review


def _known_batch(raw, ids: list[int], known: dict) -> tuple[dict, dict]:
    """`_read_batch`'s stored decisions and review flags from `known`; the review reason
    is read only for flagged codings (an unflagged coding's is never written)."""
    old_rows, review = {}, {}
    for coding_id in ids:
        stored, needs_review = known[coding_id]
        if stored is not None:
            old_rows[coding_id] = _Stored._make(getattr(stored, name)
                                                for name in _Stored._fields)
        review[coding_id] = (needs_review, None)
    flagged = [coding_id for coding_id in ids if review[coding_id][0]]
    for chunk in _chunks(flagged):
        for coding_id, needs_review, reason in raw.execute(_in(
                "SELECT id, needs_review, review_reason FROM codings WHERE id IN (?)", chunk),
                chunk):
            review[coding_id] = (needs_review, reason)
    return old_rows, review


def _build_batch(read, wanted: list[tuple[int, str, str | None]], coder: str, role: str,
                 source: str, run_id: int | None) -> tuple[list, list, list, list]:
    """The rows to insert and update and the events to append for a batch (no store
    access: may run in another thread)."""
    old_rows, review, identity_rows = read
    names = {coding_id: _identity_json(values) for coding_id, values in identity_rows}
    now = utc_now()
    inserts, updates, cleared, logged = [], [], [], []
    for coding_id, decision, comment in wanted:
        old = old_rows.get(coding_id)
        values = (decision, role, None, None, None, comment)
        unchanged = old is not None and old[2:] == values
        needs_review, reason = review[coding_id]
        clears = bool(needs_review)
        if unchanged and not clears:
            continue
        if old is None:
            inserts.append((coding_id, coder, now, source, *values))
        elif not unchanged:
            updates.append((now, source, *values, old.id))
        if clears:
            cleared.append((now, coding_id))
        try:
            new = _new_state_json(names.get(coding_id, "{}"), decision, role, comment,
                                  reason, clears)
        except KeyError:  # a value of another type: the encoder itself
            new_state = dict(zip(_VALUES, values, strict=True))
            if clears:
                new_state["review_cleared"] = reason
            new_state["coding"] = json.loads(names.get(coding_id, "{}"))
            new = _JSON.encode(new_state)
        old_state = _decision_state(old)
        logged.append((now, coder, "decision.set", "codings", str(coding_id), source, None,
                       run_id, None if old_state is None else _JSON.encode(old_state), new))
    return inserts, updates, cleared, logged


def _write_batch(raw, built: tuple[list, list, list, list]) -> int:
    inserts, updates, cleared, logged = built
    if inserts:
        raw.executemany(
            "INSERT INTO decisions (coding_id, coder, time, source, decision, role, "
            "corrected_code, corrected_flags, linked_coding_id, comment) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", inserts)
    if updates:
        raw.executemany(
            "UPDATE decisions SET time = ?, source = ?, decision = ?, role = ?, "
            "corrected_code = ?, corrected_flags = ?, linked_coding_id = ?, comment = ? "
            "WHERE id = ?", updates)
    if cleared:
        raw.executemany("UPDATE codings SET needs_review = 0, review_reason = NULL, "
                        "updated_at = ? WHERE id = ?", cleared)
    if logged:
        raw.executemany(
            "INSERT INTO events (time, actor, kind, entity, entity_key, source, reason, "
            "run_id, old, new) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", logged)
    return len(logged)


class EarlyDecisions:
    """Plain first decisions written while the rest of a workbook is still being read.

    An import checks the whole workbook before it writes, and writing 100,000 decisions
    and events then took about two seconds of SQLite after the reading. Here each batch
    of decisions the reader already knows (`offer`) goes to SQLite in a thread
    (`write_new_plain_decisions`, which runs without the GIL while the reader works in
    Python), inside a savepoint of the import's transaction. Once everything is
    checked, the caller either `keep`s them, when they are exactly the first decisions
    it would have written, in the same order (`wrote_first_of`), or `undo`es them (back
    to the savepoint) and writes as before. A refused import rolls the whole
    transaction back anyway.

    What was written is remembered as a count and a digest, not as 100,000 tuples: the
    reading is the import's peak of memory. `pool`: an idle single-thread executor to
    write in (a thread that already has its malloc arena), else one of its own.
    """

    _SAVEPOINT = "early_decisions"

    def __init__(self, conn: Connection, coder: str, *, role: str, source: str,
                 run_id: int | None = None, pool=None):
        import hashlib
        from concurrent.futures import ThreadPoolExecutor

        self._raw = _driver(conn)
        self._coder, self._role, self._source, self._run_id = coder, role, source, run_id
        self._pending: list[tuple[int, str, str | None]] = []
        self._writes: list = []
        self.count = 0  # decisions submitted
        self._digest = hashlib.sha256()  # of their _listed text, in order
        self.open = True  # offers are taken
        self._raw.execute(f"SAVEPOINT {self._SAVEPOINT}")
        self._own_pool = pool is None
        self._pool = ThreadPoolExecutor(max_workers=1) if pool is None else pool

    def offer(self, coding_id: int, decision: str, comment: str | None) -> None:
        self._pending.append((coding_id, decision, comment))
        if len(self._pending) >= BATCH:
            self._submit()

    def stop(self) -> None:
        """Take no more offers (what follows is written by the caller)."""
        if self.open:
            self.open = False
            self._submit()

    def _submit(self) -> None:
        if self._pending:
            batch, self._pending = self._pending, []
            self.count += len(batch)
            self._digest.update(_listed(batch))
            self._writes.append(self._pool.submit(
                write_new_plain_decisions, self._raw, batch, self._coder, role=self._role,
                source=self._source, run_id=self._run_id))

    def finish(self) -> None:
        """Wait for every write (raising its error)."""
        self.stop()
        try:
            for write in self._writes:
                write.result()
        finally:
            if self._own_pool:
                self._pool.shutdown(wait=True)

    def wrote_first_of(self, wanted: list[tuple[int, str, str | None]]) -> bool:
        """Whether what was written is exactly the start of `wanted`, in order."""
        import hashlib

        self.finish()
        return hashlib.sha256(_listed(wanted[:self.count])).digest() == self._digest.digest()

    def keep(self) -> int:
        self.finish()
        self._raw.execute(f"RELEASE {self._SAVEPOINT}")
        return self.count

    def undo(self) -> None:
        try:
            self.finish()
        finally:
            self._raw.execute(f"ROLLBACK TO {self._SAVEPOINT}")
            self._raw.execute(f"RELEASE {self._SAVEPOINT}")


def _listed(decisions: list[tuple[int, str, str | None]]) -> bytes:
    """The decisions as text that names them exactly (repr of integers, text and None)
    and adds up: a list's text is its parts' texts joined."""
    return "".join([f"{d!r};" for d in decisions]).encode("utf-8", "surrogatepass")
