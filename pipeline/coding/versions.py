"""Codebook versions in the store: recorded, checked against history, fingerprinted.

Every codebook a `code` run uses is stored with its text. Before anything is coded the
codebook is checked against that history: the same version number with other matching
content (a changed pattern without a version bump) is refused, and so are codes that
codings still use but the codebook dropped without saying so, and ids the history ended
that come back as active codes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from pipeline import __version__
from pipeline.codebook.changes import (
    change_from,
    change_key,
    change_to,
    ended_codes,
    semver_key,
)
from pipeline.codebook.diff import diff_codebooks, matching_sha256
from pipeline.codebook.model import Codebook
from pipeline.errors import CityQDAError
from pipeline.store import record_event, utc_now
from pipeline.store.schema import codebook_changes, codebook_versions, codings

ACTOR = "cityqda"


def _package_version(name: str) -> str:
    try:
        return importlib_metadata.version(name)
    except importlib_metadata.PackageNotFoundError:
        return ""


@dataclass(frozen=True)
class CodebookSource:
    """A loaded codebook with the text it came from."""

    codebook: Codebook
    text: str
    path: str

    @classmethod
    def read(cls, codebook: Codebook) -> CodebookSource:
        raw = Path(codebook.source).read_bytes()
        if codebook.sha256 and hashlib.sha256(raw).hexdigest() != codebook.sha256:
            raise CityQDAError("CQ201", path=codebook.source,
                               problem="the file changed while it was read; run again")
        return cls(codebook, raw.decode("utf-8"), codebook.source)

    @property
    def matching_sha256(self) -> str:
        return matching_sha256(self.codebook.raw)


def coder_fingerprint(source: CodebookSource, extra: dict | None = None) -> str:
    """What decides the codings of a text: coder, spaCy and data versions, then the
    codebook's matching content (two parts, so a change of the codebook alone can be told
    from any other: see `pipeline.coding.narrow`).

    A segment coded under the same fingerprint with the same text is not coded again.
    The study coder's context rules (`section_context`) count among the coder's inputs.
    `extra` holds further inputs (the actor registry's hash, for instance).
    """
    from pipeline.coding.section_context import context_fingerprint

    others = {
        "cityqda": __version__,
        "spacy": _package_version("spacy"),
        "lookups": _package_version("spacy-lookups-data"),
        "context_rules": context_fingerprint(),
        **(extra or {}),
    }
    digest = hashlib.sha256(json.dumps(others, sort_keys=True).encode("utf-8")).hexdigest()
    return f"{digest[:16]}-{source.matching_sha256[:16]}"


def fingerprint_parts(fingerprint: str) -> tuple[str, str] | None:
    """(everything but the codebook, the codebook's matching content) of a fingerprint."""
    others, _, matching = fingerprint.partition("-")
    return (others, matching) if matching else None


def _next_version(version: str) -> str:
    key = semver_key(version)
    if key is None:
        return "a new version"
    return f"{key[0]}.{key[1]}.{key[2] + 1}" if key[3] else f"{key[0]}.{key[1]}.{key[2]}"


def check_against_store(conn: Connection, source: CodebookSource) -> None:
    """Refuse a codebook that contradicts the store's history (CQ401, CQ402, CQ403)."""
    codebook = source.codebook
    import yaml

    same_version = conn.execute(
        select(codebook_versions.c.sha256, codebook_versions.c.matching_sha256,
               codebook_versions.c.text)
        .where(codebook_versions.c.codebook_id == codebook.id,
               codebook_versions.c.version == codebook.version)
        .order_by(codebook_versions.c.id)).all()
    for row in same_version:
        if row.sha256 != codebook.sha256 and row.matching_sha256 != source.matching_sha256:
            what = diff_codebooks(yaml.safe_load(row.text), codebook.raw).summary()
            raise CityQDAError("CQ401", file=source.path,
                               version=codebook.version, what=what,
                               suggested=_next_version(codebook.version))

    ended: dict[str, tuple[str, str]] = {}
    for row in conn.execute(select(codebook_changes.c.version, codebook_changes.c.kind,
                                   codebook_changes.c.from_codes, codebook_changes.c.to_codes)
                            .where(codebook_changes.c.codebook_id == codebook.id)
                            .order_by(codebook_changes.c.id)):
        entry = {"kind": row.kind, "from": json.loads(row.from_codes),
                 "to": json.loads(row.to_codes)}
        for code in ended_codes(entry):
            ended.setdefault(code, (row.version, f"{row.kind} it"))
    for code in codebook.codes:
        if not code.retired and code.id in ended:
            version, how = ended[code.id]
            raise CityQDAError("CQ403", file=source.path, code_id=code.id,
                               version=version, how=how)

    explained = {code.id for code in codebook.codes}
    for entry in codebook.changes:
        explained.update(ended_codes(entry))
    explained.update(ended)
    # Every code any coding uses comes from the code index alone (fast); only a code the
    # codebook does not explain is looked up among the codings that were not merged.
    used = conn.execute(select(codings.c.code).distinct()).scalars().all()
    unexplained = [code for code in sorted(set(used) - explained) if conn.execute(
        select(codings.c.code).where(codings.c.code == code, codings.c.merged_into.is_(None))
        .limit(1)).first() is not None]
    if unexplained:
        raise CityQDAError("CQ402", file=source.path,
                           codes=", ".join(unexplained))


def record_version(conn: Connection, source: CodebookSource, run_id: int | None) -> bool:
    """Store this codebook version's text once; True when it was new."""
    codebook = source.codebook
    known = conn.execute(select(codebook_versions.c.id)
                         .where(codebook_versions.c.sha256 == codebook.sha256)).first()
    if known is not None:
        return False
    conn.execute(insert(codebook_versions).values(
        codebook_id=codebook.id, version=codebook.version, sha256=codebook.sha256,
        matching_sha256=source.matching_sha256, text=source.text, first_used_at=utc_now(),
        first_run=run_id))
    record_event(conn, actor=ACTOR, kind="codebook.version_used", entity="codebook_versions",
                 entity_key=f"{codebook.id}@{codebook.version}",
                 new={"version": codebook.version, "sha256": codebook.sha256},
                 source="code", run_id=run_id)
    return True


def applied_change_keys(conn: Connection, codebook_id: str) -> set[str]:
    return set(conn.execute(select(codebook_changes.c.change_key)
                            .where(codebook_changes.c.codebook_id == codebook_id)).scalars())


def record_change(conn: Connection, codebook_id: str, entry: dict, touched: int,
                  run_id: int | None) -> None:
    conn.execute(insert(codebook_changes).values(
        codebook_id=codebook_id, change_key=change_key(entry),
        version=str(entry.get("version")), kind=entry["kind"],
        from_codes=json.dumps(change_from(entry)), to_codes=json.dumps(change_to(entry)),
        note=entry.get("note"), codings=touched, applied_at=utc_now(), run_id=run_id))
