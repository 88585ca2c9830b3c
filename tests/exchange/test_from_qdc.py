"""`codebook export --format qdc` and `codebook import FILE.qdc`: our codebook survives the
round trip, a foreign codebook becomes a schema-valid draft with a report, bad files fail
with a clear CQ8xx message and write nothing."""

from __future__ import annotations

import json

import pytest
import yaml
from exchange_projects import CODEBOOK_XSD, schema
from lxml import etree

from pipeline.cli import main
from pipeline.codebook import check_codebook, default_codebook_path, load_codebook
from pipeline.codebook.from_qdc import import_qdc, slug, split_description
from pipeline.codebook.validate import schema_problems
from pipeline.codebook.yamlsource import YamlDocument
from pipeline.exchange.model import guid_for
from pipeline.exchange.untrusted import Limits

QDC_NS = "urn:QDA-XML:codebook:1.0"


def _guid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


FOREIGN = f"""<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="{QDC_NS}" origin="NVivo 14">
  <Codes>
    <Code guid="{_guid(1)}" name="Economic" isCodable="true" color="#FF0000">
      <Description>Work and money.</Description>
      <Code guid="{_guid(2)}" name="Jobs &amp; Training" isCodable="true">
        <Description>Employment help.</Description>
        <Code guid="{_guid(3)}" name="Apprenticeships" isCodable="true" color="#00FF00"/>
      </Code>
      <Code guid="{_guid(4)}" name="Jobs &amp; training" isCodable="false"/>
    </Code>
    <Code guid="{_guid(5)}" name="Vivienda é Habitação" isCodable="true">
      <Description>Housing, in two languages.</Description>
    </Code>
    <Code guid="{_guid(6)}" name="Challenges" isCodable="false">
      <Code guid="{_guid(7)}" name="Racism" isCodable="true"><Description>Racism reported.
</Description></Code>
    </Code>
  </Codes>
  <Sets>
    <Set guid="{_guid(8)}" name="Favourites"><MemberCode guid="{_guid(7)}"/></Set>
  </Sets>
</CodeBook>
"""


@pytest.fixture(scope="module")
def default_codebook():
    return load_codebook(default_codebook_path())


