"""The source tree holds no fuzzer artifacts: libFuzzer writes crash-*, leak-*,
timeout-*, oom-* and slow-unit-* files into its working directory when run by
hand; tests/fuzz/run.sh sends them to its work directory instead.  A real
finding is kept as a named seed in tests/fuzz/corpus/<harness>/."""
import os
import re
import subprocess

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARTIFACT = re.compile(r'(^|/)(crash|leak|timeout|oom|slow-unit)-[0-9a-f]+$')


def tracked_files():
    out = subprocess.run(['git', 'ls-files'], cwd=TOP, capture_output=True,
                         text=True)
    if out.returncode != 0:
        # a tarball build: no git, so check the files on disk
        return [os.path.relpath(os.path.join(d, f), TOP)
                for d, _, fs in os.walk(TOP) for f in fs]
    return out.stdout.split('\n')


def test_no_fuzzer_artifacts_in_tree():
    found = [f for f in tracked_files() if ARTIFACT.search(f)]
    assert found == [], 'fuzzer artifacts in the tree: %s' % found


def test_gitignore_keeps_artifacts_out():
    with open(os.path.join(TOP, '.gitignore')) as f:
        lines = set(f.read().split('\n'))
    for kind in ('crash', 'leak', 'timeout', 'oom', 'slow-unit'):
        assert '/%s-*' % kind in lines, kind
