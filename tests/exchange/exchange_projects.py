"""Projects built in code for the exchange tests, and the official schemas beside the repo."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

from lxml import etree

from pipeline.exchange.model import (
    Case,
    Code,
    CodeSet,
    Note,
    Project,
    Selection,
    TextSource,
    User,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = REPO_ROOT / ".." / "shared" / "refi-qda"
PROJECT_XSD = SCHEMA_DIR / "Project.xsd"
CODEBOOK_XSD = SCHEMA_DIR / "Codebook.xsd"

# Texts that break naive offset handling: accents precomposed and combining, emoji outside
# the BMP (with skin tone and ZWJ sequences, flags), Windows and old-Mac line breaks,
# non-breaking spaces, right-to-left and CJK scripts.
TEXTS = {
    "accents": "Na Câmara de São Paulo, a Secretária disse: «É preciso ação já».\n"
               "Zürich, Kraków, Malmö, Ålesund — façade, naïve, coöperate.",
    "emoji": "Welcome desk 👩🏽‍💼 opened 🎉; flags 🇵🇹🇳🇱 in the hall; 😀 then text.",
    "combining": "Cafe\u0301 re\u0301sume\u0301 pin\u0303ata, a\u0308 o\u0308 u\u0308 "
                 "and Z\u0327\u0301 stacked marks.",
    "crlf": "Q: What does the city offer?\r\nA: Language classes.\r\n\r\n"
            "Q: Who runs them?\r\nA: An NGO\rand the library.\r\n",
    "mixed": "مرحبا بكم\tin Rotterdam — 市民 classes\u00a0(free) 👍🏿\r\nend",
}


def spans(text: str) -> list[tuple[int, int]]:
    """Spans covering words, line breaks, single combining marks and emoji parts."""
    found = []
    start = None
    for index, char in enumerate(text + " "):
        if char.isspace() or char in ",.;:«»()—":
            if start is not None:
                found.append((start, index))
                start = None
        elif start is None:
            start = index
    crlf = text.find("\r\n")
    if crlf > 0:
        found.append((crlf - 2, crlf + 4))  # across a Windows line break
    found.append((0, len(text)))  # the whole text
    found.append((3, 3))  # an empty selection
    return sorted(set(found))


def sample_project(texts: dict[str, str] | None = None, *, reverse: bool = False) -> Project:
    """A small study: two coders and the unreviewed user, a code tree, one source per text
    with a case, selections over every span, notes with CR LF, sets per city."""
    texts = TEXTS if texts is None else texts
    users = [User("coder:ana", "Ana Sousa"), User("coder:ben", "Ben de Vries"),
             User("cityqda:unreviewed", "cityqda (unreviewed)")]
    social = Code("social", "Social", "Social inclusion: language, housing, health.",
                  "#1F77B4", notes=(Note("note:rule:social", "Rules: 12 patterns"),))
    codes = [
        Code("dimensions", "Dimensions", codable=False, children=(
            social,
            Code("economic", "Économique & <work>", "Jobs \"and\" training", "#abc"),
        )),
        Code("challenges", "Challenges", "Problems and gaps", children=(
            Code("challenge.housing", "Housing shortage"),
        )),
    ]
    leaves = ["social", "economic", "challenge.housing"]
    sources, selections, cases = [], [], []
    for n, (name, text) in enumerate(sorted(texts.items())):
        key = f"interview:{name}"
        city = "Lisbon" if n % 2 == 0 else "Rotterdam"
        sources.append(TextSource(
            key, f"{city[:3].upper()}-PM-{n:02d} {name}", text,
            variables={"city": city, "interview_date": dt.date(2021, 3, 1 + n),
                       "segments": 10 + n, "reviewed": n % 2 == 0},
            description=f"Summary transcript {name}"))
        cases.append(Case(f"case:{name}", f"{city[:3].upper()}-PM-{n:02d}",
                          variables={"city": city, "stakeholder_category": "policy_maker"},
                          sources=(key,)))
        for i, (start, end) in enumerate(spans(text)):
            coder = users[i % 3].key
            notes = ()
            if i % 4 == 0:
                notes = (Note(f"note:{name}:{i}", f"Evidence: {text[start:end]!r}\r\nline 2",
                              created_by=coder),)
            selections.append(Selection(
                f"coding:{name}:{i}", key, start, end, leaves[i % 3], coder=coder,
                created_by="cityqda:unreviewed" if coder == "cityqda:unreviewed" else coder,
                notes=notes))
    sets = [CodeSet("set:city:lisbon", "City: Lisbon",
                    sources=tuple(s.key for s in sources if s.variables["city"] == "Lisbon")),
            CodeSet("set:city:rotterdam", "City: Rotterdam",
                    sources=tuple(s.key for s in sources
                                  if s.variables["city"] == "Rotterdam")),
            CodeSet("set:dimensions", "Dimension codes", codes=("social", "economic"))]
    if reverse:
        users, sources, selections, cases, sets = (list(reversed(x)) for x in
                                                   (users, sources, selections, cases, sets))
    return Project(name="cityqda sample study", users=tuple(users), codes=tuple(codes),
                   sources=tuple(sources), selections=tuple(selections), cases=tuple(cases),
                   sets=tuple(sets), notes=(Note("note:project", "Exported for tests"),),
                   description="Coded summaries of stakeholder interviews",
                   created_by="coder:ana")


def schema(path: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(path)))


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def minimal_qde(body: str = "", *, head: str = "") -> bytes:
    """A project document around `body`, optionally with something before the root."""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n{head}'
            f'<Project xmlns="urn:QDA-XML:project:1.0" name="t">{body}</Project>\n'
            ).encode()
