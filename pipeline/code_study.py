"""`cityqda code`: code every segment that needs it into the store.

A segment needs coding when it was never coded, when its text changed (a new transcript
version), or when the fingerprint of what decides codings changed (the codebook's matching
content, the coder's and spaCy's versions). A segment that only moved in its transcript (a
paragraph inserted above it) has its codings' offsets moved, without coding. Nothing else is
touched, so a re-run with nothing changed does no coding work at all.

Order of work: load and check the codebook (a broken codebook codes nothing); in one
transaction check it against the store's history, record its version and carry out its new
`changes` entries (renames, merges, splits, retirements); then code interview by interview,
each tagged before its write transaction opens and written in one transaction, so a crash
loses at most the interview being written and leaves the store consistent. With enough
segments to tag, forked worker processes (one per core) tag the next interviews while this
process writes; results come back in order, so the store ends up the same.

When the codebook changed in patterns only, the re-code is narrowed to the segments where
an old or new pattern of the changed codes matches (`pipeline.coding.narrow`, decided by the
coder's own tokenizer, lemmatizer and ruler, about 2 % of the tagger's time); the other
segments keep their codings and take the new
fingerprint. Any other change (rules, cues, context, hierarchy, coder or registry version)
re-codes every segment, with identity-preserving upserts that keep every decision. Figures
in docs/BENCHMARKS.md (`## Code into the store`).
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import bindparam, func, insert, or_, select, update

from pipeline import __version__
from pipeline.coding.code_changes import AppliedChange, apply_changes
from pipeline.coding.interview_context import StoredState, add_context, context_work
from pipeline.coding.reconcile import (
    CodingContext,
    InterviewWriter,
    SegmentWork,
    Tally,
    orphaned_condition,
    refresh_states,
    usable,
)
from pipeline.coding.study_coder import (
    load_study_codebook,
    load_study_registry,
    other_coder_inputs,
)
from pipeline.coding.tagger_process import TaggerProcess, take_tagger_process
from pipeline.coding.versions import (
    CodebookSource,
    check_against_store,
    coder_fingerprint,
    record_version,
)
from pipeline.errors import Problem
from pipeline.store import Store, utc_now
from pipeline.store.schema import (
    codebook_versions,
    codings,
    interviews,
    runs,
    segment_coding,
    segments,
)

Progress = Callable[[Iterable, int], Iterable]


@dataclass
class CodeReport:
    codebook_id: str
    codebook_version: str
    fingerprint: str
    run_id: int | None = None
    new_codebook_version: bool = False
    changes: list[AppliedChange] = field(default_factory=list)
    interviews: int = 0  # interviews with work
    segments: int = 0  # current segments of active interviews
    tally: Tally = field(default_factory=Tally)
    orphaned: int = 0
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return any(p.spec.level == "error" for p in self.problems)

    def counts(self) -> dict[str, int]:
        counts = {"interviews": self.interviews, "segments": self.segments,
                  **self.tally.counts(), "orphaned_codings": self.orphaned,
                  "changes_applied": len(self.changes)}
        return counts

    def lines(self) -> list[str]:
        out = []
        if self.new_codebook_version:
            out.append(f"codebook {self.codebook_id} {self.codebook_version}: new version "
                       "recorded")
        out.extend(f"change {c.line()}" for c in self.changes)
        return out

    def summary(self) -> str:
        t = self.tally
        text = (f"code: {t.segments_coded} of {self.segments} segment(s) coded in "
                f"{self.interviews} interview(s) with codebook {self.codebook_id} "
                f"{self.codebook_version}; codings {t.codings_new} new, {t.codings_updated} "
                f"updated, {t.codings_stopped} no longer produced")
        extra = [f"{n} {label}" for n, label in (
            (t.segments_refreshed, "segment(s) untouched by the codebook change"),
            (t.segments_moved, "segment(s) moved"), (t.rule_gone, "rule gone"),
            (t.needs_review, "flagged for review"), (t.reanchored, "re-anchored"),
            (t.segments_skipped, "segment(s) changed meanwhile"),
            (self.orphaned, "orphaned coding(s) on retired segments")) if n]
        if extra:
            text += "; " + ", ".join(extra)
        return text + f" ({self.seconds:.1f} s)"


def _start_run(conn, run_id: int | None) -> int:
    if run_id is not None:
        return run_id
    return int(conn.execute(insert(runs).values(command="code", started_at=utc_now(),
                                                status="running")).inserted_primary_key[0])


def _finish_run(store: Store, report: CodeReport, status: str) -> None:
    import json

    manifest = {"cityqda_version": __version__,
                "codebook": {"id": report.codebook_id, "version": report.codebook_version},
                "fingerprint": report.fingerprint, "counts": report.counts()}
    with store.write() as conn:
        conn.execute(update(runs).where(runs.c.id == report.run_id).values(
            finished_at=utc_now(), status=status,
            manifest=json.dumps(manifest, sort_keys=True, ensure_ascii=False)))


@dataclass
class WorkPlan:
    """What `code` has to do, without a work item per segment (those are read interview by
    interview, `interview_work`, so memory does not grow with the study).

    `stale` lists the narrowing candidates by old fingerprint: segments due only to a new
    fingerprint (same text), as parallel arrays of segment id, interview id and whether it
    moved. `firm` holds the interviews with other work (new, changed or moved segments)."""

    segments: int = 0
    counts: dict[int, int] = field(default_factory=dict)  # interview -> current segments
    firm: set[int] = field(default_factory=set)
    stale: dict[str, tuple[array, array, set[int]]] = field(default_factory=dict)
    refresh_moved: set[int] = field(default_factory=set)  # narrowed away, but moved

    def interviews(self, hits: dict[str, set[int]] | None = None) -> list[int]:
        """Interviews with work, the narrowing candidates outside `hits` (by old
        fingerprint; None: every candidate) left out unless they moved."""
        found = set(self.firm)
        for fingerprint, (ids, owners, moved) in self.stale.items():
            kept = None if hits is None else hits.get(fingerprint)
            for segment_id, interview_id in zip(ids, owners, strict=True):
                if kept is None or segment_id in kept or segment_id in moved:
                    found.add(interview_id)
        return sorted(found)


WORK_QUERY = (select(segments.c.id, segments.c.interview_id, segments.c.sha256,
                     segments.c.start, segments.c.end, segments.c.version,
                     segment_coding.c.sha256.label("st_sha256"),
                     segment_coding.c.start.label("st_start"),
                     segment_coding.c.end.label("st_end"),
                     segment_coding.c.version.label("st_version"),
                     segment_coding.c.fingerprint.label("st_fingerprint"),
                     segment_coding.c.codebook_version.label("st_codebook_version"))
              .join(interviews, interviews.c.id == segments.c.interview_id)
              .outerjoin(segment_coding, segment_coding.c.segment_id == segments.c.id)
              .where(segments.c.status == "current", interviews.c.status == "active",
                     interviews.c.purged == 0))
STUDY_WORK = WORK_QUERY.order_by(segments.c.interview_id, segments.c.ord, segments.c.id)
INTERVIEW_WORK = WORK_QUERY.where(segments.c.interview_id == bindparam("interview")) \
    .order_by(segments.c.ord, segments.c.id)


def _own_work(row, fingerprint: str, recode_all: bool
              ) -> tuple[StoredState | None, bool, bool]:
    """A segment's stored state, whether it needs tagging, whether it moved."""
    state = None
    if row.st_sha256 is not None:
        state = StoredState(row.st_sha256, row.st_start, row.st_end, row.st_version,
                            row.st_fingerprint, row.st_codebook_version)
    tag = (recode_all or state is None or state.sha256 != row.sha256
           or state.fingerprint != fingerprint)
    moved = state is not None and (state.start, state.end, state.version) != \
        (row.start, row.end, row.version)
    return state, tag, moved


