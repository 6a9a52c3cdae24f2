"""The domain (``ilertd/domain``, ``ilertd/oncall``) imports no I/O: no network, database,
files or processes, and nothing of the layers built on it. Checked on the source, so an
import inside a function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE = [ROOT / "ilertd" / "domain", ROOT / "ilertd" / "oncall"]
#: top-level modules that do I/O, and ilertd's own layers above the domain
FORBIDDEN = {
    "aiohttp",
    "asyncpg",
    "aiosmtplib",
    "asyncio",
    "socket",
    "ssl",
    "subprocess",
    "urllib",
    "http",
    "smtplib",
    "shutil",
    "projections",
    "eventstore",
}
#: pure parts of otherwise forbidden packages: URL parsing, the event type registry
ALLOWED = {"urllib.parse", "eventstore.mapping"}
FORBIDDEN_OWN = ("http", "outbound", "inbound", "notify", "engine", "app", "serve", "cli")


def _modules() -> list[Path]:
    return sorted(path for folder in PURE for path in folder.rglob("*.py"))


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            found.append((node.lineno, base))
    return found


def _offence(path: Path, name: str) -> str | None:
    if name in ALLOWED:
        return None
    if not name.startswith("."):
        top = name.split(".")[0]
        if top in FORBIDDEN:
            return name
        if top == "ilertd" and name.split(".")[1:2] and name.split(".")[1] in FORBIDDEN_OWN:
            return name
        return None
    # relative: resolve against the package the module is in
    depth = len(name) - len(name.lstrip("."))
    package = path.parent
    for _ in range(depth - 1):
        package = package.parent
    target = package.relative_to(ROOT).parts + tuple(p for p in name.lstrip(".").split(".") if p)
    if target[:1] == ("ilertd",) and len(target) > 1 and target[1] in FORBIDDEN_OWN:
        return ".".join(target)
    return None


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_imports_no_io(path: Path) -> None:
    offences = [
        f"line {line}: {found}"
        for line, name in _imports(path)
        if (found := _offence(path, name)) is not None
    ]
    assert not offences, offences


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    fake = ROOT / "ilertd" / "domain" / "x.py"
    assert _offence(fake, "asyncpg") == "asyncpg"
    assert _offence(fake, "..outbound.payload") == "ilertd.outbound.payload"
    assert _offence(fake, ".conditions") is None
    assert _offence(fake, "ilertd.http.routes") == "ilertd.http.routes"
    assert _offence(fake, "urllib.request") == "urllib.request"
    assert _offence(fake, "eventstore.store") == "eventstore.store"
