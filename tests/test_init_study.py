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
    target = tmp_path / "s"
    (target / "notes").mkdir(parents=True)
    init_study(target)
    assert (target / "notes").is_dir() and (target / "cityqda.toml").is_file()


def test_init_study_leaves_nothing_when_it_fails(tmp_path, monkeypatch):
    def broken(path):
        raise OSError("disk full")

    monkeypatch.setattr("pipeline.ingest.register.write_register_template", broken)
    with pytest.raises(OSError):
        init_study(tmp_path / "s")
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
