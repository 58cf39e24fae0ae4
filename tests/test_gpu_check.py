"""scripts/gpu_check.py, dry-run on the CPU: budget, cost-estimate skip, glued values, throughput, JSON."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import nbformat
import pytest
import torch

pytestmark = pytest.mark.slow  # starts Jupyter kernels and a benchmark

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "scripts" / "gpu_check.py")
gpu_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gpu_check)


def _notebook(path: Path, estimate_s: float) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("from gan_utils.pages import quote, quote_profile\n"
                                  "from gan_utils.runtime import CostEstimate\nquote_profile()"),
        nbformat.v4.new_code_cell(f"CostEstimate().add('training', {estimate_s}, 1).report()"),
        nbformat.v4.new_code_cell("quote('answer', 42)"),
    ]
    nbformat.write(nb, path)
    return path


def test_dry_run_writes_one_json_with_device_times_and_glued_values(tmp_path):
    fits = _notebook(tmp_path / "fits.ipynb", 0.5)
    too_long = _notebook(tmp_path / "too_long.ipynb", 1e6)
    out = tmp_path / "check.json"
    report = gpu_check.main(["--allow-cpu", "--profile", "smoke", "--notebooks", str(fits), str(too_long),
                             "--throughput", "tiny", "--budget-s", "300", "--out", str(out)])
    assert json.loads(out.read_text()) == report
    assert report["device"]["type"] == "cpu" and report["profile"] == "smoke"
    first, second = report["notebooks"]
    assert first["status"] == "ok" and first["wall_s"] > 0 and first["estimate_s"] == 0.5
    assert first["glue"] == {"profile": "'smoke'", "built_on": "'cpu'", "answer": "42"}
    # the second notebook stops after its estimate (1e6 s > 300 s): the cell after it never runs
    assert second["status"] == "skipped: estimate" and second["estimate_s"] == 1e6
    assert "answer" not in second["glue"] and "profile" in second["glue"]
    assert report["throughput"]["status"] == "ok", report["throughput"]
    assert set(report["throughput"]["ratio_to_baseline"]) >= {"baseline", "ours"}


def test_no_notebook_starts_without_budget(tmp_path):
    nb = _notebook(tmp_path / "a.ipynb", 0.1)
    report = gpu_check.main(["--allow-cpu", "--profile", "smoke", "--notebooks", str(nb), "--throughput", "none",
                             "--budget-s", "5", "--min-start-s", "10", "--out", str(tmp_path / "c.json")])
    assert report["notebooks"][0]["status"] == "skipped: budget" and report["throughput"] is None


def test_refuses_to_run_without_cuda_unless_asked(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit, match="needs a CUDA GPU"):
        gpu_check.main(["--out", str(tmp_path / "x.json")])


def test_default_order_names_every_notebook_once():
    names = [p.stem for p in gpu_check.notebook_paths(None)]
    assert sorted(names) == sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert names[: len(gpu_check.ORDER)] == [n for n in gpu_check.ORDER if n in names]
