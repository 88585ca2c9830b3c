"""Make the re-saved review fixtures (run by hand; needs LibreOffice's `soffice`).

    python tests/data/review/make_resaved.py

Builds the tiny study of tests/review/review_helpers.py, exports ana's review workbook,
edits it with openpyxl the way a coder would (edited.xlsx), lets LibreOffice open and save
it again as .xlsx (libreoffice.xlsx), and writes the export record the store held
(export_record.json) so a test can put it into a freshly built copy of the same study.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "review"))

from review_helpers import build_study, edit_workbook  # noqa: E402
from sqlalchemy import select  # noqa: E402

from pipeline.review.export import export_review  # noqa: E402
from pipeline.store import open_study_store  # noqa: E402
from pipeline.store.schema import codings, review_export_rows, review_exports  # noqa: E402


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        study = build_study(tmp / "study")
        store = open_study_store(study)
        try:
            result = export_review(study, store, "ana", out=tmp / "export.xlsx")
            with store.read() as conn:
                ids = [r.id for r in conn.execute(select(codings.c.id)
                                                  .where(codings.c.coder == "")
                                                  .order_by(codings.c.id))]
                export = dict(conn.execute(select(review_exports).where(
                    review_exports.c.id == result.export_id)).mappings().one())
                rows = [dict(r) for r in conn.execute(select(review_export_rows).where(
                    review_export_rows.c.export_id == result.export_id)
                    .order_by(review_export_rows.c.sheet,
                              review_export_rows.c.row_key)).mappings()]
        finally:
            store.close()
        edited = tmp / "edited.xlsx"
        with edit_workbook(tmp / "export.xlsx", edited) as sheets:
            sheet = sheets["Codings"]
            sheet.set(f"C{ids[0]}", decision="accept", comment="Clear: ü ☃ — =not a formula")
            sheet.set(f"C{ids[1]}", decision="change", corrected_code="legal")
            sheet.set(f"C{ids[2]}", corrected_flags="planned")
            sheet.set(f"C{ids[3]}", decision="discuss", comment="line one\nline two")
            sheet.copy_row(f"C{ids[0]}", code="social", decision=None, comment=None)
            sheet.reverse()
            segment = sheets["Segments"].ids()[-1]
            sheets["Segments"].set(segment, add_code="political",
                                   add_evidence="two districts", add_flags="hypothetical")
            interview = sheets["Interviews"].ids()[0]
            sheets["Interviews"].set(interview, memo="Memo written before re-saving.")
        out = tmp / "lo"
        subprocess.run(["soffice", "--headless", "--convert-to", "xlsx", "--outdir", str(out),
                        str(edited)], check=True, capture_output=True, timeout=300)
        shutil.copyfile(edited, HERE / "edited.xlsx")
        shutil.copyfile(out / "edited.xlsx", HERE / "libreoffice.xlsx")
        (HERE / "export_record.json").write_text(json.dumps(
            {"export": export, "rows": rows}, ensure_ascii=False, indent=1, sort_keys=True)
            + "\n", encoding="utf-8")
    print("wrote edited.xlsx, libreoffice.xlsx, export_record.json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
