"""Cross-checks between the tables, the store and the register, each able to fail.

A table that disagrees with what it summarises must not go out silently: the interviewees
must be the current interviews and the register's interviewed rows; the initiatives
table's sum must equal the confirmed (initiative, dimension) pairs counted straight from
the entity rows; the partnerships total must equal the confirmed partnerships; every
transcript must have its register row and every interviewed row its transcript. Each
failure is an error naming the city, file or register row to fix.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import PurePosixPath

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from pipeline.aggregate.tables import (
    ResultTable,
    Scope,
    build_scope,
    confirmed_initiatives,
    confirmed_partnerships,
    json_list,
)
from pipeline.errors import Problem


def _scope_text(scope: Scope) -> str:
    return f" in round {scope.round}" if scope.round is not None else ""


def _by_city(table: ResultTable, column: str) -> dict[str, int]:
    return dict(zip(table.column("city"), table.column(column), strict=True))


def check_interviewees(conn: Connection, scope: Scope, table: ResultTable) -> list[Problem]:
    """The table's count per city equals the current interviews there, and in all it
    equals the store's active interviews (counted by the database, not by the scope)."""
    from pipeline.store.schema import interviews

    problems = []
    counted = defaultdict(int)
    for interview in scope.interviews:
        counted[interview.city] += 1
    in_table = _by_city(table, "total")
    for city in sorted(set(counted) | set(in_table)):
        if in_table.get(city, 0) != counted.get(city, 0):
            problems.append(Problem("CQ701", {"city": city, "table": in_table.get(city, 0),
                                              "store": counted.get(city, 0),
                                              "scope": _scope_text(scope)}))
    if scope.round is None:
        active = conn.execute(select(func.count()).select_from(interviews)
                              .where(interviews.c.status == "active")).scalar()
        if sum(in_table.values()) != active:
            problems.append(Problem("CQ701", {"city": "all cities",
                                              "table": sum(in_table.values()),
                                              "store": active, "scope": ""}))
    return problems


def check_register(scope: Scope, table: ResultTable,
                   retired_files: frozenset[str] = frozenset()) -> list[Problem]:
    """Per city: interviews in the table = register rows marked interviewed; every
    transcript has a register row; every interviewed row has a transcript. A row whose
    transcript was retired (`cityqda interview retire`) left the tables on purpose and is
    not compared."""
    register = scope.register
    file = str(register.path) if register.path else None
    problems = []
    retired_rows = {row.row for row in (register.row_for_file(PurePosixPath(path).name, path)
                                        for path in retired_files) if row is not None}
    matched_rows: dict[int, object] = {}
    for interview in scope.all_interviews:
        row = interview.register_row
        if row is None:
            problems.append(Problem("CQ705", {"interview_id": interview.id,
                                              "file": interview.file}, file=interview.path))
        else:
            matched_rows[row.row] = interview
    interviewed = [r for r in scope.register_rows if r.outcome == "interviewed"
                   and (r.row not in retired_rows or r.row in matched_rows)]
    for row in interviewed:
        if row.row not in matched_rows:
            problems.append(Problem("CQ706", {"city": scope.canonical_city(row.city),
                                              "value": row.transcript_file or ""},
                                    file=file, sheet="register", row=row.row,
                                    column="transcript_file"))
    register_count = defaultdict(int)
    register_rows = defaultdict(list)
    for row in interviewed:
        city = scope.canonical_city(row.city)
        register_count[city] += 1
        register_rows[city].append(row)
    in_table = _by_city(table, "total")
    by_city = defaultdict(list)
    for interview in scope.interviews:
        by_city[interview.city].append(interview)
    for city in sorted(set(register_count) | {c for c, n in in_table.items() if n}):
        if in_table.get(city, 0) == register_count.get(city, 0):
            continue
        listed = {r.row for r in register_rows.get(city, [])}
        unlisted = [i.file for i in by_city.get(city, [])
                    if i.register_row is None or i.register_row.row not in listed]
        missing = [f"row {r.row} ({r.transcript_file or 'no transcript_file'})"
                   for r in register_rows.get(city, []) if r.row not in matched_rows
                   or matched_rows[r.row].city != city]
        parts = []
        if unlisted:
            parts.append("interviews the register does not list as interviewed in this "
                         "city: " + ", ".join(unlisted))
        if missing:
            parts.append("interviewed register rows without a current interview in this "
                         "city: " + ", ".join(missing))
        problems.append(Problem("CQ702", {
            "city": city, "interviews": in_table.get(city, 0),
            "register": register_count.get(city, 0), "scope": _scope_text(scope),
            "detail": ("; " + "; ".join(parts)) if parts else ""}, file=file))
    return problems


