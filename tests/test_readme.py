"""README.md is the module's reference page and docs/ holds the guides: the
README stays within 45,000 bytes, and every link between the pages, anchors
included, leads somewhere."""
import glob
import os
import re

from harness import REPO

README_LIMIT = 45000
PAGES = ['README.md'] + sorted(os.path.relpath(p, REPO)
                               for p in glob.glob(os.path.join(REPO, 'docs', '*.md')))
LINK = re.compile(r'\]\(([^)\s]+)\)')


def _slug(heading):
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces
    to hyphens."""
    s = re.sub(r'[^\w\- ]', '', heading.strip().lower())
    return s.replace(' ', '-')


def _anchors(path):
    text = open(path, encoding='utf-8').read()
    text = re.sub(r'^```.*?^```', '', text, flags=re.M | re.S)
    return {_slug(m.group(1)) for m in re.finditer(r'^#{1,6} (.*)$', text, re.M)}


def test_readme_size():
    size = os.path.getsize(os.path.join(REPO, 'README.md'))
    assert size <= README_LIMIT, (
        'README.md is %d bytes, over %d: it keeps the reference (directives, merging, '
        'what the module sends, errors, interaction, logging, counters); guides and '
        'worked examples belong in docs/' % (size, README_LIMIT))


def test_links_resolve():
    bad = []
    for page in PAGES:
        text = open(os.path.join(REPO, page), encoding='utf-8').read()
        text = re.sub(r'^( *)```.*?^\1```', '', text, flags=re.M | re.S)
        for m in LINK.finditer(text):
            target = m.group(1)
            if re.match(r'[a-z]+:', target):
                continue                    # https:, mailto:
            path, _, anchor = target.partition('#')
            full = os.path.normpath(os.path.join(REPO, os.path.dirname(page), path)) \
                if path else os.path.join(REPO, page)
            if not os.path.exists(full):
                bad.append((page, target, 'no such file'))
            elif anchor and full.endswith('.md') and anchor not in _anchors(full):
                bad.append((page, target, 'no such heading'))
    assert bad == []
