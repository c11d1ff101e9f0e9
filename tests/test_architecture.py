"""The house rules of CONTRIBUTING.md, checked against the code: the import direction and the heavy libraries (both
read from CONTRIBUTING.md itself), services that never commit, routers that decode strictly, source configs that
refuse unknown keys, and settings read in one place."""

from __future__ import annotations

import ast
import re
import typing
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RULE = re.compile(r"\*\*Imports point one way:\*\* `(?P<order>[a-z_]+(?: -> [a-z_]+)+)`")
HEAVY_RULE = re.compile(r"Heavy libraries \((?P<names>[^)]+)\) are imported only inside the functions that use them")
SETTINGS_MODULE = "app/settings.py"
ROUTER_MODULE = "core/http.py"


def layer_order(contributing: str) -> list[str]:
    """The packages from the top of the import graph to its bottom, as CONTRIBUTING.md states them."""
    found = RULE.search(contributing)
    assert found, "CONTRIBUTING.md no longer states the import direction in its usual form"
    return found["order"].split(" -> ")


def heavy_libraries(contributing: str) -> set[str]:
    """The modules CONTRIBUTING.md names as too slow to import with a module (`dlib`, ...)."""
    found = HEAVY_RULE.search(contributing)
    assert found, "CONTRIBUTING.md no longer names the heavy libraries in its usual form"
    return set(re.findall(r"`([a-z_]+)`", found["names"]))


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def source_files(root: Path, packages: list[str]) -> list[Path]:
    return sorted(path for package in packages for path in (root / package).rglob("*.py"))


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """Every absolute import in the module, at any depth (an import inside a function counts the same)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
    return found


def imports_run_at_import(body: list[ast.stmt]) -> list[tuple[int, str]]:
    """The absolute imports that run when the module is imported: at module level, in class bodies and in blocks
    that run then (`if`, `try`, `with`), not in functions nor under `if TYPE_CHECKING:`."""
    found: list[tuple[int, str]] = []
    for node in body:
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.If) and ast.unparse(node.test) in {"TYPE_CHECKING", "typing.TYPE_CHECKING"}:
            found += imports_run_at_import(node.orelse)
        elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for field in ("body", "orelse", "finalbody", "handlers"):
                for child in getattr(node, field, []):
                    found += imports_run_at_import(child.body if isinstance(child, ast.ExceptHandler) else [child])
    return found


def heavy_imports_at_import(root: Path, packages: list[str], heavy: set[str]) -> list[Finding]:
    findings = []
    for path in source_files(root, packages):
        for line, module in imports_run_at_import(ast.parse(path.read_text(), str(path)).body):
            if module.split(".")[0] in heavy:
                findings.append(Finding(str(path.relative_to(root)), line, f"imports {module} with the module"))
    return findings


def wrong_way_imports(root: Path, order: list[str]) -> list[Finding]:
    """Imports from a package to one above it (or sideways into one that is not below)."""
    rank = {package: index for index, package in enumerate(order)}
    findings = []
    for path in source_files(root, order):
        own = path.relative_to(root).parts[0]
        for line, module in imported_modules(ast.parse(path.read_text(), str(path))):
            target = module.split(".")[0]
            if target in rank and target != own and rank[target] < rank[own]:
                findings.append(Finding(str(path.relative_to(root)), line, f"{own} imports {module}"))
    return findings


def commits_in_services(root: Path, packages: list[str]) -> list[Finding]:
    findings = []
    for path in source_files(root, packages):
        if path.name != "service.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "commit":
                findings.append(Finding(str(path.relative_to(root)), node.lineno, "a service calls commit()"))
    return findings


def environment_reads(root: Path, packages: list[str]) -> list[Finding]:
    """`os.environ`, `os.getenv`, `environ` or `getenv` anywhere but the settings module."""
    findings = []
    for path in source_files(root, packages):
        relative = str(path.relative_to(root))
        if relative == SETTINGS_MODULE:
            continue
        for node in ast.walk(ast.parse(path.read_text(), relative)):
            name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
            imported = isinstance(node, ast.ImportFrom) and node.module == "os"
            if name in {"environ", "getenv", "putenv", "environb"} or (
                imported and {alias.name for alias in node.names} & {"environ", "getenv"}
            ):
                findings.append(Finding(relative, node.lineno, "reads the environment"))
    return findings


def plain_routers(root: Path, packages: list[str]) -> list[Finding]:
    """Routers built as `APIRouter(...)` rather than by `core.http.api_router`, which decodes bodies strictly."""
    findings = []
    for path in source_files(root, packages):
        relative = str(path.relative_to(root))
        if relative == ROUTER_MODULE:
            continue
        for node in ast.walk(ast.parse(path.read_text(), relative)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "APIRouter":
                findings.append(Finding(relative, node.lineno, "builds an APIRouter; use core.http.api_router"))
    return findings


def source_config_classes() -> list[type]:
    from watchers.sources.registry import SourceConfig

    union = typing.get_args(SourceConfig)[0]
    return list(typing.get_args(union))


@pytest.fixture(scope="module")
def order() -> list[str]:
    return layer_order((ROOT / "CONTRIBUTING.md").read_text())


def test_contributing_names_every_source_package(order: list[str]) -> None:
    assert order == ["app", "watchers", "watchlist", "core"]
    assert all((ROOT / package / "__init__.py").exists() for package in order)


def test_imports_point_one_way(order: list[str]) -> None:
    assert [str(finding) for finding in wrong_way_imports(ROOT, order)] == []


def test_heavy_libraries_are_imported_by_the_functions_that_use_them(order: list[str]) -> None:
    heavy = heavy_libraries((ROOT / "CONTRIBUTING.md").read_text())
    assert heavy >= {"dlib", "face_recognition", "onnxruntime", "onnx", "telethon", "av"}
    assert [str(finding) for finding in heavy_imports_at_import(ROOT, order, heavy)] == []


def test_services_never_commit(order: list[str]) -> None:
    assert [str(finding) for finding in commits_in_services(ROOT, order)] == []


def test_only_the_settings_read_the_environment(order: list[str]) -> None:
    assert [str(finding) for finding in environment_reads(ROOT, order)] == []


def test_every_router_decodes_bodies_strictly(order: list[str]) -> None:
    assert [str(finding) for finding in plain_routers(ROOT, order)] == []


def test_every_source_config_refuses_unknown_keys() -> None:
    configs = source_config_classes()
    assert len(configs) >= 4
    assert {config.__name__: config.model_config.get("extra") for config in configs} == {
        config.__name__: "forbid" for config in configs
    }


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_the_checks_find_what_they_are_for(tmp_path: Path) -> None:
    """Each check, on a small tree that breaks its rule once, names the file and the line."""
    order = ["app", "watchers", "watchlist", "core"]
    for package in order:
        write(tmp_path, f"{package}/__init__.py", "")
    write(
        tmp_path,
        "watchlist/service.py",
        "import os\n\nfrom core.errors import NotFound\n\n\ndef f(s):\n    s.commit()\n",
    )
    write(tmp_path, "watchlist/engine.py", "def lazy():\n    from app.settings import Settings\n")
    write(tmp_path, "core/clock.py", "import os\nTZ = os.environ.get('TZ')\n")
    write(tmp_path, "app/settings.py", "import os\nX = os.getenv('X')\n")
    write(tmp_path, "app/main.py", "from watchers import jobs\nfrom core import db\n")
    write(tmp_path, "app/routes.py", "from fastapi import APIRouter\n\nrouter = APIRouter()\n")
    write(
        tmp_path,
        "watchers/frames.py",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import av\n\n\ndef decode():\n    import av\n\n\n"
        "class Reader:\n    try:\n        from telethon import errors\n    except ImportError:\n        pass\n",
    )

    assert [str(f) for f in wrong_way_imports(tmp_path, order)] == [
        "watchlist/engine.py:2: watchlist imports app.settings"
    ]
    assert [str(f) for f in commits_in_services(tmp_path, order)] == [
        "watchlist/service.py:7: a service calls commit()"
    ]
    assert [str(f) for f in environment_reads(tmp_path, order)] == ["core/clock.py:2: reads the environment"]
    assert [str(f) for f in plain_routers(tmp_path, order)] == [
        "app/routes.py:3: builds an APIRouter; use core.http.api_router"
    ]
    assert [str(f) for f in heavy_imports_at_import(tmp_path, order, {"av", "telethon"})] == [
        "watchers/frames.py:12: imports telethon with the module"
    ]


def test_the_rules_are_read_from_contributing() -> None:
    assert layer_order("text\n**Imports point one way:** `a -> b -> c`\n") == ["a", "b", "c"]
    with pytest.raises(AssertionError, match="no longer states"):
        layer_order("imports go wherever")
    rule = "Heavy libraries (`dlib` and `av`, PyAV) are imported only inside the functions that use them"
    assert heavy_libraries(rule) == {"dlib", "av"}
    with pytest.raises(AssertionError, match="no longer names"):
        heavy_libraries("import anything anywhere")
