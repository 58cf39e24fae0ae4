"""Static checks on the notebooks and the table of contents (no execution: nbval does that).

* Notebooks are committed without outputs or execution counts (the book build executes them).
* Every notebook starts with the setup cell: the Colab-only install guard pointing at the
  repository of ``_config.yml``, then the profile/device/seed lines.
* ``_toc.yml`` lists only files that exist, and every notebook is in it.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _toc_files(node) -> list[str]:
    files = []
    if isinstance(node, dict):
        if "file" in node:
            files.append(node["file"])
        if "root" in node:
            files.append(node["root"])
        for value in node.values():
            files += _toc_files(value)
    elif isinstance(node, list):
        for item in node:
            files += _toc_files(item)
    return files


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found under notebooks/"


def dirty_cells(nb: dict) -> list[int]:
    """Indices of code cells that carry outputs or an execution count."""
    return [i for i, c in enumerate(nb["cells"])
            if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count") is not None)]


def test_dirty_cells_detects_outputs():
    nb = {"cells": [{"cell_type": "code", "outputs": [], "execution_count": None},
                    {"cell_type": "code", "outputs": [{"output_type": "stream", "text": "x"}], "execution_count": 3}]}
    assert dirty_cells(nb) == [1]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_committed_without_outputs(path: Path):
    assert dirty_cells(_load(path)) == [], f"{path.name}: clear outputs before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_setup_cell(path: Path):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo_url = config["repository"]["url"]
    nb = _load(path)
    first_code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    src = _source(first_code)
    assert '"google.colab" in sys.modules' in src or "'google.colab' in sys.modules" in src, \
        f"{path.name}: the setup cell must install only on Colab"
    urls = re.findall(r'REPO_URL\s*=\s*["\']([^"\']+)["\']', src)
    assert urls == [repo_url], f"{path.name}: REPO_URL {urls} differs from _config.yml's {repo_url}"
    for needed in ("get_device(", "describe_runtime(", "seed_everything(", "quote_profile("):
        assert needed in src, f"{path.name}: the setup cell must call {needed}...)"
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3", f"{path.name}: kernel must be python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_prints_its_cost_estimate_early(path: Path):
    """One cell reports CostEstimate (tagged nondeterministic: it prints timings), in the first third."""
    code = [c for c in _load(path)["cells"] if c["cell_type"] == "code"]
    cost = [i for i, c in enumerate(code) if "CostEstimate(" in _source(c) and ".report()" in _source(c)]
    assert len(cost) == 1, f"{path.name}: {len(cost)} cost-estimate cells, want 1"
    assert "nondeterministic" in code[cost[0]].get("metadata", {}).get("tags", []), path.name
    assert cost[0] < max(3, len(code) // 3), f"{path.name}: the cost estimate comes at code cell {cost[0]}"


def test_toc_lists_existing_files_and_every_notebook():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    listed = _toc_files(toc)
    missing = [f for f in listed if not any((ROOT / f).with_suffix(s).exists() for s in (".md", ".ipynb"))]
    assert not missing, f"_toc.yml lists files that do not exist: {missing}"
    for nb in NOTEBOOKS:
        assert f"notebooks/{nb.stem}" in listed, f"{nb.name} is not in _toc.yml"
