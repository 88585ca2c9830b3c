"""Pseudonyms that cite an interview without naming the person or organisation.

Consent forms often forbid naming organisations, and a transcript's file name may hold a
name, so a report never cites by file: the register's `pseudonym` column wins; otherwise
the pseudonym is CITYCODE-CAT-NN (LIS-PM-01): the city's three-letter code, the
stakeholder category's two letters, and a number counted per city and category in the
order interviews entered the store (retired ones included, numbers already given in the
register skipped), so adding an interview never renumbers the earlier ones.
"""

from __future__ import annotations

import json
import re

from sqlalchemy import select
from sqlalchemy.engine import Connection

from pipeline.store.schema import interviews

CATEGORY_CODES = {"policy_maker": "PM", "practitioner": "PR", "business": "BU",
                  "civil_society": "CS", "international_organization": "IO"}
UNKNOWN_CITY_CODE = "XXX"
UNKNOWN_CATEGORY_CODE = "XX"


def category_code(category: str | None) -> str:
    if not category:
        return UNKNOWN_CATEGORY_CODE
    if category in CATEGORY_CODES:
        return CATEGORY_CODES[category]
    letters = re.sub(r"[^A-Za-z]", "", category)
    return (letters[:2] or UNKNOWN_CATEGORY_CODE).upper()


def _value(metadata: dict, name: str):
    state = metadata.get(name) or {}
    return state.get("value") if isinstance(state, dict) else None


def assign_pseudonyms(conn: Connection, register,
                      metadata_of: dict[int, dict] | None = None) -> dict[int, str]:
    """Interview id -> pseudonym, for every interview in the store. `metadata_of`: the
    interviews' metadata already parsed (a report's scope has the active ones)."""
    metadata_of = metadata_of or {}
    rows = conn.execute(select(interviews.c.id, interviews.c.file, interviews.c.path,
                               interviews.c.metadata)
                        .order_by(interviews.c.id)).all()
    given: dict[int, str] = {}
    prefixes: dict[int, str] = {}
    for row in rows:
        register_row = (register.row_for_file(row.file, row.path) if register is not None
                        else None)
        if register_row is not None and register_row.pseudonym:
            given[row.id] = register_row.pseudonym.strip()
            continue
        metadata = metadata_of.get(row.id)
        if metadata is None:
            metadata = json.loads(row.metadata or "{}")
        city = _value(metadata, "city") or (register_row.city if register_row else None)
        category = _value(metadata, "stakeholder_category") or (
            register_row.category if register_row else None)
        code = (register.city_code(city) if register is not None and city
                else re.sub(r"[^A-Za-z]", "", city or "")[:3].upper()) or UNKNOWN_CITY_CODE
        prefixes[row.id] = f"{code}-{category_code(category)}"
    taken = {name.casefold() for name in given.values()}
    counters: dict[str, int] = {}
    result = dict(given)
    for interview_id in sorted(prefixes):
        prefix = prefixes[interview_id]
        number = counters.get(prefix, 0)
        while True:
            number += 1
            candidate = f"{prefix}-{number:02d}"
            if candidate.casefold() not in taken:
                break
        counters[prefix] = number
        taken.add(candidate.casefold())
        result[interview_id] = candidate
    return result
