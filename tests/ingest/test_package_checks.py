"""Unsafe or unreadable files are refused before anything parses them."""

from __future__ import annotations

import pytest
from failing_files import FAILURES, valid_docx

from pipeline.errors import ERRORS, CityQDAError
from pipeline.ingest.docx_reader import read_docx


@pytest.mark.parametrize("name", sorted(FAILURES))
def test_package_checks_refuse_with_their_code(name):
    file_name, build, code = FAILURES[name]
    with pytest.raises(CityQDAError) as caught:
        read_docx(build(), file_name)
    assert caught.value.code == code
    assert ERRORS[code].exit_code == 1
    assert caught.value.problems[0].file == file_name


def test_package_checks_rtf_names_the_disguise():
    with pytest.raises(CityQDAError) as caught:
        read_docx(FAILURES["rtf_renamed"][1](), "rich.doc")
    assert "saved under a .doc name" in caught.value.render()


def test_package_checks_strict_open_xml_is_named_not_called_damaged():
    with pytest.raises(CityQDAError) as caught:
        read_docx(FAILURES["strict_ooxml"][1](), "strict.docx")
    assert "Strict Open XML" in caught.value.render()
    assert "damaged" not in caught.value.problems[0].message.replace("not damaged", "")


def test_package_checks_external_entity_is_never_resolved(tmp_path, monkeypatch):
    """The refusal comes before any parser could open the entity's target."""
    opened = []
    real_open = open

    def spy(path, *args, **kwargs):
        opened.append(str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", spy)
    with pytest.raises(CityQDAError):
        read_docx(FAILURES["external_entity"][1](), "xxe.docx")
    assert "/etc/passwd" not in opened


def test_package_checks_accept_an_ordinary_document():
    assert read_docx(valid_docx(), "ok.docx").plain == "A perfectly ordinary answer."


@pytest.mark.parametrize("xml, declares", [
    (b'<?xml version="1.0"?><w:document/>', False),
    (b'<?xml version="1.0"?>\n<!-- ' + b"x" * 20000 + b' -->\n<!DOCTYPE d [<!ENTITY e "x">]><d/>',
     True),
    (b"\xef\xbb\xbf<?xml version='1.0'?><?pi data?>  <!DOCTYPE d SYSTEM 'http://x'><d/>", True),
    ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE d><d/>'.encode("utf-16"), True),
    (b'<?xml version="1.0"?><d>&lt;!DOCTYPE in text is fine&gt;</d>', False),
    (b"", False),
])
def test_package_checks_prolog_scan(xml, declares):
    import io

    from pipeline.ingest.package_checks import _prolog_declares_dtd

    assert _prolog_declares_dtd(io.BytesIO(xml)) is declares