STUDY_COUNTS = (select(segments.c.interview_id, func.count())
                .join(interviews, interviews.c.id == segments.c.interview_id)
                .where(segments.c.status == "current", interviews.c.status == "active",
                       interviews.c.purged == 0)
                .group_by(segments.c.interview_id))
# Rows that may have work (SQLite filters; `_own_work` decides): most of a study has none
# after its first `code`.
MAY_HAVE_WORK = or_(segment_coding.c.sha256.is_(None),
                    segment_coding.c.sha256 != segments.c.sha256,
                    segment_coding.c.fingerprint != bindparam("fingerprint"),
                    segment_coding.c.start != segments.c.start,
                    segment_coding.c.end != segments.c.end,
                    segment_coding.c.version != segments.c.version)


def plan_work(conn, fingerprint: str, recode_all: bool = False) -> WorkPlan:
    """Which interviews have work (see WorkPlan), from the segments that may have some."""
    plan = WorkPlan()
    plan.counts = dict(conn.execute(STUDY_COUNTS).all())
    plan.segments = sum(plan.counts.values())
    query = STUDY_WORK if recode_all else STUDY_WORK.where(MAY_HAVE_WORK)
    for row in conn.execute(query, {"fingerprint": fingerprint}):
        state, tag, moved = _own_work(row, fingerprint, recode_all)
        if not (tag or moved):
            continue
        if tag and not recode_all and state is not None and state.sha256 == row.sha256:
            ids, owners, moved_ids = plan.stale.setdefault(
                state.fingerprint, (array("q"), array("q"), set()))
            ids.append(row.id)
            owners.append(row.interview_id)
            if moved:
                moved_ids.add(row.id)
        else:
            plan.firm.add(row.interview_id)
    return plan


