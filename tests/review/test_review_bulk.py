"""set_plain_decisions writes exactly what set_decision writes, decision by decision."""

from __future__ import annotations

import shutil

import pytest
from review_helpers import build_study, query
from sqlalchemy import select, update

from pipeline.coding.decisions import set_decision
from pipeline.review.bulk import set_plain_decisions, write_new_plain_decisions
from pipeline.store import open_study_store
from pipeline.store.schema import codings, decisions, events
from pipeline.study import load_study


def _prepare(study) -> list[int]:
    """Codings in several states: one flagged for review, one already decided by ana."""
    ids = [r.id for r in query(study, select(codings.c.id).order_by(codings.c.id))]
    store = open_study_store(study)
    try:
        with store.write() as conn:
            conn.execute(update(codings).where(codings.c.id == ids[1])
                         .values(needs_review=1, review_reason="text changed"))
            set_decision(conn, ids[2], "ana", "reject", "first look", source="earlier")
            set_decision(conn, ids[3], "ana", "accept", None, source="earlier")
    finally:
        store.close()
    return ids


def _state(study) -> list:
    def strip(rows, *skip):
        return [{k: v for k, v in row._mapping.items() if k not in skip} for row in rows]
    return [strip(query(study, select(decisions).order_by(decisions.c.id)), "time"),
            strip(query(study, select(codings).order_by(codings.c.id)), "updated_at"),
            strip(query(study, select(events).order_by(events.c.id)), "time")]


def _known(conn, ids: list[int]) -> dict:
    """What the import's checks read of each coding: ana's decision row, needs_review."""
    mine = {d.coding_id: d for d in conn.execute(select(decisions)
                                                 .where(decisions.c.coder == "ana"))}
    flagged = dict(conn.execute(select(codings.c.id, codings.c.needs_review)).all())
    return {i: (mine.get(i), flagged[i]) for i in ids}


@pytest.mark.parametrize("batch", [None, 1], ids=["one-batch", "batches-in-a-thread"])
@pytest.mark.parametrize("with_known", [False, True], ids=["read", "known"])
def test_review_bulk_matches_set_decision(tmp_path, monkeypatch, batch, with_known):
    if batch is not None:  # several batches: built in a thread while the last is written
        from pipeline.review import bulk

        monkeypatch.setattr(bulk, "BATCH", batch)
    one = build_study(tmp_path / "one" / "study")
    shutil.copytree(one.root, tmp_path / "two" / "study")
    two = load_study(tmp_path / "two" / "study")
    ids = _prepare(one)
    assert _prepare(two) == ids
    wanted = [(ids[0], "accept", "fine"), (ids[1], "discuss", None),
              (ids[2], "accept", "second look"), (ids[3], "accept", None)]
    store = open_study_store(one)
    try:
        with store.write() as conn:
            changed_one = sum(set_decision(conn, i, "ana", d, c, source="wb", role="coder")
                              for i, d, c in wanted)
    finally:
        store.close()
    store = open_study_store(two)
    try:
        with store.write() as conn:
            known = _known(conn, [i for i, _d, _c in wanted]) if with_known else None
            changed_two = set_plain_decisions(conn, wanted, "ana", role="coder", source="wb",
                                              known=known)
    finally:
        store.close()
    assert changed_one == changed_two == 3
    assert _state(one) == _state(two)


_AWKWARD = ['say "why"\n\ttab \\ back\r\x08\x0c', "ünïcödé ¶ – \u2028 \x07 \x1f \x7f", None]


@pytest.mark.parametrize("batch", [None, 2], ids=["one-batch", "batches-in-a-thread"])
def test_review_bulk_new_decisions_written_by_sqlite_match_set_decision(tmp_path, monkeypatch,
                                                                       batch):
    """Codings nobody decided and none flagged: SQLite writes the rows and builds the
    events' JSON (write_new_plain_decisions); awkward text must come out as the encoder
    writes it."""
    from pipeline.review import bulk

    if batch is not None:
        monkeypatch.setattr(bulk, "BATCH", batch)
        monkeypatch.setattr(bulk, "_NEW_PER_STATEMENT", 1)
    one = build_study(tmp_path / "one" / "study")
    shutil.copytree(one.root, tmp_path / "two" / "study")
    two = load_study(tmp_path / "two" / "study")
    ids = [r.id for r in query(one, select(codings.c.id).order_by(codings.c.id))][:5]
    for study in (one, two):
        store = open_study_store(study)
        try:
            with store.write() as conn:
                for coding_id, text in zip(ids, _AWKWARD[:2], strict=False):
                    conn.execute(update(codings).where(codings.c.id == coding_id)
                                 .values(evidence_text=text, coder='a"b'))
        finally:
            store.close()
    wanted = [(i, ("accept", "reject", "discuss")[n % 3], _AWKWARD[n % 3])
              for n, i in enumerate(ids)]
    store = open_study_store(one)
    try:
        with store.write() as conn:
            for i, d, c in wanted:
                set_decision(conn, i, "ana", d, c, source="wb ü", role="coder", run_id=None)
    finally:
        store.close()
    calls = []
    monkeypatch.setattr(bulk, "write_new_plain_decisions", lambda raw, batch, *a, **k: (
        calls.append(len(batch)), write_new_plain_decisions(raw, batch, *a, **k))[1])
    store = open_study_store(two)
    try:
        with store.write() as conn:
            written = set_plain_decisions(conn, wanted, "ana", role="coder", source="wb ü")
    finally:
        store.close()
    assert written == sum(calls) == len(wanted)
    assert _state(one) == _state(two)


def test_review_bulk_refuses_change():
    with pytest.raises(ValueError):
        set_plain_decisions(None, [(1, "change", None)], "ana", role="coder", source="x")


@pytest.mark.parametrize("comment, reason, clears", [
    (None, None, False),
    ('say "why"\n\ttab \\ back', "text changed", True),
    ("ünïcödé ¶ – \u2028 \x07", None, True),
])
def test_review_bulk_event_json_matches_the_encoder(comment, reason, clears):
    from pipeline.review.bulk import _IDENTITY_KEYS, _JSON, _identity_json, _new_state_json

    identity = ("social.language", None, 'the "Red Cross"\ncourses ü', 7,
                "transcripts/LIS-PM-01.docx", 0, 12, 3, "ab" * 32)
    expected_identity = _JSON.encode(dict(zip(_IDENTITY_KEYS, identity, strict=True)))
    assert _identity_json(identity) == expected_identity
    by_coder = ("c", 'a"na', "e", 1, "p", 2, 3, 4, "s")
    assert _identity_json(by_coder) == _JSON.encode(dict(zip(_IDENTITY_KEYS, by_coder,
                                                             strict=True)))
    state = {"decision": "discuss", "role": "coder", "corrected_code": None,
             "corrected_flags": None, "linked_coding_id": None, "comment": comment,
             "coding": dict(zip(_IDENTITY_KEYS, identity, strict=True))}
    if clears:
        state["review_cleared"] = reason
    assert _new_state_json(expected_identity, "discuss", "coder", comment, reason,
                           clears) == _JSON.encode(state)


def test_review_bulk_identity_json_falls_back_for_other_types():
    from pipeline.review.bulk import _IDENTITY_KEYS, _JSON, _identity_json

    identity = ("c", "ana", "e", 1.5, "p", True, 2, 3, "s")  # a float and a bool
    assert _identity_json(identity) == _JSON.encode(dict(zip(_IDENTITY_KEYS, identity,
                                                             strict=True)))
