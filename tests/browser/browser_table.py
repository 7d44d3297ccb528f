"""docs/testing.md's table of browser cases x engines ("The browser suite").

    python3 tests/browser/browser_table.py      (make browser-table)

renders the results of the last `make test-browser` run (tests/run/browser/
results-ENGINE.json, written by test_browser.py) into tests/browser/results.md
and into docs/testing.md between the browser-table markers.  test_browser.py's
test_docs_table_current renders the cases' expected verdicts the same way and
compares them with docs/testing.md.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TABLE_DOC = os.path.join(REPO, 'docs', 'testing.md')
RESULTS_MD = os.path.join(HERE, 'results.md')
START, END = '<!-- browser-table:start -->', '<!-- browser-table:end -->'
ENGINES = ('chromium', 'firefox')
HEAD = ('| Case | Request | Page origin | Chromium | Firefox | Why they differ |\n'
        '|---|---|---|---|---|---|\n')


def _request(case):
    init = case.init or {}
    if getattr(case, 'form', False):
        return 'form POST `%s`' % case.path
    words = ['%s `%s`' % (init.get('method', 'GET'), case.path or '(a closed port)')]
    if init.get('mode'):
        words.append('`%s`' % init['mode'])
    words += ['`%s`' % h for h in init.get('headers', {})]
    if init.get('credentials') == 'include':
        words.append('credentials')
    if case.repeat > 1:
        words.append('%d times' % case.repeat)
    if case.clock:
        words.append('at ' + ', '.join(case.clock))
    return ' '.join(words)


def _cell(verdict, wire):
    kind, detail = verdict
    text = str(detail) if kind == 'allowed' else '%s `%s`' % (kind, detail)
    if wire == '':
        return text + ' · nothing reached apache2'
    return text + (' · `%s`' % wire if wire else '')


def rows_from_cases(cases, labels, results=None):
    """One row per case: its expected verdicts, or results' observed ones."""
    rows = []
    for c in cases:
        cells = []
        for e in ENGINES:
            if results is None:
                cells.append(_cell(c.expect(e), c.wire(e)))
            else:
                got = results[e]['cases'][c.id]
                cells.append(_cell(got['verdict'], got['wire']))
        rows.append(['`%s`' % c.id, _request(c), '`%s`' % labels[c.page]] + cells
                    + [(c.why or '').replace('|', '\\|')])
    return rows


def render(rows):
    return HEAD + ''.join('| %s |\n' % ' | '.join(r) for r in rows)


def readme_block(text):
    """What docs/testing.md has between the markers."""
    start, end = text.index(START) + len(START), text.index(END)
    return text[start:end].strip('\n') + '\n'


def main():
    sys.path.insert(0, os.path.dirname(HERE))     # tests/: harness
    sys.path.insert(0, HERE)
    import test_browser as t
    results = {}
    for e in ENGINES:
        path = os.path.join(t.WORK, 'results-%s.json' % e)
        if not os.path.exists(path):
            sys.exit('%s missing: run make test-browser first' % path)
        with open(path) as f:
            results[e] = json.load(f)
    table = render(rows_from_cases(t.CASES, t.ORIGIN_LABELS, results))
    browsers = ', '.join(results[e]['browser'] for e in ENGINES)
    with open(RESULTS_MD, 'w', encoding='utf-8') as f:
        f.write('# Browser suite results\n\nWritten by `make browser-table` from a run of '
                'the browser suite (%s). See docs/testing.md, "The browser suite".\n\n%s'
                % (browsers, table))
    with open(TABLE_DOC, encoding='utf-8') as f:
        text = f.read()
    start, end = text.index(START) + len(START), text.index(END)
    with open(TABLE_DOC, 'w', encoding='utf-8') as f:
        f.write(text[:start] + '\n' + table + text[end:])
    print('wrote %s and the table in %s' % (RESULTS_MD, TABLE_DOC))


if __name__ == '__main__':
    main()
