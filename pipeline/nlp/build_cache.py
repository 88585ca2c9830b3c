"""What building the coder produces, kept on disk between runs of one study.

Building the tagger tokenises every expanded codebook phrase and cue list (tens of
thousands of texts), and loading the codebook and registry parses and checks their YAML:
the same work on every `code` run, even one that codes a single changed interview. The
results are plain data (the ruler's patterns; each phrase's NORM hashes and lower-cased
words; the checked documents), so they are kept in the study's cache folder and reused
while the files, spaCy, its lookup data and the package's code that reads them are the same.

The file holds only built-in types and is read with an unpickler that refuses every class
or function, so a cache file cannot run code. A missing, stale or unreadable file is
rebuilt silently; writes are atomic (a temporary file renamed into place).
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import sys
import tempfile
from functools import lru_cache
from importlib import metadata as importlib_metadata
from pathlib import Path

CACHE_FOLDER = ".cityqda-cache"
FORMAT = 1
# Package files that decide how the codebook and registry are checked and built, and how
# phrases are expanded and tokenised.
SOURCES = (("nlp", "*.py"), ("codebook", "*.py"), ("schemas", "*.json"))


def study_cache_dir(study_root: Path) -> Path:
    return Path(study_root) / CACHE_FOLDER


def _version(name: str) -> str:
    try:
        return importlib_metadata.version(name)
    except importlib_metadata.PackageNotFoundError:
        return ""


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """spaCy, its lookup data, Python and the package's checking and matching code, as one
    hash (the package version alone does not change while the code is being developed)."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for part in (sys.version, _version("spacy"), _version("spacy-lookups-data")):
        digest.update(part.encode("utf-8") + b"\0")
    for folder, pattern in SOURCES:
        for path in sorted((package / folder).glob(pattern)):
            digest.update(path.name.encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


class _PlainUnpickler(pickle.Unpickler):
    """Built-in containers and scalars only: any class or function is refused."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"not plain data: {module}.{name}")


class BuildCache:
    """One file per kind of build (`name`), holding the entry of the last key written."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def _path(self, name: str) -> Path:
        return self.folder / f"{name}.pickle"

    def load(self, name: str, key: str):
        """The data saved under `key`, or None."""
        try:
            raw = self._path(name).read_bytes()
            entry = _PlainUnpickler(io.BytesIO(raw)).load()
        except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError,
                AttributeError, IndexError, KeyError):
            return None
        if not isinstance(entry, dict) or entry.get("format") != FORMAT \
                or entry.get("key") != key:
            return None
        return entry.get("data")

    def save(self, name: str, key: str, data) -> bool:
        """Write atomically; a folder that cannot be written is not an error."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            ignore = self.folder / ".gitignore"
            if not ignore.exists():  # keep the cache out of the study's repository
                ignore.write_text("# written by cityqda: cached build data\n*\n",
                                  encoding="utf-8")
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=f".{name}.",
                                                 suffix=".tmp")
            try:
                with os.fdopen(handle, "wb") as out:
                    pickle.dump({"format": FORMAT, "key": key, "data": data}, out,
                                protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(temporary, self._path(name))
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError:
            return False
        return True
