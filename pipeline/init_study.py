"""Create a new study folder from the package defaults (`cityqda init DIR`).

The study is assembled in a temporary sibling folder and moved into place at the end, so
a failure half-way leaves nothing behind. An existing study is never touched.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path

from pipeline.errors import CityQDAError
from pipeline.study import CONFIG_NAME, STORE_NAME

DEFAULT_FOLDERS = ("transcripts", "outputs", "codebooks", "interview_guides", "reviews/inbox",
                   "cities")


def defaults_dir() -> Path:
    return Path(str(resources.files("pipeline") / "defaults"))


def _copy_tree(source: Path, target: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)


def build_study_files(folder: Path, name: str) -> None:
    """Write every file of a fresh study into `folder` (which exists and is empty)."""
    from pipeline.ingest.register import write_register_template
    from pipeline.store import open_store

    defaults = defaults_dir()
    template = (defaults / "study" / "cityqda.toml").read_text(encoding="utf-8")
    (folder / CONFIG_NAME).write_text(template.replace("{name}", name), encoding="utf-8")
    shutil.copyfile(defaults / "study" / "gitignore", folder / ".gitignore")
    for sub in DEFAULT_FOLDERS:
        (folder / sub).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(defaults / "study" / "outputs_README.md", folder / "outputs" / "README.md")
    _copy_tree(defaults / "codebooks", folder / "codebooks")
    _copy_tree(defaults / "interview_guides", folder / "interview_guides")
    write_register_template(folder / "register.xlsx")
    open_store(folder / STORE_NAME, warn_location=False).close()


def _clashes(staging: Path, target: Path) -> list[str]:
    """Paths the new study would write over: folders merge (a `transcripts/` already
    full of transcripts is welcome), files never replace anything."""
    found = []
    for entry in sorted(staging.rglob("*")):
        there = target / entry.relative_to(staging)
        if there.exists() and not (entry.is_dir() and there.is_dir()):
            found.append(entry.relative_to(staging).as_posix())
    return found


def _move_in(staging: Path, target: Path) -> None:
    """Move each new entry into `target`, descending into folders both sides have."""
    for entry in sorted(staging.iterdir()):
        there = target / entry.name
        if there.is_dir() and entry.is_dir():
            _move_in(entry, there)
        else:
            entry.rename(there)


def init_study(target: str | Path, name: str | None = None) -> Path:
    target = Path(target).resolve()
    for marker in (CONFIG_NAME, STORE_NAME):
        if (target / marker).exists():
            raise CityQDAError("CQ002", path=str(target), found=marker)
    if target.exists() and not target.is_dir():
        raise CityQDAError("CQ002", path=str(target), found="a file of that name")
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".cityqda-init-", dir=parent))
    except OSError as exc:
        raise CityQDAError("CQ008", path=str(target), problem=exc.strerror or str(exc)) \
            from exc
    try:
        build_study_files(staging, name or target.name)
        if not target.exists():
            staging.rename(target)
            # mkdtemp made the folder private (0700); give it the user's usual permissions.
            umask = os.umask(0)
            os.umask(umask)
            target.chmod(0o777 & ~umask)
            return target
        clashes = _clashes(staging, target)
        if clashes:
            raise CityQDAError("CQ007", path=str(target), found=", ".join(clashes))
        _move_in(staging, target)
        return target
    except OSError as exc:
        raise CityQDAError("CQ008", path=str(target), problem=exc.strerror or str(exc)) \
            from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
