"""The documentation the code leans on stays true to the code.

Comments cite docs/<page>.md#<anchor> for behaviour they depend on (what real WCAP
clients do, mostly); a citation whose section is gone, renamed or never written sends
a reader nowhere, so every one must resolve. docs/design.md's package layout table is
the newcomer's map of the package: it names no module that is gone, and no module or
package is missing from it.
"""

import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CITED_IN = ("radicale_wcap", "tests", "benchmarks")
CITATION = re.compile(r"docs/([\w.-]+\.md)#([\w-]+)")
# A citation of the client guide in any other form (the old "wcap-clients.md §3.2").
BARE = re.compile(r"(?<!docs/)wcap-clients(\.md)?(?!\.md#)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: str) -> set:
    path = os.path.join(ROOT, "docs", page)
    found, fenced = set(), False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("```"):
                fenced = not fenced
            elif not fenced and line.startswith("#"):
                found.add(slug(line.lstrip("#")))
    return found


def sources():
    for top in CITED_IN:
        for folder, _, files in os.walk(os.path.join(ROOT, top)):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    with open(path, encoding="utf-8") as f:
                        yield os.path.relpath(path, ROOT), f.read()


def test_slug_follows_github():
    assert slug("Free/busy by address") == "freebusy-by-address"
    assert slug("Lightning `fetch`") == "lightning-fetch"


def test_every_cited_section_exists():
    cited, missing = 0, []
    for path, text in sources():
        for page, anchor in CITATION.findall(text):
            cited += 1
            if not os.path.exists(os.path.join(ROOT, "docs", page)):
                missing.append("%s: docs/%s does not exist" % (path, page))
            elif anchor not in anchors(page):
                missing.append("%s: docs/%s has no section #%s" % (path, page, anchor))
    assert cited > 30  # the WCAP modules cite the client guide throughout
    assert not missing, "\n".join(missing)


def test_client_guide_is_cited_by_section_only():
    here = os.path.relpath(os.path.abspath(__file__), ROOT)
    stale = ["%s:%d" % (path, text.count("\n", 0, m.start()) + 1)
             for path, text in sources() if path != here for m in BARE.finditer(text)]
    assert not stale, "cite docs/wcap-clients.md#<section>: " + ", ".join(stale)


@pytest.mark.parametrize("page", sorted(p for p in os.listdir(os.path.join(ROOT, "docs"))
                                        if p.endswith(".md")))
def test_links_within_docs_resolve(page):
    with open(os.path.join(ROOT, "docs", page), encoding="utf-8") as f:
        text = f.read()
    broken = [target for target in re.findall(r"\]\(#([\w-]+)\)", text)
              if target not in anchors(page)]
    broken += ["%s#%s" % (other, target)
               for other, target in re.findall(r"\]\(([\w.-]+\.md)#([\w-]+)\)", text)
               if not os.path.exists(os.path.join(ROOT, "docs", other))
               or target not in anchors(other)]
    assert not broken, broken
# -- docs/design.md's package layout table names every module, and only modules that exist

PACKAGE = os.path.join(ROOT, "radicale_wcap")
NAME = re.compile(r"`([\w./{},]+?(?:\.py|/))`")


def _expand(name: str) -> list:
    """``render/{ical,xml,js}.py`` -> the three paths."""
    match = re.match(r"(.*)\{([^}]*)\}(.*)", name)
    if not match:
        return [name]
    head, choices, tail = match.groups()
    return [n for choice in choices.split(",") for n in _expand(head + choice + tail)]


def layout_rows() -> list:
    """(package folder, [names]) per row of the package layout table: names in the first
    column are relative to ``radicale_wcap/``, names in the second to the row's package
    (the first column's folder, when it names exactly one)."""
    with open(os.path.join(ROOT, "docs", "design.md"), encoding="utf-8") as f:
        text = f.read()
    section = text.split("## Package layout", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or set(cells[0]) <= set("-: "):
            continue
        owners = [n for found in NAME.findall(cells[0]) for n in _expand(found)]
        base = owners[0] if len(owners) == 1 and owners[0].endswith("/") else ""
        held = [base + n for found in NAME.findall(" ".join(cells[1:])) for n in _expand(found)]
        rows.append((owners, held))
    return rows


def named_in_design() -> set:
    return {name for owners, held in layout_rows() for name in owners + held}


def package_entries() -> set:
    """The package's modules and sub-packages, as design.md spells them."""
    found = set()
    for folder, dirs, files in os.walk(PACKAGE):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        rel = os.path.relpath(folder, PACKAGE)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        if prefix and "__init__.py" in files:
            found.add(prefix)
        found.update(prefix + f for f in files if f.endswith(".py") and f != "__init__.py")
    found.discard("__init__.py")
    return found


def test_design_names_only_modules_that_exist():
    entries = package_entries()
    ghosts = sorted(n for n in named_in_design() if n not in entries
                    and not n.endswith("/__init__.py"))
    assert not ghosts, "design.md names modules that do not exist: %s" % ghosts


def test_design_names_every_module():
    """Every top-level module and every package is named in the table; a module inside a
    package is named in its package's row or, when the table does not list it yet, at
    least its package is (so that a module added to a package keeps the suite green,
    while a module or package the table does not know at all fails it)."""
    named = named_in_design()
    missing = [entry for entry in sorted(package_entries()) if entry not in named
               and entry.rstrip("/").rpartition("/")[0] + "/" not in named]
    assert not missing, "design.md's package layout does not name: %s" % missing