def interview_work(conn, interview_id: int, fingerprint: str, recode_all: bool,
                   refresh_moved: set[int]) -> list[SegmentWork]:
    """Every current segment of one interview, to be tagged (the context rules need the
    whole interview: `pipeline.coding.interview_context`), with its own flags to restore;
    empty when none of them has work of its own."""
    items: list[SegmentWork] = []
    own = False
    for row in conn.execute(INTERVIEW_WORK, {"interview": interview_id}):
        state, tag, moved = _own_work(row, fingerprint, recode_all)
        refresh = False
        if tag and row.id in refresh_moved:  # narrowed away: its codings cannot change
            tag, refresh = False, True
        if tag or moved:
            own = True
            item = SegmentWork(row.id, row.sha256, row.start, row.end, row.version, tag,
                               state, refresh=refresh)
        else:
            item = SegmentWork(row.id, row.sha256, row.start, row.end, row.version, False,
                               state)
        items.append(item)
    return context_work(items) if own else []


def code_study(study, store: Store, *, progress: Progress | None = None,
               run_id: int | None = None, recode_all: bool = False,
               tagger_factory: Callable | None = None,
               workers: int | None = None,
               meanwhile: Iterable[Callable[[], object]] = ()) -> CodeReport:
    """Code every segment of the study that needs it; see the module docstring.

    Raises CityQDAError (nothing coded) when the codebook is broken or contradicts the
    store's history. `progress` wraps the list of interviews to code (a progress bar);
    `tagger_factory(codebook)` replaces the spaCy tagger (tests). `workers`: processes
    that tag while this one writes (None: one per core, when the work is big enough to
    pay for them; 0 or 1: tag here). The codings written are the same either way.
    `meanwhile`: work of the caller's to do while the tagger is still being built in the
    process `cityqda run` started (pipeline.coding.tagger_process), not done otherwise.
    """
    started = time.perf_counter()
    codebook = load_study_codebook(study, cached=True)
    registry = load_study_registry(study, cached=True)
    source = CodebookSource.read(codebook)
    others = other_coder_inputs(registry)
    fingerprint = coder_fingerprint(source, others)
    registry_cities = {actor.id: actor.city or "" for actor in registry.actors}
    report = CodeReport(codebook.id, codebook.version, fingerprint)
    if not study.path("actors").exists():  # the package's registry stood in for it
        report.problems.append(Problem("CQ421", file=str(study.path("actors"))))
    with store.write() as conn:
        check_against_store(conn, source)
        report.run_id = _start_run(conn, run_id)
        report.new_codebook_version = record_version(conn, source, report.run_id)
        report.changes = apply_changes(conn, codebook, report.run_id)
    status = "failed"
    try:
        with store.read() as conn:
            plan = plan_work(conn, fingerprint, recode_all)
            report.segments = plan.segments
            hits = narrow_work(conn, plan, fingerprint, codebook) if not recode_all \
                else {}
        ctx = CodingContext(codebook, fingerprint, report.run_id, utc_now(), registry_cities)
        for old_fingerprint, segment_ids in sorted(_refresh(plan, hits).items()):
            with store.write() as conn:
                report.tally.segments_refreshed += refresh_states(conn, segment_ids,
                                                                  old_fingerprint, ctx)
        order = plan.interviews(hits)
        del hits
        report.interviews = len(order)
        to_tag = sum(plan.counts.get(interview_id, 0) for interview_id in order)
        parallel = _worker_count(workers, to_tag, len(order)) if order else 0
        built_ahead = take_tagger_process(study)
        tagger = None
        if order:
            tagger = tagger_factory(codebook) if tagger_factory is not None else \
                _study_tagger(study, codebook, registry, others, built_ahead, parallel,
                              meanwhile)
        if built_ahead is not None and tagger is not built_ahead:
            built_ahead.close()

        def items_of(interview_id: int) -> list[SegmentWork]:
            with store.read() as conn:
                return interview_work(conn, interview_id, fingerprint, recode_all,
                                      plan.refresh_moved)

        tagged = _tagged(store, tagger, codebook, order, items_of,
                         parallel if tagger is not None else 0)
        try:
            for interview_id in (progress(order, len(order)) if progress else order):
                items = next(tagged)
                ctx.now = utc_now()
                with store.write() as conn:
                    tally = InterviewWriter(conn, interview_id, ctx).write(items)
                # Written: drop its tagger results (they are several KB per segment).
                del items
                report.tally.add(tally)
                if tally.segments_skipped:
                    report.problems.append(Problem("CQ420", {
                        "interview_id": interview_id, "count": tally.segments_skipped}))
        finally:
            tagged.close()  # stops the workers, if any
            if isinstance(tagger, TaggerProcess):
                tagger.close()
        with store.read() as conn:
            report.orphaned = orphaned_total(conn)
        status = "ok"
    finally:
        report.seconds = time.perf_counter() - started
        if run_id is None:
            _finish_run(store, report, status)
    return report


