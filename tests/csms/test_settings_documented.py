"""Every setting read from the environment is documented in the README's one settings table."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# env.str("NAME", ...), env.int("NAME"), env.db("NAME"), env.email_url("NAME"), ...
_READ = re.compile(r'\benv\.\w+\(\s*"([A-Z][A-Z0-9_]*)"')


def settings_read() -> set[str]:
    return set(_READ.findall((ROOT / "csms" / "settings.py").read_text()))


def settings_table() -> list[str]:
    """The variable names of the README's "Settings" table (first column, each in backticks)."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    names = []
    for line in section.splitlines():
        if line.startswith("| `"):
            names.extend(re.findall(r"`([A-Z][A-Z0-9_]*)`", line.split("|")[1]))
    return names


def test_every_setting_is_in_the_readme_settings_table() -> None:
    missing = settings_read() - set(settings_table())
    assert not missing, f"not in the README's settings table: {sorted(missing)}"


def test_the_table_names_only_settings_that_exist_and_each_once() -> None:
    names = settings_table()
    assert len(names) == len(set(names)), "a setting is listed twice"
    assert not set(names) - settings_read(), "the table names a setting nobody reads"
