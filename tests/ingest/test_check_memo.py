"""The guides and register checks kept between runs: a memo hit equals a fresh check, and
every input the check reads invalidates it."""

import shutil
from pathlib import Path

import pytest

from pipeline.ingest import check_memo, guides, register
from pipeline.ingest.guides import check_guides
from pipeline.ingest.register import read_register, write_register
from pipeline.run import RunContext, RunOptions, exit_code, stage_validate_register
from pipeline.study import DEFAULT_VOCABULARIES

REPO_GUIDES = Path(__file__).resolve().parents[2] / "interview_guides"
ROWS = [{"round": "1", "city": "Lisbon", "country": "Portugal", "category": "policy_maker",
         "outcome": "interviewed", "transcript_file": "LIS-PM-01.docx",
         "contact_date": "03/04/2013", "mode": "carrier pigeon"},  # two warnings
        {"round": "1", "city": "Lisboa", "category": "NGO", "outcome": "declined"}]
CITIES = [{"city": "Lisbon", "country": "Portugal", "code": "LIS", "aliases": ["Lisboa"]}]
OTHER_VOCABULARIES = {**DEFAULT_VOCABULARIES,
                      "modes": DEFAULT_VOCABULARIES["modes"][:-1]}


@pytest.fixture(autouse=True)
def no_process_cache():
    """Each call below goes to the disk memo or the full check, not the process's copy."""
    guides._LAST_CHECK.clear()
    yield
    guides._LAST_CHECK.clear()


@pytest.fixture
def guides_dir(tmp_path):
    folder = tmp_path / "guides"
    shutil.copytree(REPO_GUIDES, folder)
    (folder / "practitioners.yaml").rename(folder / "practice.yaml")  # CQ950, a warning
    return folder


def fresh_guides(folder, vocabularies=DEFAULT_VOCABULARIES):
    guides._LAST_CHECK.clear()
    return check_guides(folder, vocabularies)


def refuse(*_args, **_kwargs):
    raise AssertionError("the full check ran")


def test_check_memo_guides_hit_equals_a_fresh_check(guides_dir, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = check_guides(guides_dir, DEFAULT_VOCABULARIES, cache)
    guides._LAST_CHECK.clear()
    monkeypatch.setattr(guides, "_check_guides", refuse)
    kept, kept_problems = check_guides(guides_dir, DEFAULT_VOCABULARIES, cache)
    monkeypatch.undo()
    fresh, fresh_problems = fresh_guides(guides_dir)
    assert [p.code for p in fresh_problems] == ["CQ950"]
    assert kept_problems == fresh_problems == first[1]
    assert list(kept) == list(fresh) and kept == fresh
    assert [g.file for g in kept.values()] == [g.file for g in fresh.values()]


def change_guide_bytes(folder, _cache):
    path = folder / "businesses.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")


def add_guide_file(folder, _cache):
    shutil.copy(folder / "businesses.yaml", folder / "copy.yaml")


@pytest.mark.parametrize("change", [change_guide_bytes, add_guide_file, "vocabularies",
                                    "code"])
def test_check_memo_guides_changed_input_checks_again(guides_dir, tmp_path, monkeypatch,
                                                       change):
    cache = tmp_path / "cache"
    check_guides(guides_dir, DEFAULT_VOCABULARIES, cache)
    guides._LAST_CHECK.clear()
    vocabularies = DEFAULT_VOCABULARIES
    if change == "vocabularies":
        vocabularies = OTHER_VOCABULARIES
    elif change == "code":
        monkeypatch.setattr(check_memo, "_code_state", lambda: "other code")
    else:
        change(guides_dir, cache)
    calls = []
    real = guides._check_guides
    monkeypatch.setattr(guides, "_check_guides",
                        lambda *args: calls.append(args) or real(*args))
    kept = check_guides(guides_dir, vocabularies, cache)
    assert len(calls) == 1
    monkeypatch.undo()
    assert kept == fresh_guides(guides_dir, vocabularies)


@pytest.mark.parametrize("damage", [b"not a pickle", b""])
def test_check_memo_damaged_memo_checks_again(guides_dir, tmp_path, damage):
    cache = tmp_path / "cache"
    expected = check_guides(guides_dir, DEFAULT_VOCABULARIES, cache)
    for memo in cache.glob("check-*.pickle"):
        memo.write_bytes(damage)
    guides._LAST_CHECK.clear()
    assert check_guides(guides_dir, DEFAULT_VOCABULARIES, cache) == expected