def _study_tagger(study, codebook, registry, others: dict,
                  built_ahead: TaggerProcess | None, parallel: int,
                  meanwhile: Iterable[Callable[[], object]] = ()):
    """The tagger `cityqda run` built ahead (`pipeline.coding.tagger_process`) when it
    was built from these codebook, registry and cue list bytes and this process tags
    (forked workers share a tagger built here), else one built now."""
    from pipeline.coding.section_context import load_context_words
    from pipeline.nlp.build_cache import study_cache_dir

    def build():
        from pipeline.nlp.tagger import Tagger

        return Tagger(codebook, actors=registry, cache_dir=study_cache_dir(study.root))

    if built_ahead is None or parallel:
        return build()
    load_context_words()  # needed once tagged (pipeline.coding.section_context): read
    # while the process may still be building
    if built_ahead.built_from(codebook.sha256, registry.sha256, others["entity_cues"],
                              meanwhile):
        built_ahead.local = build
        return built_ahead
    return build()


def narrow_work(conn, plan: WorkPlan, fingerprint: str, codebook) -> dict[str, set[int]]:
    """The narrowing candidates (segments due only to a codebook whose patterns alone
    changed) where an old or new pattern of the changed codes matches, by old fingerprint.
    The other candidates need not be coded again: `_refresh` moves them to the new
    fingerprint, and those that also moved are written with `refresh` set. Old
    fingerprints that cannot be narrowed are missing (every candidate is coded). Texts are
    read in chunks, so memory stays flat."""
    import yaml

    from pipeline.coding.narrow import changed_pattern_codes, matching_segments
    from pipeline.coding.versions import fingerprint_parts

    current = fingerprint_parts(fingerprint)
    hits: dict[str, set[int]] = {}
    for old_fingerprint, (ids, _owners, _moved) in sorted(plan.stale.items()):
        before = fingerprint_parts(old_fingerprint)
        if current is None or before is None or before[0] != current[0]:
            continue
        text = conn.execute(select(codebook_versions.c.text).where(
            codebook_versions.c.matching_sha256.like(f"{before[1]}%"))
            .order_by(codebook_versions.c.id).limit(1)).scalar()
        if text is None:
            continue
        old = yaml.safe_load(text)
        codes = changed_pattern_codes(old, codebook.raw)
        if codes is None:
            continue

        def texts(ids=ids):
            for start in range(0, len(ids), 500):
                yield from conn.execute(SEGMENT_TEXTS, {"ids": list(ids[start:start + 500])})

        hits[old_fingerprint] = matching_segments(old, codebook.raw, codes,
                                                  (tuple(row) for row in texts()))
    return hits


def _refresh(plan: WorkPlan, hits: dict[str, set[int]]) -> dict[str, list[int]]:
    """Narrowed-away candidates that did not move, by old fingerprint (for
    `refresh_states`); those that moved go to `plan.refresh_moved`."""
    refresh: dict[str, list[int]] = {}
    for old_fingerprint, kept in hits.items():
        ids, _owners, moved = plan.stale[old_fingerprint]
        for segment_id in ids:
            if segment_id in kept:
                continue
            if segment_id in moved:
                plan.refresh_moved.add(segment_id)
            else:
                refresh.setdefault(old_fingerprint, []).append(segment_id)
    return refresh


SEGMENT_TEXTS = select(segments.c.id, segments.c.text).where(
    segments.c.id.in_(bindparam("ids", expanding=True)))


