"""How the tests are run: CI runs exactly the README's test command, and that command runs every
test; `make test` runs the default suite (every test not marked slow)."""

from __future__ import annotations

import re

from orchestration.paths import PROJECT_ROOT


def readme_test_command() -> str:
    """The command the README's "The two commands" block says CI runs."""
    text = (PROJECT_ROOT / "README.md").read_text()
    block = re.search(r"## The two commands\n+```bash\n(.*?)```", text, flags=re.S)
    assert block, "README: no code block under '## The two commands'"
    [command] = [
        line.split("#", 1)[0].strip()
        for line in block.group(1).splitlines()
        if "(what CI runs)" in line
    ]
    return command


def recipe(target: str) -> list[str]:
    """The command lines of a Makefile target; a target without any names its prerequisites."""
    lines = (PROJECT_ROOT / "Makefile").read_text().splitlines()
    [start] = [i for i, line in enumerate(lines) if line.startswith(f"{target}:")]
    commands = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        commands.append(line.strip())
    return commands


def test_ci_runs_exactly_the_readmes_test_command() -> None:
    script = (PROJECT_ROOT / ".ci" / "run").read_text().splitlines()
    commands = [
        line
        for line in script
        if line.strip() and not line.startswith(("#", "set ", 'cd "$(dirname "$0")/.."'))
    ]
    assert commands == [readme_test_command()]


def test_the_ci_command_runs_every_test_and_make_test_the_default_suite() -> None:
    target = readme_test_command().removeprefix("make ")
    assert recipe(target) == ["$(BIN)/pytest"], "one session, no marker filter: every test"
    assert recipe("test") == ['$(BIN)/pytest -m "not slow and not scale" --ignore=tests/scale']