def test_check_memo_memo_of_other_shape_checks_again(guides_dir, tmp_path, monkeypatch):
    """A readable memo under the right key whose content is not what the code keeps (an
    unknown error code, here) is not used."""
    cache = tmp_path / "cache"
    expected = check_guides(guides_dir, DEFAULT_VOCABULARIES, cache)
    saved = {}
    monkeypatch.setattr(check_memo, "load_memo", lambda *_args: {
        "guides": [], "problems": [["CQ0000", {}, None, None, None, None]]})
    monkeypatch.setattr(check_memo, "save_memo",
                        lambda *args: saved.setdefault("data", args[-1]))
    guides._LAST_CHECK.clear()
    assert check_guides(guides_dir, DEFAULT_VOCABULARIES, cache) == expected
    assert len(saved["data"]["guides"]) == 4


@pytest.fixture
def register_xlsx(tmp_path):
    path = tmp_path / "register.xlsx"
    write_register(path, ROWS, CITIES)
    return path


def register_state(found):
    register_read, problems = found
    return ([row.as_dict() for row in register_read.rows], register_read.cities,
            [p.as_dict() for p in register_read.warnings], [p.as_dict() for p in problems])


def test_check_memo_register_hit_equals_a_fresh_read(register_xlsx, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    read_register(register_xlsx, DEFAULT_VOCABULARIES, cache_dir=cache)
    monkeypatch.setattr(register, "_read_register", refuse)
    kept = read_register(register_xlsx, DEFAULT_VOCABULARIES, cache_dir=cache)
    monkeypatch.undo()
    fresh = read_register(register_xlsx, DEFAULT_VOCABULARIES)
    assert sorted(p.code for p in fresh[1]) == ["CQ952", "CQ953"]
    assert register_state(kept) == register_state(fresh)
    assert kept[0].row_for_file("lis-pm-01.DOCX").row == 2
    assert kept[0].canonical_city("lisboa") == "Lisbon"


def csv_register(tmp_path):
    path = tmp_path / "register.csv"
    path.write_text("round,city,category,outcome,transcript_file\n"
                    "1,Lisboa,NGO,interviewed,LIS-NG-01.docx\n", encoding="utf-8")
    (tmp_path / "cities.csv").write_text("city,code,aliases\nLisbon,LIS,Lisboa\n",
                                         encoding="utf-8")
    return path


@pytest.mark.parametrize("change", ["register", "cities", "vocabularies", "transcripts",
                                    "code"])
def test_check_memo_register_changed_input_reads_again(tmp_path, monkeypatch, change):
    path = csv_register(tmp_path)
    transcripts = tmp_path / "transcripts"
    transcripts.mkdir()
    cache = tmp_path / "cache"
    read_register(path, DEFAULT_VOCABULARIES, transcripts, cache_dir=cache)
    vocabularies = DEFAULT_VOCABULARIES
    if change == "register":
        path.write_text(path.read_text(encoding="utf-8").replace("NGO", "company"),
                        encoding="utf-8")
    elif change == "cities":
        (tmp_path / "cities.csv").write_text("city,code\nLisboa,LSB\n", encoding="utf-8")
    elif change == "vocabularies":
        vocabularies = OTHER_VOCABULARIES
    elif change == "transcripts":
        (transcripts / "LIS-NG-01.docx").write_bytes(b"")
    else:
        monkeypatch.setattr(check_memo, "_code_state", lambda: "other code")
    calls = []
    real = register._read_register
    monkeypatch.setattr(register, "_read_register",
                        lambda *args: calls.append(args) or real(*args))
    kept = read_register(path, vocabularies, transcripts, cache_dir=cache)
    assert len(calls) == 1
    monkeypatch.undo()
    assert register_state(kept) == register_state(read_register(path, vocabularies,
                                                                transcripts))


def test_check_memo_run_stage_same_problems_register_and_exit(study_dir, register_xlsx):
    """The run's register stage gives the same warnings, register and exit code from
    the memo as from the first (full) check."""
    from pipeline.study import load_study

    study = load_study(study_dir)
    shutil.copy(register_xlsx, study.path("register"))
    contexts = []
    for _ in range(2):
        ctx = RunContext(study, store=None, options=RunOptions(), run_id=1)
        stage_validate_register(ctx)
        contexts.append(ctx)
    assert (study_dir / ".cityqda-cache" / "check-register.pickle").is_file()
    first, second = contexts
    assert [p.as_dict() for p in second.problems] == [p.as_dict() for p in first.problems]
    assert {p.code for p in first.problems} == {"CQ952", "CQ953"}
    assert second.stage_lines == first.stage_lines
    assert register_state((second.register, [])) == register_state((first.register, []))
    assert exit_code(second) == exit_code(first) == 0
