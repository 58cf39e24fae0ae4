"""Tests for gan_utils.runtime: profiles, device choice, seeding."""
import random
import re
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import gan_utils
from gan_utils import runtime
from gan_utils.runtime import (
    PROFILES,
    CostEstimate,
    by_profile,
    describe_runtime,
    format_seconds,
    get_device,
    get_profile,
    seconds_per_call,
    seed_everything,
    torch_threads,
)


# --------------------------------------------------------------------------------------- profiles
def _readme_profiles() -> list[str]:
    """The profile names in the first column of the table under README's "## Profiles" heading."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Profiles\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([^`]+)` \|", section, flags=re.M)


def test_the_profiles_of_readmes_table_are_the_ones_the_code_accepts(monkeypatch):
    documented = _readme_profiles()
    assert documented, "no profile table found in README's Profiles section"
    assert sorted(documented) == sorted(PROFILES), (documented, PROFILES)
    for name in documented:
        monkeypatch.setenv("GAN_BOOK_PROFILE", name)
        assert get_profile() == name
        assert by_profile(**{p: p for p in documented}) == name  # one keyword of by_profile per profile


def test_default_profile_is_standard_on_cpu(monkeypatch):
    monkeypatch.delenv("GAN_BOOK_PROFILE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert get_profile() == "standard"
    monkeypatch.setenv("GAN_BOOK_PROFILE", "   ")  # blank counts as unset
    assert get_profile() == "standard"


def test_default_profile_is_standard_on_cuda_too(monkeypatch):
    # full is opt-in: a reader on a small GPU must not start paper-scale runs without asking
    monkeypatch.delenv("GAN_BOOK_PROFILE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_profile() == "standard"


def test_seconds_per_call_measures_the_median_and_counts_calls():
    calls = []

    def fn():
        calls.append(1)
        time.sleep(0.01)

    seconds = seconds_per_call(fn, repeats=3, warmup=2)
    assert len(calls) == 5
    assert 0.009 <= seconds < 0.5
    with pytest.raises(ValueError, match="repeats"):
        seconds_per_call(fn, repeats=0)


def test_cost_estimate_sums_parts_and_warns_over_the_limit(monkeypatch, capsys):
    monkeypatch.setenv("GAN_BOOK_PROFILE", "standard")
    cost = CostEstimate(torch.device("cpu"), limit_s=600)
    cost.add("training", 0.004, 10_000).add("scoring", 0.5, 20)
    assert cost.total_s == pytest.approx(50.0)
    text = cost.report()
    assert "profile 'standard' on cpu" in text and "about 50 s" in text and "more than" not in text
    assert capsys.readouterr().out.strip() == text
    cost.add("big", 1.0, 700)
    assert "more than 10 min 00 s" in cost.report() and "=smoke for a shorter run" in cost.report()
    monkeypatch.setenv("GAN_BOOK_PROFILE", "full")
    assert "=standard or smoke for a shorter run" in cost.report()
    with pytest.raises(ValueError, match="non-negative"):
        cost.add("bad", -1.0, 3)


@pytest.mark.parametrize("seconds,text", [(4.25, "4.2 s"), (42, "42 s"), (185, "3 min 05 s"), (3720, "1 h 02 min")])
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text


@pytest.mark.parametrize("raw,expected", [("smoke", "smoke"), ("standard", "standard"), ("full", "full"),
                                          (" Smoke ", "smoke"), ("FULL", "full")])
def test_valid_profiles_are_read_case_and_space_insensitively(monkeypatch, raw, expected):
    monkeypatch.setenv("GAN_BOOK_PROFILE", raw)
    assert get_profile() == expected


@pytest.mark.parametrize("raw", ["fast", "smok", "standard,full", "0"])
def test_invalid_profile_error_names_all_valid_profiles(monkeypatch, raw):
    monkeypatch.setenv("GAN_BOOK_PROFILE", raw)
    with pytest.raises(ValueError) as info:
        get_profile()
    message = str(info.value)
    for name in ("smoke", "standard", "full"):
        assert name in message
    assert "GAN_BOOK_PROFILE" in message


def test_conftest_runs_tests_in_smoke_profile():
    assert get_profile() == "smoke"


def test_by_profile_picks_the_value_of_the_active_profile(monkeypatch):
    for profile, expected in (("smoke", 10), ("standard", 200), ("full", 3000)):
        monkeypatch.setenv("GAN_BOOK_PROFILE", profile)
        assert by_profile(10, 200, 3000) == expected
        # an explicit profile overrides the environment
        assert by_profile("a", "b", "c", profile="full") == "c"
        assert by_profile("a", "b", "c", profile="smoke") == "a"


def test_by_profile_rejects_unknown_profile():
    with pytest.raises(ValueError, match="smoke.*standard.*full"):
        by_profile(1, 2, 3, profile="huge")


# ----------------------------------------------------------------------------------------- device
def test_get_device_is_cpu_on_this_machine():
    if torch.cuda.is_available():
        pytest.skip("CUDA machine")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        pytest.skip("MPS machine")
    device = get_device()
    assert isinstance(device, torch.device)
    assert device.type == "cpu"


def test_get_device_prefers_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_device().type == "cuda"


def test_describe_runtime_is_one_line_naming_profile_and_device():
    line = describe_runtime(torch.device("cpu"))
    assert "\n" not in line
    assert "profile=smoke" in line and "device=cpu" in line and f"torch={torch.__version__}" in line


# ---------------------------------------------------------------------------------------- seeding
def _draw():
    return (random.random(), np.random.rand(3).tolist(), torch.rand(3).tolist(), torch.randn(2, 2).tolist())


def test_seed_everything_makes_all_three_streams_repeat():
    seed_everything(1234)
    first = _draw()
    seed_everything(1234)
    second = _draw()
    assert first == second
    seed_everything(1235)
    third = _draw()
    # each stream individually changes with the seed (a stream left unseeded would not repeat above,
    # a stream ignoring the seed would repeat here)
    for a, b in zip(first, third):
        assert a != b


def test_seed_everything_matches_each_library_seeded_directly():
    seed_everything(7)
    ours = _draw()
    random.seed(7)
    np.random.seed(7)
    torch.manual_seed(7)
    assert _draw() == ours


def test_seed_everything_returns_a_seeded_generator():
    g1 = seed_everything(99)
    a = torch.rand(5, generator=g1)
    b = torch.rand(5, generator=torch.Generator().manual_seed(99))
    assert torch.equal(a, b)
    assert g1.device.type == "cpu"
    assert torch.backends.cudnn.deterministic is True
    assert torch.backends.cudnn.benchmark is False


def test_seed_everything_accepts_large_seeds():
    seed_everything(2**40 + 3)  # numpy takes seed mod 2**32
    a = np.random.rand()
    seed_everything(2**40 + 3)
    assert np.random.rand() == a


@pytest.mark.parametrize("bad", [-1, 1.5, "3", None, True, 2**64])
def test_seed_everything_rejects_bad_seeds(bad):
    with pytest.raises(ValueError, match="seed"):
        seed_everything(bad)


def test_package_reexports_runtime_functions():
    assert gan_utils.seed_everything is runtime.seed_everything
    assert gan_utils.by_profile is runtime.by_profile


def test_torch_threads_sets_and_restores_the_thread_count():
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError):  # restored even when the block fails
        with torch_threads(1):
            raise RuntimeError("boom")
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError):
        with torch_threads(0):
            pass
