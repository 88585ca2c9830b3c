"""REFI-QDA codebooks: valid output, the tree read back, a report of what was not carried."""

from __future__ import annotations

import pytest
from exchange_projects import CODEBOOK_XSD, sample_project, schema
from lxml import etree

from pipeline.errors import CityQDAError
from pipeline.exchange.model import Code, Codebook, CodeSet, Note
from pipeline.exchange.qdc import codebook_xml, read_qdc, write_qdc
from pipeline.exchange.untrusted import Limits


def tree(codes):
    return [(c.name, c.description, c.color, c.codable, tree(c.children)) for c in codes]


def sample_codebook() -> Codebook:
    return Codebook(codes=sample_project().codes,
                    sets=(CodeSet("set:dims", "Dimension codes", codes=("social", "economic"),
                                  description="The five dimensions"),))


def test_qdc_written_codebook_validates_and_reads_back(tmp_path):
    original = sample_codebook()
    path = tmp_path / "codebook.qdc"
    report = write_qdc(original, path)
    assert schema(CODEBOOK_XSD).validate(etree.parse(str(path)))
    result = read_qdc(path)
    assert result.problems == []
    assert tree(result.codebook.codes) == tree(original.codes)
    (code_set,) = result.codebook.sets
    names = {c.key: c.name for c in _walk(result.codebook.codes)}
    assert [names[k] for k in code_set.codes] == ["Économique & <work>", "Social"]
    assert code_set.description == "The five dimensions"
    # the only thing a codebook cannot hold here: the note on Social
    assert [p.code for p in report] == ["CQ850"]
    assert "note(s) on code 'Social'" in report[0].render()
    assert report[0].file == str(path)


def _walk(codes):
    for code in codes:
        yield code
        yield from _walk(code.children)


def test_qdc_is_byte_identical_across_writes(tmp_path):
    write_qdc(sample_codebook(), tmp_path / "a.qdc")
    write_qdc(sample_codebook(), tmp_path / "b.qdc")
    assert (tmp_path / "a.qdc").read_bytes() == (tmp_path / "b.qdc").read_bytes()


def test_qdc_reads_another_tools_codebook(tmp_path):
    # Braced upper-case GUIDs, codes without isCodable, a set member that is no code,
    # an element cityqda does not know.
    text = """<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="Other QDA 2.0">
  <Codes>
    <Code guid="{5F1C0000-0000-4000-8000-000000000001}" name="Integration" isCodable="false">
      <Description>Top level</Description>
      <Code guid="{5F1C0000-0000-4000-8000-000000000002}" name="Language courses"
            isCodable="true" color="#00FF00"/>
      <Code guid="{5F1C0000-0000-4000-8000-000000000003}" name="Mentoring"/>
    </Code>
  </Codes>
  <Sets>
    <Set guid="5f1c0000-0000-4000-8000-000000000010" name="Favourites">
      <MemberCode guid="5f1c0000-0000-4000-8000-000000000002"/>
      <MemberCode guid="5f1c0000-0000-4000-8000-0000000000ff"/>
    </Set>
  </Sets>
  <Extension>vendor data</Extension>
</CodeBook>
"""
    path = tmp_path / "other.qdc"
    path.write_text(text, encoding="utf-8")
    result = read_qdc(path)
    assert tree(result.codebook.codes) == [
        ("Integration", "Top level", None, False, [
            ("Language courses", "", "#00FF00", True, []),
            ("Mentoring", "", None, True, [])])]
    assert result.codebook.origin == "Other QDA 2.0"
    assert [len(s.codes) for s in result.codebook.sets] == [1]
    rendered = "\n".join(p.render() for p in result.problems)
    assert "0000000000ff is not a code" in rendered and "element Extension" in rendered


@pytest.mark.parametrize(("text", "code"), [
    ('<?xml version="1.0"?><!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/hosts">]>'
     '<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes/></CodeBook>', "CQ805"),
    ('<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>', "CQ806"),
    ('<Project xmlns="urn:QDA-XML:project:1.0" name="p"/>', "CQ807"),
    ('<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes/></CodeBook>', "CQ808"),
    ('<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes><Code name="x" isCodable="true"/>'
     '</Codes></CodeBook>', "CQ808"),
], ids=["xxe", "truncated", "project-not-codebook", "no-codes", "no-guid"])
def test_qdc_refuses_hostile_or_broken_codebooks(tmp_path, text, code):
    path = tmp_path / "bad.qdc"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CityQDAError) as caught:
        read_qdc(path)
    assert caught.value.code == code


def test_qdc_refuses_oversized_codebooks(tmp_path):
    path = tmp_path / "big.qdc"
    write_qdc(sample_codebook(), path)
    with pytest.raises(CityQDAError) as caught:
        read_qdc(path, limits=Limits(max_file_bytes=200))
    assert caught.value.code == "CQ803"


def test_qdc_reports_sources_in_sets_and_refuses_an_empty_tree():
    book = Codebook(codes=(Code("a", "A", notes=(Note("n", "memo"),)),),
                    sets=(CodeSet("s", "S", sources=("interview:1",)),))
    data, report = codebook_xml(book)
    assert schema(CODEBOOK_XSD).validate(etree.fromstring(data))
    assert sorted(p.fields["what"][:6] for p in report) == ["1 note", "set 'S"]
    with pytest.raises(ValueError):
        codebook_xml(Codebook(codes=()))
