"""Loading cityqda.toml: a study is refused clearly when the file is missing or wrong."""

import pytest

from pipeline.errors import CityQDAError
from pipeline.study import DEFAULT_VOCABULARIES, load_study

GOOD = """
[study]
name = "lisbon"
[paths]
transcripts = "docs/interviews"
[[coders]]
id = "ana"
role = "coder"
[[coders]]
id = "pi"
role = "adjudicator"
"""


def test_study_loads_paths_relative_to_the_study(tmp_path):
    (tmp_path / "cityqda.toml").write_text(GOOD)
    study = load_study(tmp_path)
    assert study.name == "lisbon"
    assert study.path("transcripts") == (tmp_path / "docs" / "interviews").resolve()
    assert study.path("codebook").name == "integration_policy.yaml"
    assert [c.role for c in study.coders] == ["coder", "adjudicator"]
    assert study.vocabularies["categories"] == DEFAULT_VOCABULARIES["categories"]
    assert study.store_path == tmp_path.resolve() / "cityqda.sqlite"


@pytest.mark.parametrize("encoded", [
    GOOD.encode("utf-8-sig"),  # Notepad's "UTF-8 with BOM"
    GOOD.replace("\n", "\r\n").encode("utf-8"),
])
def test_study_reads_a_config_saved_by_windows_editors(tmp_path, encoded):
    (tmp_path / "cityqda.toml").write_bytes(encoded)
    study = load_study(tmp_path)
    assert study.name == "lisbon" and [c.id for c in study.coders] == ["ana", "pi"]


def test_study_refuses_a_folder_without_config(tmp_path):
    with pytest.raises(CityQDAError) as info:
        load_study(tmp_path)
    assert info.value.code == "CQ001"
    assert "cityqda init" in info.value.render()
    assert info.value.exit_code == 2


@pytest.mark.parametrize("text, code, where", [
    ("[study\nname = 1", "CQ004", "cityqda.toml"),
    ("[paths]\ntranscript = 'x'", "CQ003", "paths.transcript"),
    ("[[coders]]\nid = 'a'\nrole = 'boss'", "CQ003", "coders[1].role"),
    ("[[coders]]\nid = 'a'\n[[coders]]\nid = 'a'", "CQ003", "coders[2].id"),
    ("[[coders]]\nname = 'no id'", "CQ003", "coders[1].id"),
    ("[vocabularies]\ncategories = []", "CQ003", "vocabularies.categories"),
    ("[study]\nname = ''", "CQ003", "study.name"),
])
def test_study_reports_the_bad_field(tmp_path, text, code, where):
    (tmp_path / "cityqda.toml").write_text(text)
    with pytest.raises(CityQDAError) as info:
        load_study(tmp_path)
    assert info.value.code == code
    assert where in info.value.render()


def test_study_unknown_coder_names_the_known_ones(tmp_path):
    (tmp_path / "cityqda.toml").write_text(GOOD)
    with pytest.raises(CityQDAError) as info:
        load_study(tmp_path).coder("zoe")
    assert info.value.code == "CQ005"
    assert "ana, pi" in info.value.render()
