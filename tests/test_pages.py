"""The book's pages quote measured numbers from their notebooks; they never type them.

A number a page shows that comes from running code (a trained model's score, a timing, a quadrature
result) must be pasted from the executed notebook with myst-nb glue, so that the page cannot
disagree with its own build on any machine or in any profile. This test reads the page sources
(``book/*.md`` but the generated API reference and bibliography) and flags every *typed
measured-looking number* by the rule below. Published numbers stay typed, with their ``{cite}``.

The rule. Removed first: fenced code and maths blocks (and the options of any directive), ``$$``
display maths, inline ``$...$`` maths, inline code and every role's content (so ``{glue:text}``
pastes, ``{cite}`` keys and ``{ref}`` targets), link targets, HTML comments, label lines and
headings. Sentences containing a ``{cite}`` are then exempt (they quote a paper). In what is left, a
*typed number* is any of: a decimal (``0.412``, ``.5``), a number in scientific notation
(``2e-4``, ``3 × 10⁻²``), a percentage (``98%``), a value with ``±``, or a count ``N of M`` /
``N/M``; a decimal right after a cross-reference word (Section, §, Chapter, Figure, Table,
Theorem, ...) is a section number, not a measurement. Protocol constants that a page may still
type are listed, each with its reason, in :data:`ALLOWED`, at most 10 over all pages.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("ch*.md"))
# The rule holds on every page of prose; the API reference and the bibliography are generated.
PAGES = sorted(p for p in (ROOT / "book").glob("*.md") if p.stem not in {"api", "bibliography"})

#: (page, token) -> why this typed number is a protocol constant, not a measurement. At most 10.
ALLOWED: dict[tuple[str, str], str] = {}
MAX_ALLOWED = 10

# Directives whose body is code, maths or pasted output: nothing in them is prose.
_OPAQUE = {"", "math", "code", "code-block", "code-cell", "literalinclude", "glue", "glue:any", "glue:figure",
           "glue:math", "python", "bash", "text", "console", "bibliography", "toctree"}
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,}|:{3,})\s*(\{([^}]*)\})?\s*([^\s{]*)")
_XREF = (r"(?:§|Sections?|Chapters?|Figures?|Fig\.|Tables?|Theorems?|Propositions?|Lemmas?|Definitions?"
         r"|Corollary|Algorithm|Equations?|Eq\.|Exercises?|Parts?|Steps?|experiments?|sections?|chapters?)")
_NUMBER = re.compile(
    r"(?P<pm>(?:\d*\.?\d+\s*)?±\s*\d*\.?\d*)"
    r"|(?P<sci>\b\d+(?:\.\d+)?\s*(?:e[-+]?\d+\b|[×x]\s*10(?:\^?\{?[-−]?\d+\}?|[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)))"
    r"|(?P<pct>\b\d+(?:\.\d+)?\s?%)"
    r"|(?P<count>\b\d+\s+(?:of|out of)\s+\d+\b|\b\d+/\d+\b)"
    r"|(?P<dec>(?<![\w.])\d*\.\d+\b)"
)
_XREF_BEFORE = re.compile(_XREF + r"\s*(?:[\d.]+\s*[–-]\s*)?(?:\d+\.)*\d*$")


def prose_sentences(text: str) -> list[tuple[int, str]]:
    """The page's prose as (first line number, sentence), with code, maths, roles and links removed."""
    lines = text.splitlines()
    kept: list[tuple[int, str]] = []
    fence: str | None = None
    in_comment = in_display_math = opaque = False
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if fence is not None:
            if stripped.startswith(fence) and stripped.rstrip(fence[0]) == "":
                fence = None
                continue
            if opaque or re.match(r"^:\w[\w-]*:", stripped):
                continue
        else:
            match = _FENCE.match(line)
            if match and (match.group(2)[0] != ":" or match.group(3)):
                fence = match.group(2)
                directive = (match.group(4) or match.group(5) or "").strip()
                opaque = directive in _OPAQUE or directive.startswith("code")
                continue
        if in_comment:
            in_comment = "-->" not in line
            continue
        if stripped.startswith("<!--"):
            in_comment = "-->" not in stripped
            continue
        if stripped.startswith("$$"):
            single = stripped.count("$$") >= 2 and len(stripped) > 2
            if not single:
                in_display_math = not in_display_math
            continue
        if in_display_math:
            continue
        if stripped.startswith("#") or re.match(r"^\(.*\)=$", stripped):
            continue
        kept.append((number, line))
    # Join each paragraph, drop inline maths, code, roles and link targets, then split sentences.
    sentences: list[tuple[int, str]] = []
    paragraph: list[tuple[int, str]] = []

    def flush() -> None:
        if not paragraph:
            return
        start = paragraph[0][0]
        body = " ".join(text for _, text in paragraph)
        body = re.sub(r"\$[^$]*\$", " ", body)
        body = re.sub(r"`[^`]*`", " ", body)
        body = re.sub(r"\]\([^)]*\)", "]", body)
        for part in re.split(r"(?<=[.!?])\s+(?=[A-Z*(\[])", body):
            sentences.append((start, part))
        paragraph.clear()

    previous = None
    for number, line in kept:
        if not line.strip() or (previous is not None and number != previous + 1):
            flush()
        if line.strip():
            paragraph.append((number, line))
        previous = number
    flush()
    return sentences


