"""A neutral model of what cityqda exchanges with other QDA tools through REFI-QDA.

It knows nothing of the store or of our YAML codebook: the store-wiring code fills it from
interviews, codings and decisions, the writer turns it into a `.qdpx` or `.qdc`, and the
reader turns any such file (ours or another tool's) back into it.

Identity: every entity carries a `key`, a string that is stable across exports (an interview
id, a code id, a coding id...). The writer derives the REFI-QDA GUID from it as a UUID version 5
(`guid_for`), so the same study exported twice gives the same GUIDs and other tools can match
re-imported items. An entity read from a file gets its GUID as both `key` and `guid`, and an
explicit `guid` always wins over the derived one.

Offsets: `Selection.start`/`end` are Unicode code points into `TextSource.text`, end exclusive,
exactly as cityqda stores them (`text[start:end]` is the coded text).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

# Fixed once and for all: changing it changes every GUID cityqda has ever exported.
CITYQDA_NAMESPACE = uuid.UUID("6f1c3a52-8d0e-5b7a-9c41-2e5d7f0a9b13")

VariableValue = str | bool | int | float | Decimal | dt.date | dt.datetime


_NAMESPACE_BYTES = CITYQDA_NAMESPACE.bytes


def guid_for(kind: str, key: str, guid: str | None = None) -> str:
    """The GUID of an entity: its explicit `guid`, else UUID5 over (kind, key).

    Computed as RFC 4122 says (SHA-1 of namespace and name, version and variant bits set),
    the same string `uuid.uuid5` gives, without building UUID objects: a large export
    derives several hundred thousand GUIDs.
    """
    if guid:
        return guid
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + f"{kind}\x1f{key}".encode(),
                                    usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass(frozen=True)
class User:
    """A person or program that made or decided codings (a coder, `cityqda (unreviewed)`)."""

    key: str
    name: str
    guid: str | None = None


@dataclass(frozen=True)
class Note:
    """A memo: a comment on a coding, the evidence of a suggestion, a note on a code."""

    key: str
    text: str
    name: str = ""
    created_by: str | None = None  # User.key
    guid: str | None = None


@dataclass(frozen=True)
class Code:
    """A node of the code tree; `codable` False marks a grouping node nobody codes with."""

    key: str
    name: str
    description: str = ""
    color: str | None = None  # "#RRGGBB" or "#RGB"
    codable: bool = True
    children: tuple[Code, ...] = ()
    notes: tuple[Note, ...] = ()
    guid: str | None = None

    def walk(self) -> Iterator[Code]:
        """This code and all its descendants, depth first in tree order."""
        yield self
        for child in self.children:
            yield from child.walk()


def walk_codes(codes: tuple[Code, ...] | list[Code]) -> Iterator[Code]:
    for code in codes:
        yield from code.walk()


@dataclass(frozen=True)
class Selection:
    """A coded span of a text source: one code applied by one coder.

    `created_by` is who made the span (a rule's user for suggestions, the coder for manual
    codings); `coder` is who applied the code to it (the coder who accepted or made it).
    """

    key: str
    source: str  # TextSource.key
    start: int
    end: int
    code: str  # Code.key
    coder: str | None = None  # User.key
    created_by: str | None = None  # User.key
    name: str = ""  # a label; the writer uses the coded text when empty
    notes: tuple[Note, ...] = ()
    guid: str | None = None  # of the PlainTextSelection
    coding_guid: str | None = None  # of the Coding inside it


@dataclass(frozen=True)
class TextSource:
    """A document coded as plain text (an interview's stored plain text)."""

    key: str
    name: str
    text: str
    variables: dict[str, VariableValue] = field(default_factory=dict)
    description: str = ""
    created_by: str | None = None  # User.key
    notes: tuple[Note, ...] = ()
    guid: str | None = None


@dataclass(frozen=True)
class Case:
    """A unit of analysis with attributes (one per interview), linked to its sources."""

    key: str
    name: str
    variables: dict[str, VariableValue] = field(default_factory=dict)
    sources: tuple[str, ...] = ()  # TextSource.key
    description: str = ""
    guid: str | None = None


@dataclass(frozen=True)
class CodeSet:
    """A named group of sources and/or codes (sources per city, per category)."""

    key: str
    name: str
    sources: tuple[str, ...] = ()  # TextSource.key
    codes: tuple[str, ...] = ()  # Code.key
    description: str = ""
    guid: str | None = None


@dataclass(frozen=True)
class Project:
    """Everything one `.qdpx` carries."""

    name: str
    users: tuple[User, ...] = ()
    codes: tuple[Code, ...] = ()
    sources: tuple[TextSource, ...] = ()
    selections: tuple[Selection, ...] = ()
    cases: tuple[Case, ...] = ()
    sets: tuple[CodeSet, ...] = ()
    notes: tuple[Note, ...] = ()  # notes on the project as a whole
    description: str = ""
    origin: str = ""  # the tool that wrote it; the writer fills in cityqda's version
    created_by: str | None = None  # User.key


@dataclass(frozen=True)
class Codebook:
    """What one `.qdc` carries: a code tree (and sets of codes)."""

    codes: tuple[Code, ...]
    sets: tuple[CodeSet, ...] = ()
    origin: str = ""
