"""What every command shares: the study folder given by `--project`, loaded on demand."""

from __future__ import annotations

from pathlib import Path

from pipeline.study import Study, load_study


class CliContext:
    def __init__(self, project_dir: str):
        self.project_dir = Path(project_dir)
        self._study: Study | None = None

    def study(self) -> Study:
        """The study, or CQ001 naming `cityqda init` when the folder is not one."""
        if self._study is None:
            self._study = load_study(self.project_dir)
        return self._study

    def study_or_none(self) -> Study | None:
        if (self.project_dir / "cityqda.toml").is_file():
            return self.study()
        return None
