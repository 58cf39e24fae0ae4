"""Determinism: executing a notebook again in the smoke profile gives the same outputs.

The book build (``make build-smoke``) leaves every executed notebook in
``_build/jupyter_execute/``. This test executes each notebook once more with nbclient, in the same
profile and environment, and compares the text each code cell printed or returned (streams and
``text/plain``) and the figures' PNG bytes with the build's. A cell whose output may legitimately
vary (a wall-clock timing, say) opts out with the cell tag ``nondeterministic``.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXECUTED = ROOT / "_build" / "jupyter_execute" / "notebooks"


def comparable_outputs(nb: nbformat.NotebookNode, merged_by_build: bool = False) -> list[tuple[int, str, str]]:
    """(cell index, kind, content) for every deterministic output of every code cell.

    Stream chunks are joined per stream (how a long print is split into messages is timing, not
    output). ``merged_by_build``: the notebook comes from ``_build/jupyter_execute``, where myst-nb
    (``nb_merge_streams``) has already merged every stream into its first chunk but still keeps the
    later chunks after it; only the first chunk then counts.
    """
    rows = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or "nondeterministic" in cell.metadata.get("tags", []):
            continue
        streams: dict[str, str] = {}  # merged per stream: how a long print is chunked is not output
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                if merged_by_build:
                    streams.setdefault(out.name, out.text.rstrip())
                else:
                    streams[out.name] = streams.get(out.name, "") + out.text
            elif out.output_type in ("execute_result", "display_data"):
                data = out.get("data", {})
                if "image/png" in data:
                    rows.append((i, "png sha256", hashlib.sha256(data["image/png"].encode()).hexdigest()))
                elif "text/plain" in data and "application/vnd.jupyter.widget-view+json" not in data:
                    rows.append((i, "text/plain", data["text/plain"]))
            elif out.output_type == "error":
                rows.append((i, "error", out.ename))
        rows += [(i, name, "\n".join(line.rstrip() for line in text.rstrip().splitlines()))
                 for name, text in sorted(streams.items())]
    return rows


def test_comparable_outputs_sees_a_difference():
    """The comparison can fail: two notebooks that printed different numbers are told apart."""
    def nb_printing(text):
        nb = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell("print(x)")
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        nb.cells = [cell]
        return nb
    assert comparable_outputs(nb_printing("0.1234\n")) != comparable_outputs(nb_printing("0.1235\n"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_smoke_outputs_repeat(path: Path, missing):
    built = EXECUTED / path.name
    if not built.is_file():
        missing(f"{built} not found: run `make build-smoke` first")
    assert os.environ.get("GAN_BOOK_PROFILE") == "smoke", "this check is for the smoke profile"
    first = nbformat.read(built, as_version=4)
    second = nbformat.read(path, as_version=4)
    NotebookClient(second, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    a, b = comparable_outputs(first, merged_by_build=True), comparable_outputs(second)
    assert len(a) > 0, f"{path.name}: no outputs to compare"
    diffs = [(x, y) for x, y in zip(a, b) if x != y]
    assert len(a) == len(b) and not diffs, f"{path.name}: outputs differ between two smoke runs: {diffs[:3]}"
