"""mod_cors.c's top comment lists every directive; the list must be the
command table's (cors_cmds), no more and no fewer.  Both
are read from the source, so a directive added to one and not the other
fails here.  The file's sections also follow the table of contents in the
same comment, each under a boxed banner."""
import os
import re

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join(TOP, 'mod_cors.c')


def source():
    with open(SOURCE) as f:
        return f.read()


def top_comment(text):
    start = text.index('/*\n * mod_cors.c:')
    return text[start:text.index('*/', start)]


def listed_directives(text):
    """The names in the top comment's "Directives" block."""
    comment = top_comment(text)
    block = comment[comment.index(' * Directives'):]
    block = block[:block.index('\n *\n *', block.index(' *   Cors'))]
    return re.findall(r'^ \*   (Cors[A-Za-z]+)', block, re.M)


def table_directives(text):
    start = text.index('static const command_rec cors_cmds[] = {')
    table = text[start:text.index('\n};', start)]
    return re.findall(r'AP_INIT_[A-Z0-9_]+\("([A-Za-z]+)"', table)


def contents(text):
    comment = top_comment(text)
    block = comment[comment.index(' * Contents'):]
    return re.findall(r'^ \*   (\S.*)$', block, re.M)


def banners(text):
    return [t.strip() for t in re.findall(
        r'^ \* \+-+\+\n \* \| +\|\n \* \|  (.*?)\|\n', text, re.M)]


def test_top_comment_lists_the_command_table():
    text = source()
    table = table_directives(text)
    assert len(table) >= 15, table
    assert sorted(listed_directives(text)) == sorted(table)


def test_sections_follow_the_contents():
    text = source()
    assert banners(text) == contents(text)


def test_module_is_last_and_hooks_are_together():
    text = source()
    hooks = text.index('|  Hooks:')
    for name in ('cors_pre_config', 'cors_post_config', 'cors_check_config',
                 'cors_test_config', 'cors_pre_mpm', 'cors_header_parser',
                 'cors_fixups', 'cors_insert_filter', 'cors_register_hooks'):
        at = re.search(r'^static [^\n(]*\b%s\(' % name, text, re.M)
        assert at and at.start() > hooks, name
    assert text.rstrip().endswith('};')
    assert text.index('AP_DECLARE_MODULE(cors)') > text.index(
        'cors_register_hooks(apr_pool_t *p)\n{')
