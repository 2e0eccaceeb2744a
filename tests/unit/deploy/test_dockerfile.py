"""The image definition, checked without a Docker engine: every path it copies exists and
is in the build context, its entrypoint is our console script, and it runs as non-root."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.unit.deploy.dockerfile import (
    DOCKERFILE,
    DOCKERIGNORE,
    REPO,
    BuildContext,
    Stage,
    copies,
    parse,
)

BUILD_TOOLS = ("gcc", "g++", "make", "build-essential", "clang", "apt-get", "apk ")


def _stages() -> tuple[dict[str, str], list[Stage]]:
    return parse(DOCKERFILE.read_text(encoding="utf-8"))


def _final() -> Stage:
    return _stages()[1][-1]


def _tracked(path: str) -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--", path], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    return listed or [path]


def test_parser_reads_two_stages_from_one_base() -> None:
    args, stages = _stages()
    assert [s.name for s in stages] == ["builder", "runtime"]
    # The venv's interpreter is a symlink into the base image: both stages need the same one.
    assert {s.base for s in stages} == {"${PYTHON_IMAGE}"}
    assert args["PYTHON_IMAGE"].startswith("python:3.11-slim")


def test_every_copied_path_exists_and_is_in_the_build_context() -> None:
    context = BuildContext(DOCKERIGNORE.read_text(encoding="utf-8"))
    stage_names = {s.name for s in _stages()[1]}
    checked = 0
    for stage in _stages()[1]:
        for copy in copies(stage):
            if copy.from_stage is not None:
                assert copy.from_stage in stage_names
                continue
            for source in copy.sources:
                assert (REPO / source).exists(), f"COPY {source}: no such path in the repository"
                for path in _tracked(source):
                    assert context.includes(path), f"{path} is copied but .dockerignore drops it"
                    checked += 1
    assert checked > 10


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(".git/HEAD", id="git"),
        pytest.param(".venv/bin/python", id="venv"),
        pytest.param("node_modules/.bin/buf", id="node_modules"),
        pytest.param("var/dev-jwt-secret", id="local-secret"),
        pytest.param("tests/conftest.py", id="tests"),
        pytest.param("requirements/dev.lock", id="dev-lock"),
        pytest.param("services/tasks/__pycache__/app.cpython-311.pyc", id="bytecode"),
        pytest.param("deploy/k8s/secrets.example.yaml", id="deploy"),
    ],
)
def test_build_context_leaves_out_local_state(path: str) -> None:
    assert not BuildContext(DOCKERIGNORE.read_text(encoding="utf-8")).includes(path)


def test_final_stage_runs_as_a_fixed_non_root_user() -> None:
    user = _final().last("USER")
    assert user is not None, "the runtime stage must set USER"
    uid, _, gid = user.arguments.partition(":")
    # Numeric, so the kubelet can verify runAsNonRoot without reading /etc/passwd.
    assert uid.isdigit() and int(uid) >= 10000, user.arguments
    assert gid.isdigit() and int(gid) != 0, user.arguments


def test_final_stage_has_no_build_tools_and_installs_nothing() -> None:
    for instruction in _final().all("RUN"):
        for tool in BUILD_TOOLS:
            assert tool not in instruction.arguments, f"runtime stage runs {tool!r}"
        assert "pip install" not in instruction.arguments
    # Dependencies come from wheels only, so the builder needs no compiler either.
    builder = _stages()[1][0]
    assert any(
        "--no-build" in r.arguments and "--require-hashes" in r.arguments
        for r in builder.all("RUN")
    )
    # The runtime stage takes the built venv and app from the builder, not the context.
    assert all(c.from_stage == "builder" for c in copies(_final()))


def test_final_stage_listens_on_all_interfaces_and_keeps_state_off_the_root() -> None:
    env = " ".join(i.arguments for i in _final().all("ENV"))
    assert re.search(r"\bBIND_HOST=0\.0\.0\.0\b", env)
    assert re.search(r"\bPYTHONDONTWRITEBYTECODE=1\b", env)
    assert re.search(r"\bTODOCHAT_VAR_DIR=/", env)


def _console_script() -> Path:
    return Path(sys.executable).parent / "todochat"


def test_entrypoint_is_the_console_script_and_cmd_a_service_it_serves() -> None:
    final = _final()
    entrypoint = final.last("ENTRYPOINT")
    cmd = final.last("CMD")
    assert entrypoint is not None and cmd is not None
    program, *entry_args = entrypoint.exec_form()
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "scripts"
    ]
    assert program in scripts and scripts[program] == "services.cli:main"
    assert entry_args == ["serve"]
    # argparse checks the service name before it answers --help, so exit 0 proves it exists.
    done = subprocess.run(
        [str(_console_script()), *entry_args, *cmd.exec_form(), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "usage: todochat serve" in done.stdout


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["serve", "tasks", "--help"], id="serve-tasks"),
        pytest.param(["serve", "chat", "--help"], id="serve-chat"),
        pytest.param(["migrate", "--help"], id="migrate"),
    ],
)
def test_commands_the_manifests_run_exist(argv: list[str]) -> None:
    done = subprocess.run(
        [str(_console_script()), *argv], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr


def test_a_service_the_cli_does_not_know_is_refused() -> None:
    done = subprocess.run(
        [str(_console_script()), "serve", "nosuch", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "invalid choice" in done.stderr
