"""The codebook for people: a text tree, a JSON object, and XLSX/CSV exports for coders.

Exports are deterministic (fixed order, fixed document dates) and written beside the target
then renamed, so a failed export never leaves half a file.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path

from pipeline.codebook.model import Code, Codebook
from pipeline.errors import CityQDAError

CODE_COLUMNS = ("id", "kind", "parent", "dimension", "label", "definition", "include",
                "exclude", "examples", "counter_examples", "patterns")


def codebook_dict(codebook: Codebook) -> dict:
    """Everything a coder or a script needs, in codebook order."""
    return {
        "id": codebook.id,
        "title": codebook.title,
        "version": codebook.version,
        "sha256": codebook.sha256,
        "source": codebook.source,
        "codes": [code_dict(codebook, code) for code in codebook.codes],
        "rules": [{"id": r.id, "type": r.type, "label": r.label, "reason": r.reason,
                   "from": list(r.sources), "to": r.target, "services": list(r.services),
                   "patterns": list(r.patterns)} for r in codebook.rules],
        "cues": [{"id": c.id, "type": c.type, "direction": c.direction, "window": c.window,
                  "phrases": list(c.phrases)} for c in codebook.context.cues],
    }


def code_dict(codebook: Codebook, code: Code) -> dict:
    return {
        "id": code.id,
        "kind": code.kind,
        "parent": code.parent,
        "dimension": codebook.dimension_of(code.id),
        "label": code.label,
        "definition": code.definition,
        "include": list(code.include),
        "exclude": list(code.exclude),
        "examples": list(code.examples),
        "counter_examples": list(code.counter_examples),
        "patterns": [{"id": p.id, "role": p.role or None, "when": list(p.when) or None,
                      "phrases": list(p.phrases), "tokens": list(p.tokens) or None}
                     for p in code.patterns],
        "derive": [{"id": d.id, "from": list(d.sources), "when": list(d.when)}
                   for d in code.derive],
    }


def render_tree(codebook: Codebook) -> list[str]:
    """Indented lines: dimensions with their subcodes, then challenges, then rules."""
    lines = [f"{codebook.title} ({codebook.id} {codebook.version})"]

    def add(code: Code, depth: int) -> None:
        patterns = len(code.patterns)
        suffix = f"  [{patterns} pattern{'s' if patterns != 1 else ''}]" if patterns else ""
        lines.append(f"{'  ' * depth}{code.id}: {code.label}{suffix}")
        for child in codebook.children(code.id):
            add(child, depth + 1)

    for root in codebook.children(None):
        add(root, 1)
    if codebook.rules:
        lines.append("  rules:")
        for rule in codebook.rules:
            lines.append(f"    {rule.id} ({rule.type}): {rule.label}")
    return lines


def _joined(items) -> str:
    return "\n".join(items)


def _patterns_text(code: Code) -> str:
    parts = []
    for pattern in code.patterns:
        head = pattern.id
        if pattern.role:
            head += f" ({pattern.role})"
        if pattern.when:
            head += f" (when: {', '.join(pattern.when)})"
        body = "; ".join(pattern.phrases) if pattern.phrases else repr(list(pattern.tokens))
        parts.append(f"{head}: {body}")
    for derivation in code.derive:
        parts.append(f"{derivation.id}: from {', '.join(derivation.sources)} "
                     f"(when: {', '.join(derivation.when)})")
    return "\n".join(parts)


def code_rows(codebook: Codebook, quality: dict | None = None) -> list[list[str]]:
    """One row per code; `quality` ({"columns", "codes": {id: values}}, from
    pipeline.review.rule_quality) adds how well each code's rules did in review."""
    rows = []
    extra = len(quality["columns"]) if quality else 0
    for code in codebook.codes:
        rows.append([code.id, code.kind, code.parent or "", codebook.dimension_of(code.id) or "",
                     code.label, code.definition, _joined(code.include), _joined(code.exclude),
                     _joined(code.examples), _joined(code.counter_examples),
                     _patterns_text(code)]
                    + (list(quality["codes"].get(code.id) or [None] * extra) if quality else []))
    return rows


def _code_header(quality: dict | None) -> list[str]:
    return list(CODE_COLUMNS) + (list(quality["columns"]) if quality else [])


def _replace_atomically(out: Path, write) -> None:
    out = Path(out)
    if not out.parent.is_dir():
        raise CityQDAError("CQ212", path=str(out), problem="its folder does not exist")
    handle, temp = tempfile.mkstemp(prefix=".cityqda-", suffix=out.suffix, dir=out.parent)
    os.close(handle)
    try:
        write(Path(temp))
        os.chmod(temp, 0o644)
        os.replace(temp, out)
    except OSError as exc:
        raise CityQDAError("CQ212", path=str(out), problem=exc.strerror or str(exc)) from exc
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


def export_csv(codebook: Codebook, out: str | Path, quality: dict | None = None) -> None:
    """One row per code (UTF-8 with BOM so Excel opens it right)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(_code_header(quality))
    writer.writerows(code_rows(codebook, quality))
    data = ("\ufeff" + buffer.getvalue()).encode("utf-8")
    _replace_atomically(Path(out), lambda path: path.write_bytes(data))


def export_xlsx(codebook: Codebook, out: str | Path, quality: dict | None = None) -> None:
    """Sheets Codes, Rules and Cues; text cells only, wrapped, header frozen."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    from pipeline.xlsx_determinism import normalise_ooxml_zip

    workbook = Workbook()
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")

    def fill(sheet, header, rows, widths):
        sheet.append(list(header))
        for cell in sheet[1]:
            cell.font = bold
        for row in rows:
            sheet.append(list(row))
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, str) and cell.data_type == "f":
                    cell.data_type = "s"  # text that starts with '=' stays text
                cell.alignment = wrap
        for index, width in enumerate(widths, start=1):
            sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = width
        sheet.freeze_panes = "B2"

    codes = workbook.active
    codes.title = "Codes"
    fill(codes, _code_header(quality), code_rows(codebook, quality),
         (34, 14, 20, 18, 28, 60, 45, 45, 50, 50, 80)
         + ((12, 10, 10, 10, 60) if quality else ()))
    rules = workbook.create_sheet("Rules")
    fill(rules, ("id", "type", "label", "reason", "from", "to", "context"),
         [[r.id, r.type, r.label, r.reason, ", ".join(r.sources), r.target or "",
           "; ".join(r.context or r.phrases or r.heads or r.services or r.patterns)]
          for r in codebook.rules],
         (8, 14, 40, 60, 40, 34, 80))
    cues = workbook.create_sheet("Cues")
    fill(cues, ("id", "type", "direction", "window", "phrases"),
         [[c.id, c.type, c.direction, str(c.window), "; ".join(c.phrases)]
          for c in codebook.context.cues],
         (22, 14, 12, 8, 120))
    about = workbook.create_sheet("About")
    fill(about, ("field", "value"),
         [["codebook", codebook.id], ["title", codebook.title], ["version", codebook.version],
          ["sha256", codebook.sha256]], (14, 80))

    def write(path: Path) -> None:
        workbook.save(path)
        normalise_ooxml_zip(path)

    _replace_atomically(Path(out), write)
