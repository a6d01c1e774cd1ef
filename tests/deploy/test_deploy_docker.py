"""deploy/Dockerfile and .dockerignore, read as text (no Docker engine here)."""

from __future__ import annotations

import fnmatch
import re
import shlex
import tomllib

from tests.support.deploy_support import DEPLOY, ROOT, load_yaml

DOCKERFILE = DEPLOY / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def build_args() -> dict[str, str]:
    return dict(a.split("=", 1) for w, a in instructions() if w == "ARG" and "=" in a)


def test_final_image_is_python_311_slim() -> None:
    image = final_stage()[0][1].split()[0]
    image = re.sub(r"\$\{(\w+)\}", lambda m: build_args()[m.group(1)], image)
    assert image == "python:3.11-slim"


def test_runs_as_a_non_root_user() -> None:
    users = [a for w, a in final_stage() if w == "USER"]
    assert users, "no USER in the final stage"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert not [
        a for w, a in final_stage()[final_stage().index(("USER", users[-1])) :] if w == "RUN"
    ], "RUN after USER would run as the app user"


def test_has_a_healthcheck_on_the_health_url() -> None:
    checks = [a for w, a in final_stage() if w == "HEALTHCHECK"]
    assert len(checks) == 1 and "CMD" in checks[0]
    env = " ".join(a for w, a in final_stage() if w == "ENV")
    assert "FIRSTCALL_HEALTH_URL=" in env and "FIRSTCALL_HEALTH_URL" in checks[0]
    port = re.search(r"FIRSTCALL_PROBE_PORT=(\d+)", env)
    assert port and f":{port.group(1)}/healthz" in env


def test_entrypoint_is_the_firstcall_command_of_the_installed_package() -> None:
    (entry,) = [a for w, a in final_stage() if w == "ENTRYPOINT"]
    assert entry == '["firstcall"]'
    project = (ROOT / "pyproject.toml").read_text()
    assert 'firstcall = "monitor.cli:main"' in project
    assert any(w == "RUN" and "pip install ." in a for w, a in instructions())


def test_expose_matches_the_probe_port_of_the_deployments() -> None:
    (expose,) = [a for w, a in final_stage() if w == "EXPOSE"]
    compose_env = load_yaml(DEPLOY / "compose.yaml")["services"]["worker"]["environment"]
    assert expose == compose_env["FIRSTCALL_PROBE_PORT"]


def dockerignore_allows(path: str) -> bool:
    allowed = False
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!")
        if fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(path, pattern.rstrip("/*") + "/*"):
            allowed = negate
    return allowed


def test_build_context_holds_what_the_dockerfile_copies_and_nothing_else() -> None:
    copied = []
    for word, args in instructions():
        if word == "COPY" and "--from" not in args:
            copied += shlex.split(args)[:-1]
    assert copied
    for source in copied:
        assert (ROOT / source).exists(), source
        probe = source if (ROOT / source).is_file() else f"{source}/__init__.py"
        assert dockerignore_allows(probe), f"{source} is excluded by .dockerignore"
    for path in (".venv/bin/python", ".git/config", "tests/detectors/test_line.py",
                 "docs/architecture.md"):
        assert not dockerignore_allows(path), path
    assert not dockerignore_allows("monitor/__pycache__/cli.cpython-311.pyc")
    # A host's build of the compiled detectors stays out: the image compiles its own.
    assert not dockerignore_allows("detectors/engine.cpython-311-x86_64-linux-gnu.so")
    assert not dockerignore_allows("detectors/compiled_from.json")


def test_every_packaged_directory_and_the_readme_are_copied() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = project["tool"]["setuptools"]["packages"]["find"]["include"]
    copied = {s for w, a in instructions() if w == "COPY" for s in shlex.split(a)[:-1]}
    for pattern in include:
        assert pattern.rstrip("*") in copied, f"package {pattern} is not copied"
    assert project["project"]["readme"] in copied
