"""`init` builds a complete study from package data, never over an existing one."""

import filecmp
from pathlib import Path

import pytest

from pipeline.errors import CityQDAError
from pipeline.init_study import defaults_dir, init_study
from pipeline.study import load_study

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_init_study_creates_every_part(tmp_path):
    root = init_study(tmp_path / "lisbon")
    for part in ("cityqda.toml", ".gitignore", "register.xlsx", "cityqda.sqlite",
                 "outputs/README.md", "transcripts", "codebooks", "interview_guides",
                 "reviews/inbox", "cities"):
        assert (root / part).exists(), part
    study = load_study(root)
    assert study.name == "lisbon"
    assert study.path("transcripts") == root / "transcripts"
    assert not list(tmp_path.glob(".cityqda-init-*"))


def test_init_study_copies_the_package_guides_and_codebooks(tmp_path):
    root = init_study(tmp_path / "s")
    for folder in ("interview_guides", "codebooks"):
        source = defaults_dir() / folder
        names = sorted(p.name for p in source.iterdir() if p.is_file())
        assert names
        match, mismatch, errors = filecmp.cmpfiles(source, root / folder, names, shallow=False)
        assert not mismatch and not errors


@pytest.mark.parametrize("marker", ["cityqda.toml", "cityqda.sqlite"])
def test_init_study_refuses_an_existing_study(tmp_path, marker):
    target = tmp_path / "s"
    target.mkdir()
    (target / marker).write_text("keep me")
    with pytest.raises(CityQDAError) as info:
        init_study(target)
    assert info.value.code == "CQ002"
    assert sorted(p.name for p in target.iterdir()) == [marker]
    assert (target / marker).read_text() == "keep me"


def test_init_study_fills_an_existing_folder_of_transcripts(tmp_path):
    """The usual start: a folder holding notes and a transcripts/ folder of interviews."""
    target = tmp_path / "s"
    (target / "notes").mkdir(parents=True)
    (target / "transcripts" / "2013").mkdir(parents=True)
    (target / "transcripts" / "2013" / "LIS-PM-01.docx").write_bytes(b"interview")
    init_study(target)
    assert (target / "notes").is_dir() and (target / "cityqda.toml").is_file()
    assert (target / "transcripts" / "2013" / "LIS-PM-01.docx").read_bytes() == b"interview"
    assert (target / "interview_guides").is_dir() and (target / "cityqda.sqlite").is_file()
    assert not list(tmp_path.glob(".cityqda-init-*"))


@pytest.mark.parametrize("kept", ["register.xlsx", "codebooks/integration_policy.yaml",
                                  ".gitignore"])
def test_init_study_never_replaces_a_file_and_says_which(tmp_path, kept):
    target = tmp_path / "s"
    (target / kept).parent.mkdir(parents=True, exist_ok=True)
    (target / kept).write_text("the team's own")
    before = sorted(p.relative_to(target) for p in target.rglob("*"))
    with pytest.raises(CityQDAError) as info:
        init_study(target)
    assert info.value.code == "CQ007" and kept in str(info.value)
    assert "already holds a study" not in str(info.value)
    assert sorted(p.relative_to(target) for p in target.rglob("*")) == before
    assert (target / kept).read_text() == "the team's own"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]


def test_init_study_leaves_nothing_when_it_fails(tmp_path, monkeypatch):
    def broken(path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("pipeline.ingest.register.write_register_template", broken)
    with pytest.raises(CityQDAError) as info:
        init_study(tmp_path / "s")
    assert info.value.code == "CQ008" and "No space left on device" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_init_study_in_a_folder_it_cannot_write_is_a_clear_error(tmp_path, monkeypatch):
    def denied(**_kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("pipeline.init_study.tempfile.mkdtemp", denied)
    with pytest.raises(CityQDAError) as info:
        init_study(tmp_path / "s")
    assert info.value.code == "CQ008" and str(tmp_path / "s") in str(info.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("folder", ["interview_guides", "codebooks"])
def test_init_study_repository_copies_equal_package_defaults(folder):
    source = defaults_dir() / folder
    # The repository's actors.yaml is the sample study's registry: the package's entries plus
    # the sample's own organisations (compared in tests/codebook/test_actor_registry.py).
    names = sorted(p.name for p in source.iterdir() if p.is_file() and p.name != "actors.yaml")
    assert names
    match, mismatch, errors = filecmp.cmpfiles(source, REPO_ROOT / folder, names, shallow=False)
    assert match == names, (mismatch, errors)


def test_init_study_repository_is_the_sample_study():
    study = load_study(REPO_ROOT)
    assert study.path("transcripts") == REPO_ROOT / "transcripts_sample"
    assert {c.role for c in study.coders} == {"coder", "adjudicator"}


def test_init_study_folder_gets_the_usual_permissions(tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        root = init_study(tmp_path / "shared-study")
    finally:
        os.umask(umask)
    assert root.stat().st_mode & 0o777 == 0o755
