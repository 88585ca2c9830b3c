"""DOCX helpers: Markdown openings, safe text, deterministic saving."""

from __future__ import annotations

import docx

from pipeline.report.docx_writing import add_markdown, new_document, safe_text, save_deterministic


def paragraphs(path):
    return [(p.style.name, p.text) for p in docx.Document(str(path)).paragraphs]


def test_docx_writing_markdown_headings_lists_and_paragraphs(tmp_path):
    document = new_document("t")
    add_markdown(document, "# Context\r\n\nA *first*\nline with `code` and [a link](http://x).\n"
                 "\n## Sub ##\n- one\n* two\n1. first\n\nplain <b>html</b>\n")
    path = tmp_path / "t.docx"
    save_deterministic(document, path)
    assert paragraphs(path) == [("Heading 2", "Context"),
                                ("Normal", "A first line with code and a link."),
                                ("Heading 3", "Sub"), ("List Bullet", "one"),
                                ("List Bullet", "two"), ("List Number", "first"),
                                ("Normal", "plain <b>html</b>")]


def test_docx_writing_safe_text_keeps_words_and_marks_control_characters(tmp_path):
    assert safe_text("a\x00b\tc\x0bd") == "a\ufffdb\tc\ufffdd"
    document = new_document("t")
    document.add_paragraph(safe_text("bell\x07"))
    save_deterministic(document, tmp_path / "t.docx")
    assert paragraphs(tmp_path / "t.docx") == [("Normal", "bell\ufffd")]


def test_docx_writing_same_content_same_bytes(tmp_path):
    for name in ("a.docx", "b.docx"):
        document = new_document("Lisbon")
        document.add_heading("Lisbon", level=1)
        save_deterministic(document, tmp_path / name)
    assert (tmp_path / "a.docx").read_bytes() == (tmp_path / "b.docx").read_bytes()
    properties = docx.Document(str(tmp_path / "a.docx")).core_properties
    assert (properties.author, properties.created.year, properties.revision) == ("cityqda",
                                                                                 2000, 1)


def test_docx_writing_text_body_equals_what_python_docx_writes(tmp_path):
    """ReportDocument writes body XML as text; the saved file must be the one python-docx's
    own calls make (headings, styled paragraphs, bold and italic runs, tabs, line breaks,
    outer spaces, markup characters, empty text), around a table python-docx inserts."""
    from pipeline.report.docx_writing import add_box, add_heading, add_paragraph, add_runs

    texts = ["plain", " lead and trail ", "tab\there", "two\nlines\r\nend", "", "a & <b> \"q\""]
    ours = new_document("t")
    theirs = new_document("t").document  # the python-docx Document, same settings
    for text in texts:
        add_heading(ours, text, level=2)
        theirs.add_paragraph(text, theirs.styles["Heading 2"])
        add_paragraph(ours, text, italic=True)
        paragraph = theirs.add_paragraph()
        if text:
            run = paragraph.add_run(text)
            run.bold, run.italic = None, True
        add_runs(add_paragraph(ours, style="Quote"), [(text, "bi"), (text, ""), (text, "i")])
        paragraph = theirs.add_paragraph(style=theirs.styles["Quote"])
        for style in ("bi", "", "i"):
            run = paragraph.add_run(text)
            if "b" in style:
                run.bold = True
            if "i" in style:
                run.italic = True
        if text == "plain":
            add_box(ours, "Box", ["one"])
            table = theirs.add_table(rows=1, cols=1)
            table.style = theirs.styles["Table Grid"]
            from docx.oxml import OxmlElement
            from docx.oxml.ns import qn
            from docx.shared import Pt

            cell = table.rows[0].cells[0]
            shading = OxmlElement("w:shd")
            for name, value in (("w:val", "clear"), ("w:color", "auto"), ("w:fill", "FFF4D6")):
                shading.set(qn(name), value)
            cell._tc.get_or_add_tcPr().append(shading)
            cell.paragraphs[0].add_run("Box").bold = True
            cell.add_paragraph().add_run("one").font.size = Pt(9)
    save_deterministic(ours, tmp_path / "ours.docx")
    save_deterministic(theirs, tmp_path / "theirs.docx")
    assert (tmp_path / "ours.docx").read_bytes() == (tmp_path / "theirs.docx").read_bytes()
