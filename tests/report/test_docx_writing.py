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
