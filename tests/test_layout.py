"""The package's layout, read from its import graph.

``gan_utils`` has a ground floor, the core (the modules directly in the package: runtime, data,
models, losses, the training step and harness, checkpoints, ...), and one subpackage per part of the
book above it: ``foundations`` (chapters 1-4), ``dynamics`` (5-6) and ``images`` (7-10). The core
imports no part, and an earlier part never imports a later one. Every ``import`` statement counts,
also those inside functions.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import gan_utils

PACKAGE = Path(__file__).resolve().parents[1] / "gan_utils"
FLOORS = {"core": 0, "foundations": 1, "dynamics": 2, "images": 3}


def floor_of(module: str) -> str:
    """'gan_utils.dynamics.saddle' -> 'dynamics'; 'gan_utils.train' -> 'core'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in FLOORS else "core"


def imported_modules(source: str, module: str) -> set[str]:
    """The gan_utils modules (or packages) that ``source`` (the text of ``module``) imports."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "gan_utils"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against the importing module's package
                base = module.split(".")[: -node.level]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name.split(".")[0] != "gan_utils":
                continue
            found.add(name)
            if name in ("gan_utils", *(f"gan_utils.{p}" for p in FLOORS)):  # from gan_utils import foundations
                found |= {f"{name}.{a.name}" for a in node.names}
    return found


def violations(modules: dict[str, str]) -> list[str]:
    """Every import from a module to a higher floor (core < foundations < dynamics < images)."""
    out = []
    for module, source in sorted(modules.items()):
        mine = FLOORS[floor_of(module)]
        for target in sorted(imported_modules(source, module)):
            if FLOORS[floor_of(target)] > mine:
                out.append(f"{module} ({floor_of(module)}) imports {target} ({floor_of(target)})")
    return out


def package_sources() -> dict[str, str]:
    sources = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        sources[name] = path.read_text()
    return sources


def test_no_module_imports_a_later_part_of_the_book():
    sources = package_sources()
    assert {floor_of(m) for m in sources} == set(FLOORS), "every floor should hold modules"
    assert violations(sources) == []


def test_every_module_lives_on_a_floor():
    """Only the three parts are subpackages: a new folder must be given a floor here first."""
    folders = {p.parent.name for p in PACKAGE.rglob("*.py") if p.parent != PACKAGE}
    assert folders <= set(FLOORS) - {"core"}, folders


@pytest.mark.parametrize("line, importer", [
    ("from gan_utils.images.latent import slerp", "gan_utils.train"),              # core -> part
    ("import gan_utils.dynamics.saddle", "gan_utils.foundations.minimax"),         # earlier -> later
    ("def f():\n    from gan_utils.images import dissection", "gan_utils.dynamics.unrolled"),  # in a function
    ("from ..images import latent", "gan_utils.dynamics.stacked_mnist"),           # relative
])
def test_a_planted_upward_import_is_caught(line, importer):
    assert len(violations({importer: line})) == 1


def test_downward_imports_are_allowed():
    assert violations({"gan_utils.images.latent": "from gan_utils.foundations.divergences import kl\n"
                                                  "from gan_utils import models"}) == []


def test_the_api_page_and_the_package_docstring_describe_this_layout():
    """book/api.md documents every module, and the package docstring names every computing module
    under its floor, so the three descriptions of the package cannot drift apart."""
    api = (PACKAGE.parent / "book" / "api.md").read_text()
    sources = package_sources()
    assert sorted(m for m in sources if f".. automodule:: {m}\n" not in api) == []
    doc = gan_utils.__doc__ or ""
    sections = {floor: doc for floor in FLOORS}  # the docstring's paragraph of each part
    for floor in ("foundations", "dynamics", "images"):
        start = doc.index(f":mod:`gan_utils.{floor}`")
        sections[floor] = doc[start:doc.index("\n* ", start) if "\n* " in doc[start:] else len(doc)]
    sections["core"] = doc[doc.index("**Core**"):doc.index(":mod:`gan_utils.foundations`")]
    unnamed = [m for m in sources if m.count(".") >= 1 and not m.endswith("_plots")
               and m.split(".")[-1] not in FLOORS
               and f"``{m.split('.')[-1]}``" not in sections[floor_of(m)]]
    assert unnamed == [], f"modules missing from the package docstring's list of their floor: {unnamed}"