def test_from_qdc_our_codebook_survives_export_and_import(tmp_path, runner, default_codebook):
    qdc = tmp_path / "ours.qdc"
    result = runner.invoke(main, ["codebook", "export", "--format", "qdc", "--out", str(qdc)])
    assert result.exit_code == 0, result.output
    project_schema = schema(CODEBOOK_XSD)
    assert project_schema.validate(etree.parse(str(qdc))), project_schema.error_log
    assert runner.invoke(main, ["qdpx", "check", str(qdc)]).exit_code == 0

    out = tmp_path / "back.yaml"
    result = runner.invoke(main, ["codebook", "import", str(qdc), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert check_codebook(out) == []  # usable as it is (no patterns: finds nothing yet)
    back = load_codebook(out)
    live = [c for c in default_codebook.codes if not c.retired]
    fields = ("id", "kind", "parent", "label", "definition", "include", "exclude",
              "examples", "counter_examples")
    assert [tuple(getattr(c, f) for f in fields) for c in back.codes] == \
        [tuple(getattr(c, f) for f in fields) for c in live]
    assert all(not c.patterns for c in back.codes)
    assert back.version.endswith("-draft")
    assert "CQ850" in result.output and "colours" in result.output


@pytest.fixture
def foreign_import(tmp_path):
    source = tmp_path / "nvivo codebook.qdc"
    source.write_text(FOREIGN, encoding="utf-8")
    return import_qdc(source, tmp_path / "draft.yaml"), tmp_path / "draft.yaml"


def test_from_qdc_foreign_codebook_becomes_a_schema_valid_draft(foreign_import):
    result, out = foreign_import
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# DRAFT cityqda codebook")
    doc = YamlDocument.from_text(text)
    assert schema_problems(doc, str(out)) == []
    codes = {c["id"]: c for c in doc.data["codes"]}
    assert list(codes) == [
        "economic", "economic.jobs_training", "economic.jobs_training_apprenticeships",
        "economic.jobs_training_2", "vivienda_e_habitacao", "challenge", "challenge.racism"]
    assert codes["economic"]["kind"] == "dimension"  # named like a study dimension
    assert codes["vivienda_e_habitacao"]["kind"] == "dimension"
    assert codes["vivienda_e_habitacao"]["label"] == "Vivienda é Habitação"
    assert codes["challenge"]["kind"] == "challenge_group"
    assert codes["challenge.racism"] == {"id": "challenge.racism", "kind": "challenge",
                                         "parent": "challenge", "label": "Racism",
                                         "definition": "Racism reported."}
    assert codes["economic.jobs_training_apprenticeships"]["label"] == \
        "Jobs & Training / Apprenticeships"
    assert all("patterns" not in c for c in codes.values())


def test_from_qdc_foreign_codebook_report_lists_every_loss(foreign_import):
    result, _out = foreign_import
    lost = [p.fields["what"] for p in result.problems if p.code == "CQ850"]
    assert any("colours of 2 code(s)" in w for w in lost)
    assert any("'Jobs & Training / Apprenticeships' is deeper" in w for w in lost)
    assert any("set 'Favourites'" in w for w in lost)
    assert any("not codable" in w and "Jobs & training" in w for w in lost)
    draft = [p.fields["problem"] for p in result.draft_problems]
    assert any("'Vivienda é Habitação' became dimension 'vivienda_e_habitacao'" in d
               for d in draft)
    assert any("Apprenticeships" in d and "no description" in d for d in draft)
    assert any("'social' is not defined" in d for d in draft)  # study dimensions missing
    assert all(p.file for p in result.problems)
    assert "a draft" in result.lines()[0]


def test_from_qdc_returning_codes_keep_their_ids(tmp_path, default_codebook):
    housing = default_codebook.code("social.housing")
    qdc = (f'<CodeBook xmlns="{QDC_NS}"><Codes>'
           f'<Code guid="{guid_for("code", "social")}" name="Sociaal">'
           f'<Code guid="{guid_for("code", housing.id)}" name="Huisvesting"/>'
           f'<Code guid="{_guid(9)}" name="Nieuw"/></Code></Codes></CodeBook>')
    (tmp_path / "nl.qdc").write_text(qdc, encoding="utf-8")
    result = import_qdc(tmp_path / "nl.qdc")
    ids = [(c["id"], c["label"]) for c in result.document["codes"]]
    assert ids == [("social", "Sociaal"), ("social.housing", "Huisvesting"),
                   ("social.nieuw", "Nieuw")]
    assert result.out == tmp_path / "nl.yaml" and result.out.exists()


@pytest.mark.parametrize("text, expected", [
    ("São Paulo — Ação", "sao_paulo_acao"),
    ("2nd wave", "code_2nd_wave"),
    ("💼", "code"),
    ("Jobs & Training", "jobs_training"),
])
def test_from_qdc_slug(text, expected):
    assert slug(text) == expected


def test_from_qdc_split_description_keeps_unknown_layout_as_definition():
    definition, lists = split_description("Para one.\r\n\r\nInclude:\n- a\n- b\n\nNot: a list")
    assert definition == "Para one.\n\nNot: a list"
    assert lists == {"include": ["a", "b"]}


BAD_FILES = {
    "entities": ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                 f'<CodeBook xmlns="{QDC_NS}"><Codes/></CodeBook>', "CQ805"),
    "broken": (f'<CodeBook xmlns="{QDC_NS}"><Codes><Code name="a">', "CQ806"),
    "wrong root": (f'<Project xmlns="{QDC_NS}"/>', "CQ807"),
    "no codes": (f'<CodeBook xmlns="{QDC_NS}"><Codes/></CodeBook>', "CQ808"),
    "no guid": (f'<CodeBook xmlns="{QDC_NS}"><Codes><Code name="a"/></Codes></CodeBook>',
                "CQ808"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_from_qdc_bad_files_fail_clearly_and_write_nothing(tmp_path, runner, name):
    text, code = BAD_FILES[name]
    source = tmp_path / "bad.qdc"
    source.write_text(text, encoding="utf-8")
    result = runner.invoke(main, ["codebook", "import", str(source)])
    assert result.exit_code == 1
    assert code in result.stderr and str(source) in result.stderr
    assert not (tmp_path / "bad.yaml").exists()


def test_from_qdc_oversized_file_is_refused(tmp_path):
    source = tmp_path / "big.qdc"
    source.write_text(FOREIGN, encoding="utf-8")
    with pytest.raises(Exception) as caught:
        import_qdc(source, limits=Limits(max_file_bytes=100))
    assert caught.value.problems[0].code == "CQ803"
    assert not (tmp_path / "big.yaml").exists()


def test_from_qdc_refuses_to_replace_a_codebook_unless_forced(tmp_path, runner):
    source = tmp_path / "cb.qdc"
    source.write_text(FOREIGN, encoding="utf-8")
    out = tmp_path / "cb.yaml"
    out.write_text("my work\n", encoding="utf-8")
    result = runner.invoke(main, ["codebook", "import", str(source)])
    assert result.exit_code == 2 and "CQ813" in result.stderr
    assert out.read_text(encoding="utf-8") == "my work\n"
    result = runner.invoke(main, ["codebook", "import", str(source), "--force", "--json"])
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["codes"] == 7 and report["out"] == str(out)
    assert {p["code"] for p in report["problems"]} == {"CQ850", "CQ853"}
    assert yaml.safe_load(out.read_text(encoding="utf-8"))["id"] == "cb"


def test_from_qdc_export_leaves_retired_codes_out_and_says_so(tmp_path, runner):
    data = yaml.safe_load(default_codebook_path().read_text(encoding="utf-8"))
    retired = next(c for c in data["codes"] if c["kind"] == "subcode")
    retired["retired"] = True
    source = tmp_path / "codebook.yaml"
    source.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
                      encoding="utf-8")
    out = tmp_path / "codebook.qdc"
    result = runner.invoke(main, ["codebook", "export", "--format", "qdc", "--out", str(out),
                                  "--codebook", str(source)])
    assert result.exit_code == 0, result.output
    assert "CQ850" in result.stderr and retired["id"] in result.stderr
    names = [c.get("name") for c in etree.parse(str(out)).iter(f"{{{QDC_NS}}}Code")]
    assert retired["label"] not in names and len(names) == len(data["codes"]) - 1


def test_from_qdc_imports_the_code_tree_of_a_qdpx_project(tmp_path, study_dir, runner):
    project = tmp_path / "study.qdpx"
    assert runner.invoke(main, ["--project", str(study_dir), "export", "qdpx", "--out",
                                str(project)]).exit_code == 0
    result = runner.invoke(main, ["codebook", "import", str(project), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    document = yaml.safe_load((tmp_path / "study.yaml").read_text(encoding="utf-8"))
    assert [c["id"] for c in document["codes"]][:2] == ["social", "social.housing"]
    assert report["codes"] == len(document["codes"])


@pytest.mark.parametrize("argv", [
    ["codebook", "export", "--format", "qdc", "--out", "{blocked}/codebook.qdc"],
    ["codebook", "import", "{qdc}", "--out", "{blocked}/draft.yaml"],
])
def test_from_qdc_unwritable_target_is_a_clear_error(tmp_path, runner, argv):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x", encoding="utf-8")
    qdc = tmp_path / "cb.qdc"
    qdc.write_text(FOREIGN, encoding="utf-8")
    args = [a.format(blocked=blocked, qdc=qdc) for a in argv]
    result = runner.invoke(main, args)
    assert result.exit_code == 1, result.output
    assert "CQ814" in result.stderr and str(blocked) in result.stderr
