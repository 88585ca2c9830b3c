"""The study folder: `cityqda.toml`, its paths, coders and vocabularies.

A study is any folder holding `cityqda.toml`; the store `cityqda.sqlite` sits beside it.
Paths in the config are relative to the study folder. Nothing here creates files:
`pipeline.init_study` does that, once.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import CityQDAError

CONFIG_NAME = "cityqda.toml"
STORE_NAME = "cityqda.sqlite"

DEFAULT_VOCABULARIES = {
    "categories": ["policy_maker", "practitioner", "business", "civil_society",
                   "international_organization"],
    "guides": ["policy_makers", "practitioners", "businesses", "third_actors"],
    "modes": ["face_to_face", "telephone", "video", "email"],
    "dimensions": ["social", "cultural_religious", "economic", "political", "legal"],
    "partnership_types": ["public_private", "third_actor_private", "third_actor_public",
                          "other"],
    "outcomes": ["no_reply", "declined", "replied_not_interviewed", "interviewed"],
}

DEFAULT_PATHS = {
    "transcripts": "transcripts",
    "codebook": "codebooks/integration_policy.yaml",
    "actors": "codebooks/actors.yaml",
    "guides": "interview_guides",
    "register": "register.xlsx",
    "outputs": "outputs",
    "reviews_inbox": "reviews/inbox",
    "cities": "cities",
}

ROLES = ("coder", "adjudicator")


@dataclass(frozen=True)
class Coder:
    id: str
    name: str
    role: str


@dataclass
class Study:
    root: Path
    name: str
    paths: dict[str, Path]
    coders: list[Coder]
    vocabularies: dict[str, list[str]]
    raw: dict = field(default_factory=dict)

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def store_path(self) -> Path:
        return self.root / STORE_NAME

    def path(self, key: str) -> Path:
        return self.paths[key]

    def coder(self, coder_id: str) -> Coder:
        for coder in self.coders:
            if coder.id == coder_id:
                return coder
        raise CityQDAError("CQ005", coder=coder_id, path=str(self.config_path),
                           known=", ".join(c.id for c in self.coders) or "(none declared)")


def _invalid(path: Path, field_name: str, problem: str) -> CityQDAError:
    return CityQDAError("CQ003", path=str(path), field=field_name, problem=problem)


def load_study(project_dir: str | Path) -> Study:
    """Read and check `cityqda.toml`; refuse a folder that is not a study."""
    root = Path(project_dir).resolve()
    config_path = root / CONFIG_NAME
    if not config_path.is_file():
        raise CityQDAError("CQ001", path=str(root))
    try:
        # utf-8-sig: Windows Notepad may start the file with a byte-order mark
        raw = tomllib.loads(config_path.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise CityQDAError("CQ004", path=str(config_path), problem=str(exc)) from exc
    except UnicodeDecodeError as exc:
        raise CityQDAError("CQ004", path=str(config_path),
                           problem=f"not UTF-8 text ({exc.reason})") from exc

    study_table = raw.get("study", {})
    if not isinstance(study_table, dict):
        raise _invalid(config_path, "study", "must be a table ([study])")
    name = study_table.get("name", root.name)
    if not isinstance(name, str) or not name.strip():
        raise _invalid(config_path, "study.name", "must be a non-empty string")

    paths_table = raw.get("paths", {})
    if not isinstance(paths_table, dict):
        raise _invalid(config_path, "paths", "must be a table ([paths])")
    unknown = sorted(set(paths_table) - set(DEFAULT_PATHS))
    if unknown:
        raise _invalid(config_path, f"paths.{unknown[0]}",
                       f"unknown key; known keys are {', '.join(sorted(DEFAULT_PATHS))}")
    paths = {}
    for key, default in DEFAULT_PATHS.items():
        value = paths_table.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise _invalid(config_path, f"paths.{key}", "must be a non-empty path string")
        paths[key] = (root / value).resolve()

    coders = []
    seen = set()
    for index, entry in enumerate(raw.get("coders", []), start=1):
        where = f"coders[{index}]"
        if not isinstance(entry, dict):
            raise _invalid(config_path, where, "must be a table ([[coders]])")
        coder_id = entry.get("id")
        if not isinstance(coder_id, str) or not coder_id.strip():
            raise _invalid(config_path, f"{where}.id", "must be a non-empty string")
        if coder_id in seen:
            raise _invalid(config_path, f"{where}.id", f"coder {coder_id!r} declared twice")
        seen.add(coder_id)
        role = entry.get("role", "coder")
        if role not in ROLES:
            raise _invalid(config_path, f"{where}.role",
                           f"{role!r} is not one of {', '.join(ROLES)}")
        coders.append(Coder(coder_id, str(entry.get("name", coder_id)), role))

    vocab_table = raw.get("vocabularies", {})
    if not isinstance(vocab_table, dict):
        raise _invalid(config_path, "vocabularies", "must be a table ([vocabularies])")
    vocabularies = {}
    for key, default in DEFAULT_VOCABULARIES.items():
        value = vocab_table.get(key, default)
        if not (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
            raise _invalid(config_path, f"vocabularies.{key}",
                           "must be a non-empty list of strings")
        vocabularies[key] = list(value)
    for key, value in vocab_table.items():
        if key not in vocabularies:
            vocabularies[key] = value

    return Study(root=root, name=name.strip(), paths=paths, coders=coders,
                 vocabularies=vocabularies, raw=raw)
