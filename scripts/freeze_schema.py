"""Write tests/store/frozen/schema_vN.sql for the current store version.

Run once when a schema version is released (it lands on main); never edit a released file.
Each line: type, name, normalised SQL, tab-separated, in sqlite_master order by type, name.
"""

import sqlite3
import sys
import tempfile
from pathlib import Path

from pipeline.store import open_store
from pipeline.store.migrations import CURRENT_VERSION

FROZEN = Path(__file__).resolve().parents[1] / "tests" / "store" / "frozen"


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.sqlite"
        open_store(path, warn_location=False).close()
        conn = sqlite3.connect(path)
        rows = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
            "ORDER BY type, name").fetchall()
        conn.close()
    target = FROZEN / f"schema_v{CURRENT_VERSION}.sql"
    if target.exists() and "--force" not in sys.argv:
        print(f"{target} exists; released schemas are frozen (use --force only before release)",
              file=sys.stderr)
        return 1
    FROZEN.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(f"{t}\t{n}\t{' '.join((s or '').split())}\n" for t, n, s in rows))
    print(f"wrote {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
