"""cityqda's YAML codebook as a REFI-QDA code tree (for `.qdpx` projects and `.qdc` files).

The tree has our two levels: each dimension with its subcodes, then the challenge group with
its challenges, in the codebook's order. A code's key is its id, so its GUID (UUID5 over the
id) is the same in every project and codebook export, and a codebook that went through
another tool and came back can be matched code by code (`from_qdc` uses that).

Other tools show a code's description to coders, so it carries the definition followed by
the include/exclude criteria and examples, in a layout `from_qdc` parses back.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.codebook.model import Code as CodebookCode
from pipeline.codebook.model import Codebook as YamlCodebook
from pipeline.exchange.model import Code, Codebook
from pipeline.exchange.qdpx_writer import ORIGIN

# Sections appended to a definition, in this order: (heading, Code attribute).
DESCRIPTION_SECTIONS = (("Include", "include"), ("Exclude", "exclude"),
                        ("Examples", "examples"), ("Counter-examples", "counter_examples"))

# One colour per dimension (colour-blind-safe palette), grey for challenges.
DIMENSION_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9",
                     "#F0E442")
CHALLENGE_COLOUR = "#7F7F7F"
RETIRED_SUFFIX = " (retired)"


def code_description(code: CodebookCode) -> str:
    parts = [code.definition.strip()]
    for heading, attribute in DESCRIPTION_SECTIONS:
        items = getattr(code, attribute)
        if items:
            parts.append(f"{heading}:\n" + "\n".join(f"- {item}" for item in items))
    return "\n\n".join(part for part in parts if part)


def _node(code: CodebookCode, colour: str | None, children: tuple[Code, ...] = (),
          codable: bool = True) -> Code:
    name = code.label + (RETIRED_SUFFIX if code.retired else "")
    return Code(key=code.id, name=name, description=code_description(code), color=colour,
                codable=codable, children=children)


def code_tree(codebook: YamlCodebook, *, include_retired: bool = True) -> tuple[Code, ...]:
    """Dimensions with their subcodes, then challenge groups with their challenges."""
    roots = []
    dimension_index = 0
    for code in codebook.codes:
        if code.parent is not None or (code.retired and not include_retired):
            continue
        kept = tuple(child for child in codebook.children(code.id)
                     if include_retired or not child.retired)
        if code.kind == "dimension":
            colour = DIMENSION_COLOURS[dimension_index % len(DIMENSION_COLOURS)]
            dimension_index += 1
        else:
            colour = CHALLENGE_COLOUR
        children = tuple(_node(child, colour) for child in kept)
        # a challenge group only groups; a dimension is itself a code coders may apply
        roots.append(_node(code, colour, children, codable=code.kind != "challenge_group"))
    return tuple(roots)


def codebook_to_qdc(codebook: YamlCodebook) -> Codebook:
    """The `.qdc` content of a codebook: its code tree without retired codes."""
    return Codebook(codes=code_tree(codebook, include_retired=False),
                    origin=f"{ORIGIN} (codebook {codebook.id} {codebook.version})")


def export_qdc(codebook: YamlCodebook, path) -> list:
    """Write the codebook as a `.qdc`; returns what it could not carry (CQ850 warnings)."""
    from pipeline.errors import CityQDAError, Problem
    from pipeline.exchange.qdc import write_qdc

    try:
        report = write_qdc(codebook_to_qdc(codebook), path)
    except OSError as exc:
        raise CityQDAError("CQ814", path=str(path), problem=exc.strerror or str(exc)) from exc
    retired = [code.id for code in codebook.codes if code.retired]
    if retired:
        report.append(Problem("CQ850", {"part": Path(path).name, "what": (
            f"retired code(s) {', '.join(retired)} (ids are never reused; a project export "
            "keeps them for the codings that use them)")}, file=str(path)))
    return report
