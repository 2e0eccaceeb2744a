"""requirements/runtime.lock, which the image installs, agrees with pyproject and dev.lock."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement

from tests.unit.deploy.dockerfile import REPO

PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)", re.MULTILINE)
COMPILE = (
    "uv pip compile pyproject.toml --python-version 3.11 --generate-hashes --universal "
    "-o requirements/runtime.lock"
)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(name: str) -> dict[str, str]:
    text = (REPO / "requirements" / name).read_text(encoding="utf-8")
    return {_canonical(n): v for n, v in PIN.findall(text)}


def test_header_names_the_command_that_regenerates_it() -> None:
    head = (REPO / "requirements" / "runtime.lock").read_text(encoding="utf-8")[:400]
    assert COMPILE in head


def test_every_runtime_dependency_is_pinned_within_its_range() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = _pins("runtime.lock")
    for line in project["dependencies"]:
        requirement = Requirement(line)
        name = _canonical(requirement.name)
        assert name in pins, (
            f"{name} is in pyproject.toml but not in runtime.lock: re-run {COMPILE}"
        )
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"runtime.lock pins {name}=={pins[name]} outside {requirement.specifier}: re-run {COMPILE}"
        )


def test_the_image_runs_the_versions_ci_tests() -> None:
    runtime, dev = _pins("runtime.lock"), _pins("dev.lock")
    assert runtime
    differing = {n: (v, dev.get(n)) for n, v in runtime.items() if dev.get(n) != v}
    assert not differing, f"runtime.lock and dev.lock disagree (runtime, dev): {differing}"


def test_no_dev_tool_ships_in_the_image() -> None:
    dev_group = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))[
        "dependency-groups"
    ]["dev"]
    runtime = _pins("runtime.lock")
    for requirement in dev_group:
        name = _canonical(re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0])
        assert name not in runtime, f"dev tool {name} would ship in the image"
