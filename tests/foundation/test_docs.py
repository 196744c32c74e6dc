"""The documentation the code leans on stays true to the code.

Comments cite docs/<page>.md#<anchor> for behaviour they depend on (what real WCAP
clients do, mostly); a citation whose section is gone, renamed or never written sends
a reader nowhere, so every one must resolve.
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
