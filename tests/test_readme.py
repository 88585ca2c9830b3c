"""The README's CLI reference and its test command stay true."""

import importlib.util
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def _cli_reference_module():
    spec = importlib.util.spec_from_file_location(
        "cli_reference", REPO_ROOT / "scripts" / "cli_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_cli_reference_is_current():
    module = _cli_reference_module()
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert text == module.updated_readme(text), (
        "README.md CLI reference is stale: run `python scripts/cli_reference.py`")


def test_readme_test_command_is_what_ci_runs():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = ci.split("# --- the README's test command, verbatim ---\n", 1)[1].strip()
    assert f"```bash\n{command}\n```" in readme
