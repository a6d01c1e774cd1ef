"""Only monitor/platform/settings.py reads the environment for settings, and knows every name."""

from __future__ import annotations

import ast
from pathlib import Path

from monitor.platform.settings import NOT_SETTINGS, all_env_aliases, all_env_names
from tests.support.deploy_support import PRODUCT_PACKAGES, ROOT, firstcall_names_in_code, known_env

SETTINGS_MODULE = "monitor/platform/settings.py"

# The modules besides the settings that may read the environment, and why each is no setting.
EXCEPTIONS = {
    "detectors/__init__.py": "FIRSTCALL_PURE_PYTHON chooses the compiled or the pure-Python "
                             "detectors at import: a build switch, not a setting",
    "monitor/demo_web.py": "DISPLAY / WAYLAND_DISPLAY say whether a browser can be opened: "
                           "the desktop's variables, not ours",
    "outreach/store/db.py": "PGSSLMODE / PGHOST are PostgreSQL's (asyncpg reads them): looked "
                            "at only so that no SSL to a local server never overrides them",
}

_ENV_ATTRIBUTES = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def _touches_environment(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr in _ENV_ATTRIBUTES
    if isinstance(node, ast.ImportFrom) and node.module == "os":
        return any(a.name in _ENV_ATTRIBUTES for a in node.names)
    return False


def environment_reads(path: Path) -> list[int]:
    """Lines of `path` touching the environment: os.environ / os.getenv, imported or not."""
    tree = ast.parse(path.read_text(), str(path))
    return sorted(getattr(n, "lineno", 0) for n in ast.walk(tree) if _touches_environment(n))


def reads_by_module() -> dict[str, list[int]]:
    """Product module (path from the repository root) -> its environment-reading lines."""
    found = {}
    for package in PRODUCT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            lines = environment_reads(path)
            if lines:
                found[str(path.relative_to(ROOT))] = lines
    return found


def test_only_the_settings_module_reads_the_environment() -> None:
    found = reads_by_module()
    others = {m: lines for m, lines in found.items() if m != SETTINGS_MODULE}
    stray = {m: lines for m, lines in others.items() if m not in EXCEPTIONS}
    assert not stray, (
        f"read settings through {SETTINGS_MODULE} (a typed section) instead: {stray}")
    assert SETTINGS_MODULE in found
    stale = EXCEPTIONS.keys() - others.keys()
    assert not stale, f"no longer read the environment, drop the exception: {stale}"


def test_the_scan_sees_every_way_of_reading_the_environment(tmp_path: Path) -> None:
    src = tmp_path / "m.py"
    src.write_text("import os\nfrom os import environ, getenv\nimport os as o\n"
                   "a = os.environ['X']\nb = os.getenv('X')\nc = o.environ.get('X')\n"
                   "d = environ['X']\nprint(os.path.join('a', 'b'))\n")
    assert environment_reads(src) == [2, 4, 5, 6]


def test_every_firstcall_name_in_the_code_is_known_to_settings() -> None:
    known = set(all_env_names()) | set(NOT_SETTINGS)
    names, prefixes = firstcall_names_in_code()
    unknown = {n: sorted(where) for n, where in names.items() if n not in known}
    assert not unknown, f"not a setting (settings_sections.py) nor in NOT_SETTINGS: {unknown}"
    no_match = {
        p: sorted(w) for p, w in prefixes.items() if not any(k.startswith(p) for k in known)
    }
    assert not no_match, f"prefixes no known variable starts with: {no_match}"


def test_the_deployment_may_only_set_names_settings_knows() -> None:
    assert known_env() <= set(all_env_names()) | set(NOT_SETTINGS)


def test_aliases_are_not_firstcall_names_nor_settings_of_their_own() -> None:
    aliases = all_env_aliases()
    assert set(aliases) == {"TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER",
                            "TWILIO_API_BASE_URL"}
    assert not set(aliases) & set(all_env_names())