def check_initiatives(conn: Connection, scope: Scope, table: ResultTable) -> list[Problem]:
    """Sum of the table = (initiative, dimension) pairs counted from the raw entity rows."""
    known = set(scope.dimensions)
    raw_count = defaultdict(int)
    faults = defaultdict(list)
    for row in confirmed_initiatives(conn, scope):
        city = scope.canonical_city(row.city)
        listed = json_list(row.dimensions)
        if listed is None:
            faults[city].append(f"initiative {row.id} {row.name!r} has unreadable dimensions "
                                f"{row.dimensions!r}")
            raw_count[city] += 0
            continue
        raw_count[city] += len(listed)
        unknown = sorted({str(d) for d in listed if d not in known})
        repeated = sorted({str(d) for d in listed if listed.count(d) > 1})
        if unknown:
            faults[city].append(f"initiative {row.id} {row.name!r} has dimension(s) "
                                f"{', '.join(unknown)} outside the study's")
        if repeated:
            faults[city].append(f"initiative {row.id} {row.name!r} lists "
                                f"{', '.join(repeated)} more than once")
    in_table = _by_city(table, "total_initiatives")
    problems = []
    for city in sorted(set(raw_count) | set(in_table) | set(faults)):
        if in_table.get(city, 0) != raw_count.get(city, 0) or faults.get(city):
            problems.append(Problem("CQ703", {
                "city": city, "table": in_table.get(city, 0), "store": raw_count.get(city, 0),
                "detail": "; ".join(faults.get(city, [])) or "no single initiative explains it",
                "known": ", ".join(scope.dimensions)}))
    return problems


def check_partnerships(conn: Connection, scope: Scope, table: ResultTable) -> list[Problem]:
    """Total of the table = confirmed existing partnerships (each exactly once)."""
    types = set(scope.partnership_types)
    store_count = defaultdict(int)
    faults = defaultdict(list)
    for row in confirmed_partnerships(conn, scope):
        city = scope.canonical_city(row.city)
        store_count[city] += 1
        if row.type not in types:
            faults[city].append(f"partnership {row.id} ({row.parties_key}) has type "
                                f"{row.type!r}")
    in_table = _by_city(table, "total")
    problems = []
    for city in sorted(set(store_count) | set(in_table)):
        if in_table.get(city, 0) != store_count.get(city, 0):
            problems.append(Problem("CQ704", {
                "city": city, "table": in_table.get(city, 0),
                "store": store_count.get(city, 0),
                "detail": "; ".join(faults.get(city, [])) or "no single partnership explains it",
                "known": ", ".join(scope.partnership_types)}))
    return problems


def cross_checks(conn: Connection, study, tables: dict[str, ResultTable], *,
                 round: str | None = None, register=None,
                 scope: Scope | None = None) -> list[Problem]:
    """Every cross-check's problems (CQ7xx errors; CQ730 when there is no register to
    check against)."""
    scope = scope or build_scope(conn, study, round=round, register=register)
    problems = check_interviewees(conn, scope, tables["interviewees"])
    if scope.register.rows:
        from pipeline.store.schema import interviews

        retired = frozenset(conn.execute(select(interviews.c.path).where(
            interviews.c.status == "retired")).scalars())
        problems += check_register(scope, tables["interviewees"], retired)
    else:
        problems.append(Problem("CQ730", {"path": str(scope.register.path)},
                                file=str(scope.register.path)))
    problems += check_initiatives(conn, scope, tables["initiatives_by_dimension"])
    problems += check_partnerships(conn, scope, tables["partnerships_by_type"])
    return problems
