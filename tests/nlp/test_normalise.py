"""The matching copy of a text and the way back to original offsets."""

import pytest

from pipeline.nlp.normalise import normalise

# (original, normalised)
CASES = [
    ("plain text stays", "plain text stays"),
    ("non\u00a0breaking and thin\u2009spaces", "non breaking and thin spaces"),
    ("soft\u00adhyphen and zero\u200bwidth", "softhyphen and zerowidth"),
    ("\u201ccurly\u201d \u2018quotes\u2019", "\"curly\" 'quotes'"),
    ("ellipsis\u2026 here", "ellipsis... here"),
    ("line one\r\nLine two\r", "line one\nLine two\n"),
    ("a soft\nwrap in a sentence", "a soft wrap in a sentence"),
    ("A heading\nStarts anew", "A heading\nStarts anew"),
    ("Ends here.\nnext line", "Ends here.\nnext line"),
    ("cafe\u0301 and Bogota\u0301", "caf\u00e9 and Bogot\u00e1"),
    ("anti\u2011discrimination", "anti-discrimination"),
    ("emoji \U0001f44b\U0001f3fd stay", "emoji \U0001f44b\U0001f3fd stay"),
]


@pytest.mark.parametrize("original, expected", CASES, ids=[c[1][:20] for c in CASES])
def test_normalise_text(original, expected):
    assert normalise(original).text == expected


@pytest.mark.parametrize("original, _", CASES, ids=[c[1][:20] for c in CASES])
def test_normalise_maps_every_character_back(original, _):
    norm = normalise(original)
    previous_end = 0
    for index, char in enumerate(norm.text):
        start, end = norm.to_original(index, index + 1)
        assert previous_end <= end and start < end <= len(original)
        if char != " ":  # a space may stand for a soft line break
            assert char in normalise(original[start:end]).text
        previous_end = end
    assert norm.to_original(0, len(norm.text)) == (0, len(original.rstrip("\u00ad\u200b")))


def test_normalise_unchanged_text_has_no_map():
    norm = normalise("nothing special here")
    assert norm.starts is None
    assert norm.to_original(3, 7) == (3, 7)


def test_normalise_word_offsets_point_at_the_word():
    original = "The \u201cWelcome\u00a0Desk\u201d\u2026 caf\u0065\u0301 opens\r\n"
    norm = normalise(original)
    start = norm.text.index("Welcome Desk")
    a, b = norm.to_original(start, start + len("Welcome Desk"))
    assert original[a:b] == "Welcome\u00a0Desk"
    start = norm.text.index("caf\u00e9")
    a, b = norm.to_original(start, start + 4)
    assert original[a:b] == "cafe\u0301"
