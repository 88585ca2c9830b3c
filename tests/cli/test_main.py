"""The command line as a user meets it: help everywhere, version, --project, exit codes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from pipeline import __version__
from pipeline.cli import COMMANDS, main

REPO_ROOT = Path(__file__).resolve().parents[2]


def _all_command_paths():
    ctx = click.Context(main)
    paths = []

    def walk(group, prefix):
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            paths.append([*prefix, name])
            if isinstance(command, click.Group):
                walk(command, [*prefix, name])

    walk(main, [])
    return paths


def test_main_version(runner):
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_main_registry_names_importable_commands():
    ctx = click.Context(main)
    for name in COMMANDS:
        assert main.get_command(ctx, name) is not None


@pytest.mark.parametrize("path", _all_command_paths(), ids=" ".join)
@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_main_every_command_has_help(runner, path, flag):
    result = runner.invoke(main, [*path, flag])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_main_unknown_command_is_a_usage_error(runner):
    result = runner.invoke(main, ["frobnicate"])
    assert result.exit_code == 2


@pytest.mark.parametrize("argv", [["run"], ["backup"]])
def test_main_refuses_a_folder_that_is_not_a_study(runner, tmp_path, argv):
    result = runner.invoke(main, ["--project", str(tmp_path), *argv])
    assert result.exit_code == 2
    assert "CQ001" in result.stderr and "cityqda init" in result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "cityqda.sqlite").exists()


def test_main_init_then_refuse_a_second_init(runner, tmp_path):
    target = tmp_path / "new"
    first = runner.invoke(main, ["init", str(target)])
    assert first.exit_code == 0, first.output
    assert (target / "cityqda.toml").is_file()
    second = runner.invoke(main, ["init", str(target)])
    assert second.exit_code == 2
    assert "CQ002" in second.stderr


def test_main_backup_writes_a_copy(runner, study_dir, tmp_path):
    target = tmp_path / "copy.sqlite"
    result = runner.invoke(main, ["--project", str(study_dir), "backup", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes()[:16] == b"SQLite format 3\x00"
    again = runner.invoke(main, ["--project", str(study_dir), "backup", str(target)])
    assert again.exit_code == 2 and "CQ013" in again.stderr


def test_main_backup_without_target_goes_to_the_study_backups_folder(runner, study_dir):
    result = runner.invoke(main, ["--project", str(study_dir), "backup"])
    assert result.exit_code == 0, result.output
    [written] = (study_dir / "backups").glob("cityqda-*Z.sqlite")
    assert written.read_bytes()[:16] == b"SQLite format 3\x00"
    assert str(written) in result.stderr


def _installed_cityqda() -> str:
    found = shutil.which("cityqda", path=str(Path(sys.executable).parent))
    assert found, "the console script `cityqda` is not installed next to this Python"
    return found


def test_main_console_script_runs_as_installed(tmp_path):
    exe = _installed_cityqda()
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True)
    assert __version__ in version.stdout
    env = {**os.environ, "CITYQDA_NO_LOCATION_WARNING": "1"}
    created = subprocess.run([exe, "init", str(tmp_path / "s")], capture_output=True,
                             text=True, env=env)
    assert created.returncode == 0, created.stderr
    assert created.stdout == ""
    refused = subprocess.run([exe, "--project", str(tmp_path), "run"], capture_output=True,
                             text=True, env=env)
    assert refused.returncode == 2
    assert "CQ001" in refused.stderr
