"""The layering rules, checked on the source: no import cycle, a domain that knows no vendor, no process
globals, and no reference to documents outside the repository."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "listeners", "views", "sync")
#: The composition root: it builds and wires everything, so it may import anything, and nothing
#: outside it imports it.
COMPOSITION_ROOT = {"bot.app", "bot.runner", "bot.cli", "bot.doctor", "bot.__main__"}
VENDORS = ("slack_sdk", "slack_bolt", "jira")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                found[_module_name(path)] = path
    return found


MODULES = _modules()


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports_of(name: str) -> set[str]:
    """Every module this one imports, at the top or inside functions (not under TYPE_CHECKING)."""
    path = MODULES[name]
    tree = ast.parse(path.read_text())
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if _type_checking_only(node, parents):
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def internal_imports(name: str) -> set[str]:
    return {target for target in imports_of(name) if target in MODULES and target != name}


def test_no_import_cycle() -> None:
    graph = {name: internal_imports(name) for name in MODULES}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycle = [*stack[stack.index(target) :], target]
                pytest.fail("import cycle: " + " → ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)


def test_nothing_imports_the_composition_root() -> None:
    offenders = {
        (name, target)
        for name in MODULES
        if name not in COMPOSITION_ROOT
        for target in internal_imports(name) & COMPOSITION_ROOT
    }
    assert offenders == set()


def test_the_domain_knows_neither_vendors_nor_adapters() -> None:
    domain = {
        target
        for name in MODULES
        if name.split(".")[0] in ("listeners", "sync", "views")
        for target in internal_imports(name)
        if target.startswith("bot.") or target == "bot"
    }
    assert domain, "the domain modules were not found"
    offenders = {
        (name, target)
        for name in domain
        for target in imports_of(name)
        if target.split(".")[0] in (*VENDORS, "listeners", "sync")
    }
    assert offenders == set()


def test_no_process_wide_globals() -> None:
    offenders = [
        name
        for name, path in MODULES.items()
        if any(isinstance(node, ast.Global) for node in ast.walk(ast.parse(path.read_text())))
    ]
    assert offenders == []


def test_no_reference_to_documents_outside_the_repository() -> None:
    cited = re.compile(r"\bSPEC\b|SPEC\.md|DESIGN\.md|STYLE\.md|PROTOCOLS\.md|shared/|\bissue \d+\b")
    files = [
        p for package in (*PACKAGES, "sandbox", "bench", "tests", "docs") for p in (ROOT / package).rglob("*")
    ]
    files += [ROOT / "README.md", ROOT / "manifest.yml", ROOT / "pyproject.toml"]
    offenders = [
        str(path.relative_to(ROOT))
        for path in files
        if path.is_file()
        and path.suffix in (".py", ".md", ".yml", ".toml", ".txt", ".j2", ".ini")
        and path != Path(__file__).resolve()
        and cited.search(path.read_text(errors="replace"))
    ]
    assert offenders == []
