"""No module imports another package's ``_private`` module or name (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import twinrca

SRC = Path(twinrca.__file__).parent


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def cross_package_private_imports(root: Path) -> list[str]:
    """``file:line module.name`` of every import of another package's private module
    or name under ``root`` (a ``twinrca`` package folder)."""
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).with_suffix("")
        own = _package(".".join(rel.parts))
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [(node.module, a.name) for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [(a.name, "") for a in node.names]
            else:
                continue
            for module, name in targets:
                if not module.startswith("twinrca.") or _package(module) == own:
                    continue
                segments = module.split(".")[2:] + ([name] if name else [])
                if any(_private(s) for s in segments):
                    found.append(f"{path.relative_to(root.parent)}:{node.lineno} {module}.{name}")
    return found


def test_no_cross_package_private_import() -> None:
    assert cross_package_private_imports(SRC) == []


def test_the_check_finds_one(tmp_path: Path) -> None:
    pkg = tmp_path / "twinrca"
    (pkg / "a").mkdir(parents=True)
    (pkg / "b").mkdir()
    (pkg / "a" / "m.py").write_text("from twinrca.b.n import _hidden\nfrom twinrca.a._x import y\n")
    (pkg / "b" / "m.py").write_text("import twinrca.a._x\nfrom twinrca.a import public\n")
    found = cross_package_private_imports(pkg)
    assert found == ["twinrca/a/m.py:1 twinrca.b.n._hidden", "twinrca/b/m.py:1 twinrca.a._x."]
