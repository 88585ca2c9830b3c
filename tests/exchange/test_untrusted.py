"""The XML guard's two lines: the DTD scan before parsing and the parser that never resolves."""

from __future__ import annotations

import io

import pytest
from exchange_projects import minimal_qde
from lxml import etree

from pipeline.errors import CityQDAError
from pipeline.exchange import untrusted

XXE = '<!DOCTYPE Project [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'


def test_untrusted_doctype_in_utf32_is_caught_after_parsing():
    # The byte scan cannot see "<!DOCTYPE" in UTF-32; the parsed document's DTD gives it away.
    raw = minimal_qde("<Description>&secret;</Description>", head=XXE).decode().replace(
        'encoding="UTF-8"', 'encoding="UTF-32"').encode("utf-32")
    with pytest.raises(CityQDAError) as caught:
        untrusted.parse_xml(raw, "in.qdpx", "project.qde")
    assert caught.value.code == "CQ805"


def test_untrusted_parser_never_resolves_external_entities():
    raw = minimal_qde("<Description>&secret;</Description>", head=XXE)
    tree = etree.parse(io.BytesIO(raw), untrusted._parser())
    assert tree.getroot()[0].text is None  # the entity stayed a reference, nothing was read


@pytest.mark.parametrize(("name", "problem"), [
    ("sources/a.txt", None), ("Sources/ü ñ.txt", None), ("..", "climbs"),
    ("a/../../b", "climbs"), ("/abs", "absolute"), ("\\\\server\\share", "absolute"),
    ("d:evil", "absolute"), ("nul\x00byte", "NUL"),
])
def test_untrusted_member_names(name, problem):
    found = untrusted.unsafe_name_problem(name)
    assert (found is None) if problem is None else (problem in found)