def typed_numbers(text: str) -> list[tuple[int, str, str]]:
    """Every typed measured-looking number in a page: (line, token, sentence); see the module docstring."""
    found = []
    for line, sentence in prose_sentences(text):
        if "{cite" in sentence:
            continue
        for match in _NUMBER.finditer(sentence):
            if match.group("dec") and _XREF_BEFORE.search(sentence[: match.start()].rstrip()[-40:] + ""):
                continue
            found.append((line, match.group(0), sentence.strip()))
    return found


def page_counts() -> dict[str, int]:
    return {page.name: len(typed_numbers(page.read_text(encoding="utf-8"))) for page in PAGES}


def test_no_typed_measured_numbers_on_the_pages():
    assert len(ALLOWED) <= MAX_ALLOWED, f"{len(ALLOWED)} allowed typed constants, at most {MAX_ALLOWED}"
    offenders = []
    for page in PAGES:
        for line, token, sentence in typed_numbers(page.read_text(encoding="utf-8")):
            if (page.name, token) not in ALLOWED:
                offenders.append(f"book/{page.name}:{line}: {token!r} in: {sentence[:140]}")
    assert not offenders, (
        f"{len(offenders)} typed measured numbers on chapter pages; glue them from the notebook "
        "(gan_utils.pages.quote) or cite them:\n" + "\n".join(offenders)
    )


@pytest.mark.parametrize("page", CHAPTERS + [ROOT / "book" / "errata.md"], ids=lambda p: p.stem)
def test_each_page_with_a_notebook_says_which_profile_built_it(page):
    text = page.read_text(encoding="utf-8")
    assert re.search(r"\{glue:text\}`\.\./notebooks/[\w.]+\.ipynb::profile:s`", text), (
        f"{page.name} must paste its notebook's profile: {{glue:text}}`../notebooks/<nb>.ipynb::profile:s`")


@pytest.mark.parametrize("planted", ["measured at 0.412 nats here", "a loss of 0.41 ± 0.02",
                                     "in 98% of the runs", "it recovered 3 of 24 codes", "at 2.4e-21"])
def test_the_rule_catches_a_planted_number(planted):
    page = CHAPTERS[0].read_text(encoding="utf-8")
    before = typed_numbers(page)
    planted_page = page + "\n\nIn the notebook the estimate came out " + planted + ", as expected.\n"
    after = typed_numbers(planted_page)
    assert len(after) == len(before) + 1, (planted, after[len(before):])


@pytest.mark.parametrize("kept", ["the gap is $0.412$ nats", "see Section 4.5 and §6.2", "{cite}`x` reports 0.412",
                                  "pasted {glue:text}`../notebooks/a.ipynb::k:.3f` nats", "`lr = 2e-4`"])
def test_the_rule_leaves_maths_code_glue_and_citations(kept):
    assert typed_numbers("Some prose: " + kept + ".\n") == []


if __name__ == "__main__":  # python tests/test_pages.py: typed numbers per chapter page
    counts = page_counts()
    for name, count in counts.items():
        print(f"{count:5d}  {name}")
    print(f"{sum(counts.values()):5d}  total")
    if len(sys.argv) > 1:
        for line, token, sentence in typed_numbers((ROOT / "book" / sys.argv[1]).read_text(encoding="utf-8")):
            print(f"{line}: {token!r}: {sentence[:150]}")
