"""What each interview's rows are in the store, read in a few grouped queries.

Caches keyed per interview (the aggregate's dataset chunks, the manifest's status counts)
need to know which interviews changed since they were written without reading every row.
Per source table, the count and largest id of an interview's rows move on every insert or
delete (ids only grow: AUTOINCREMENT); rows changed in place are counted per interview by
`interview_changes` (triggers, store migration m0005).
"""

from __future__ import annotations

from collections.abc import Iterable

_COUNT_AND_LAST_ID = ("SELECT {key}, count(*), max({row_id}) FROM {source} "
                      "GROUP BY {key}")
_MENTIONS = "{table} m JOIN segments s ON s.id = m.segment_id"

STATE_QUERIES = {
    "segments": _COUNT_AND_LAST_ID.format(key="interview_id", row_id="id",
                                          source="segments"),
    "codings": _COUNT_AND_LAST_ID.format(key="interview_id", row_id="id", source="codings"),
    "decisions": _COUNT_AND_LAST_ID.format(
        key="c.interview_id", row_id="d.id",
        source="decisions d JOIN codings c ON c.id = d.coding_id"),
    **{table: _COUNT_AND_LAST_ID.format(key="s.interview_id", row_id="m.id",
                                        source=_MENTIONS.format(table=table))
       for table in ("initiative_mentions", "actor_mentions")},
    "interview_changes": "SELECT interview_id, version FROM interview_changes",
}


def interview_states(cursor, sources: Iterable[str]) -> dict[int, list]:
    """Interview id -> one part per source, in the order given: [count, largest id] of
    its rows ([version] for `interview_changes`), None where it has none."""
    found = [{row[0]: list(row[1:]) for row in cursor.execute(STATE_QUERIES[name])}
             for name in sources]
    ids = set().union(*found)
    return {interview_id: [part.get(interview_id) for part in found] for interview_id in ids}