def _texts(store: Store, items: list[SegmentWork]) -> list[tuple[int, str]]:
    """(segment id, text) of the segments of one interview that need tagging."""
    wanted = [item.segment_id for item in items if item.tag]
    if not wanted:
        return []
    with store.read() as conn:
        texts = dict(conn.execute(SEGMENT_TEXTS, {"ids": wanted}).all())
    return [(segment_id, texts[segment_id]) for segment_id in wanted]


def _attach(codebook, items: list[SegmentWork], results: list[dict], store: Store) -> None:
    """Results onto the work items, then the codings each segment inherits from its
    interview (`pipeline.coding.section_context`: every segment of it was tagged)."""
    wanted = [item for item in items if item.tag]
    for item, result in zip(wanted, results, strict=True):
        item.result = result
        item.outputs = [code for code in result.get("codes", []) if usable(codebook, code)]
    add_context(store, codebook, items)


# Below this many segments to tag, starting worker processes costs more than it saves.
MIN_PARALLEL_SEGMENTS = 2000
# Interviews handed out ahead of the one being written, per worker.
AHEAD_PER_WORKER = 4


def _worker_count(workers: int | None, to_tag: int, interviews: int) -> int:
    """Processes to tag in: none (tag here) unless fork is available and it pays."""
    import multiprocessing
    import os
    import sys

    if workers is not None:
        wanted = workers
    else:
        wanted = (os.cpu_count() or 1) if to_tag >= MIN_PARALLEL_SEGMENTS else 0
    if wanted < 2 or interviews < 2 or not sys.platform.startswith("linux") \
            or "fork" not in multiprocessing.get_all_start_methods():
        return 0
    return min(wanted, interviews)


def _tagged(store: Store, tagger, codebook, order: list[int],
            items_of: Callable[[int], list[SegmentWork]], workers: int):
    """Each interview's work items in `order` (read by `items_of`), tagged.

    With workers, forked processes (sharing the tagger built here, copy-on-write) tag the
    next interviews and add their section context while the caller writes the current
    one (writing is as much work as both workers' tagging: the context is the share that
    moves); items come back in order. Work items and texts are read here, in this thread,
    a few interviews ahead, so memory stays flat.
    """
    if not workers:
        for interview_id in order:
            items = items_of(interview_id)
            records = _texts(store, items)
            if records:
                _attach(codebook, items, list(tagger.tag_records(records)), store)
            yield items
        return
    import multiprocessing
    from collections import deque

    global _WORKER_TAGGER, _WORKER_CODEBOOK
    _WORKER_TAGGER, _WORKER_CODEBOOK = tagger, codebook
    context = multiprocessing.get_context("fork")
    try:
        with context.Pool(workers, initializer=_worker_start, initargs=(store,)) as pool:
            pending: deque = deque()
            upcoming = iter(order)
            for _ in order:
                while len(pending) < workers * AHEAD_PER_WORKER:
                    interview_id = next(upcoming, None)
                    if interview_id is None:
                        break
                    items = items_of(interview_id)
                    records = _texts(store, items)
                    pending.append((items, pool.apply_async(_worker_tag, (items, records))
                                    if records else None))
                items, handle = pending.popleft()
                if handle is not None:
                    items = handle.get()
                yield items
    finally:
        _WORKER_TAGGER = _WORKER_CODEBOOK = None


# The parent's tagger and codebook and the store, inherited by forked workers
_WORKER_TAGGER = _WORKER_CODEBOOK = _WORKER_STORE = None


def _worker_start(store: Store) -> None:
    """In a forked worker (it opens its own connections to read the section context)."""
    global _WORKER_STORE
    store.in_forked_worker()
    _WORKER_STORE = store


def _worker_tag(items: list[SegmentWork], records: list[tuple[int, str]]) -> list[SegmentWork]:
    """One interview's items, tagged and with their section context (`_attach`)."""
    _attach(_WORKER_CODEBOOK, items, list(_WORKER_TAGGER.tag_records(records)), _WORKER_STORE)
    return items


def orphaned_total(conn) -> int:
    return conn.execute(select(func.count()).select_from(codings)
                        .join(segments, segments.c.id == codings.c.segment_id)
                        .where(orphaned_condition())).scalar() or 0


def orphaned_by_interview(conn) -> dict[int, int]:
    """Codings on retired segments, per interview (for `status`)."""
    return dict(conn.execute(select(codings.c.interview_id, func.count())
                             .select_from(codings)
                             .join(segments, segments.c.id == codings.c.segment_id)
                             .where(orphaned_condition())
                             .group_by(codings.c.interview_id)).all())
