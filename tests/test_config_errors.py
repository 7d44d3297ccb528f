"""README "Configuration errors": bad directives fail `apache2 -t` with a message
naming the directive and quoting the value."""
from collections import namedtuple

import pytest

from harness import check_config

# configuration lines, and the exact message line apache2 -t prints for them
Bad = namedtuple('Bad', 'conf message')
BAD = [
    # the words of CorsAllowOrigin and CorsDenyOrigin as httpd's ap_getword_conf()
    # gives them: quotes removed, \" and \\ unescaped, "" ends the list
    Bad('CorsAllowOrigin',
        "CorsAllowOrigin requires at least one argument, origins allowed to read responses: "
        "scheme://host[:port], scheme://*.domain[:port], scheme://host:*, *, null, or none to "
        "clear inherited origins"),
    Bad('CorsDenyOrigin "" https://a.example',
        "CorsDenyOrigin requires at least one argument, origins never allowed, whatever a "
        "pattern, an expression or * says: scheme://host[:port], scheme://*.domain[:port], "
        "scheme://host:*, null, or none to clear inherited ones"),
    Bad('CorsAllowOrigin "https://a.example/"',
        "CorsAllowOrigin: 'https://a.example/' is not an origin (remove the trailing slash)"),
    Bad("CorsAllowOrigin https://a.example   'https://b.example/' https://c.example/",
        "CorsAllowOrigin: 'https://b.example/' is not an origin (remove the trailing slash)"),
    Bad('CorsAllowOrigin "https://a b.example"',
        "CorsAllowOrigin: 'https://a b.example' is not an origin (it contains a control "
        "character or a space)"),
    Bad('CorsDenyOrigin "https://a.\\"x\\".example"',
        "CorsDenyOrigin: 'https://a.\"x\".example' is not an origin (the host is not a valid "
        "DNS name or IPv4 address)"),
    Bad('CorsAllowOrigin https://a\\\\b.example',   # httpd prints the backslash escaped
        "CorsAllowOrigin: 'https://a\\\\b.example' is not an origin (the host is not a valid "
        "DNS name or IPv4 address)"),
    Bad('CorsAllowOrigin https://a.example/',
        "CorsAllowOrigin: 'https://a.example/' is not an origin (remove the trailing slash)"),
    Bad('CorsAllowOrigin https://a.example/api',
        "CorsAllowOrigin: 'https://a.example/api' is not an origin (an origin has no path: remove it)"),
    Bad('CorsAllowOrigin https://a.example?x=1',
        "CorsAllowOrigin: 'https://a.example?x=1' is not an origin (an origin has no query: remove it)"),
    Bad('CorsAllowOrigin https://a.example#top',
        "CorsAllowOrigin: 'https://a.example#top' is not an origin (an origin has no fragment: "
        "remove it)"),
    Bad('CorsAllowOrigin https://user:pw@a.example',
        "CorsAllowOrigin: 'https://user:pw@a.example' is not an origin (remove the user "
        "information before '@')"),
    Bad('CorsAllowOrigin a.example',
        "CorsAllowOrigin: 'a.example' is not an origin (no scheme: write it as scheme://host[:port], "
        "e.g. https://www.example.com; the keywords are *, null and none)"),
    Bad('CorsAllowOrigin any',
        "CorsAllowOrigin: 'any' is not an origin (no scheme: write it as scheme://host[:port], "
        "e.g. https://www.example.com; the keywords are *, null and none)"),
    Bad('CorsAllowOrigin https://b\u00fccher.example',   # httpd prints the byte escaped
        "CorsAllowOrigin: 'https://b\\xfccher.example' is not an origin (non-ASCII characters: write an "
        "internationalised host name in its punycode form, e.g. xn--bcher-kva.example)"),
    Bad('CorsAllowOrigin https://a.example:99999',
        "CorsAllowOrigin: 'https://a.example:99999' is not an origin (the port must be a number "
        "from 1 to 65535, or * for any port)"),
    Bad('CorsAllowOrigin https://a.example:0',     # as a browser would spell it, but no port
        "CorsAllowOrigin: 'https://a.example:0' is not an origin (the port must be a number "
        "from 1 to 65535, or * for any port)"),
    Bad('CorsAllowOrigin https://a.example https://b.example:0',
        "CorsAllowOrigin: 'https://b.example:0' is not an origin (the port must be a number "
        "from 1 to 65535, or * for any port)"),
    Bad('CorsAllowOrigin https://a.example:',
        "CorsAllowOrigin: 'https://a.example:' is not an origin (the port must be a number "
        "from 1 to 65535, or * for any port)"),
    Bad('CorsAllowOrigin https://a.example:http',
        "CorsAllowOrigin: 'https://a.example:http' is not an origin (the port must be a number "
        "from 1 to 65535, or * for any port)"),
    Bad('CorsAllowOrigin https://',
        "CorsAllowOrigin: 'https://' is not an origin (the host is missing)"),
    Bad('CorsAllowOrigin https://a..example',
        "CorsAllowOrigin: 'https://a..example' is not an origin (the host is not a valid DNS "
        "name or IPv4 address)"),
    Bad('CorsAllowOrigin https://[::g]',
        "CorsAllowOrigin: 'https://[::g]' is not an origin (the IPv6 address is not valid)"),
    Bad('CorsAllowOrigin 1https://a.example',
        "CorsAllowOrigin: '1https://a.example' is not an origin (the scheme is not valid)"),
    Bad('CorsAllowOrigin https://a*.example.com',
        "CorsAllowOrigin: 'https://a*.example.com' is not an origin ('*' may only stand for whole "
        "leading labels, as in https://*.example.com)"),
    Bad('CorsAllowOrigin https://*.com',
        "CorsAllowOrigin: 'https://*.com' matches every site under a top-level domain; give at "
        "least two labels after '*.', e.g. https://*.example.com"),
    Bad('CorsAllowOrigin https://*.10.0.0.1',
        "CorsAllowOrigin: 'https://*.10.0.0.1' is not an origin (a subdomain pattern needs a "
        "domain name, not an IP address)"),
    Bad('CorsAllowOrigin *\nCorsAllowCredentials On',
        "CorsAllowCredentials: 'CorsAllowOrigin *' and 'CorsAllowCredentials On' cannot be combined "
        "in one section (browsers refuse credentials with '*'; list the allowed origins instead)"),
    Bad('CorsAllowCredentials On\nCorsAllowOrigin https://a.example *',
        "CorsAllowOrigin: 'CorsAllowOrigin *' and 'CorsAllowCredentials On' cannot be combined "
        "in one section (browsers refuse credentials with '*'; list the allowed origins instead)"),
    Bad('CorsAllowOrigin https://a.example\nCorsExposeHeaders *\nCorsAllowCredentials On',
        "CorsAllowCredentials: 'CorsExposeHeaders *' and 'CorsAllowCredentials On' cannot be combined "
        "in one section (with credentials browsers read '*' as a header name; list the headers "
        "to expose)"),
    Bad('CorsAllowOrigin *\nCorsAllowPrivateNetwork On',
        "CorsAllowPrivateNetwork: 'CorsAllowPrivateNetwork On' and 'CorsAllowOrigin *' cannot be "
        "combined in one section (list the origins that may reach the private network)"),
    Bad('CorsAllowCredentials On\nCorsAllowOrigin http://*.example.com',
        "CorsAllowOrigin: 'http://*.example.com' and 'CorsAllowCredentials On' cannot be combined in "
        "one section (any network attacker can answer for a plain-http subdomain; use https:// or "
        "list the origins)"),
    # a subdomain pattern on a public suffix (Public Suffix List: ICANN and private
    # sections), in either order, with a port or not
    Bad('CorsAllowOrigin https://*.co.uk\nCorsAllowCredentials On',
        "CorsAllowCredentials: 'https://*.co.uk' and 'CorsAllowCredentials On' cannot be combined "
        "in one section (the domain after '*.', or one below it, is on the Public Suffix List: "
        "anyone can register a site that the pattern matches; list your own domains or "
        "origins)"),
    Bad('CorsAllowCredentials On\nCorsAllowOrigin https://app.example https://*.github.io',
        "CorsAllowOrigin: 'https://*.github.io' and 'CorsAllowCredentials On' cannot be combined "
        "in one section (the domain after '*.', or one below it, is on the Public Suffix List: "
        "anyone can register a site that the pattern matches; list your own domains or "
        "origins)"),
    Bad('CorsAllowCredentials On\nCorsAllowOrigin https://*.herokuapp.com:8443',
        "CorsAllowOrigin: 'https://*.herokuapp.com:8443' and 'CorsAllowCredentials On' cannot be "
        "combined in one section (the domain after '*.', or one below it, is on the Public "
        "Suffix List: anyone can register a site that the pattern matches; list your own "
        "domains or origins)"),
    Bad('CorsAllowOrigin https://*.s3.amazonaws.com:*\nCorsAllowCredentials On',
        "CorsAllowCredentials: 'https://*.s3.amazonaws.com:*' and 'CorsAllowCredentials On' cannot "
        "be combined in one section (the domain after '*.', or one below it, is on the Public "
        "Suffix List: anyone can register a site that the pattern matches; list your own "
        "domains or origins)"),
    # not on the list itself, but suffixes of the list lie below it (s3.amazonaws.com, ...)
    Bad('CorsAllowOrigin https://*.amazonaws.com\nCorsAllowCredentials On',
        "CorsAllowCredentials: 'https://*.amazonaws.com' and 'CorsAllowCredentials On' cannot "
        "be combined in one section (the domain after '*.', or one below it, is on the Public "
        "Suffix List: anyone can register a site that the pattern matches; list your own "
        "domains or origins)"),
    Bad('CorsAllowCredentials On\nCorsAllowOrigin https://*.app.example https://*.amazonaws.com:*',
        "CorsAllowOrigin: 'https://*.amazonaws.com:*' and 'CorsAllowCredentials On' cannot "
        "be combined in one section (the domain after '*.', or one below it, is on the Public "
        "Suffix List: anyone can register a site that the pattern matches; list your own "
        "domains or origins)"),
    # several origins in one value: separated by commas, not spaces
    Bad('CorsAllowOrigin https://a.example.com,https://b.example.com',
        "CorsAllowOrigin: 'https://a.example.com,https://b.example.com' is not an origin "
        "(separate origins with spaces, not commas)"),
    Bad('CorsAllowOrigin https://a.example.com, https://b.example.com',
        "CorsAllowOrigin: 'https://a.example.com,' is not an origin (separate origins with "
        "spaces, not commas)"),
    Bad('CorsAllowOrigin "https://a.example.com, https://b.example.com"',
        "CorsAllowOrigin: 'https://a.example.com, https://b.example.com' is not an origin "
        "(separate origins with spaces, not commas)"),
    Bad('CorsDenyOrigin https://a.example.com,https://b.example.com',
        "CorsDenyOrigin: 'https://a.example.com,https://b.example.com' is not an origin "
        "(separate origins with spaces, not commas)"),
    Bad('CorsAllowOriginMatch "https://.*"\nCorsAllowCredentials On',
        "CorsAllowCredentials: 'CorsAllowOriginMatch https://.*' and 'CorsAllowCredentials On' "
        "cannot be combined in one section (the expression matches any origin; anchor it to your "
        "own domains)"),
    Bad('CorsAllowCredentials On\nCorsAllowOriginMatch ".*"',
        "CorsAllowOriginMatch: 'CorsAllowOriginMatch .*' and 'CorsAllowCredentials On' "
        "cannot be combined in one section (the expression matches any origin; anchor it to your "
        "own domains)"),
    Bad('CorsMaxAge 86401',
        "CorsMaxAge: '86401' is not valid: give a whole number of seconds from 0 to 86400"),
    Bad('CorsMaxAge -1',
        "CorsMaxAge: '-1' is not valid: give a whole number of seconds from 0 to 86400"),
    Bad('CorsMaxAge 1.5',
        "CorsMaxAge: '1.5' is not valid: give a whole number of seconds from 0 to 86400"),
    Bad('CorsMaxAge ten',
        "CorsMaxAge: 'ten' is not valid: give a whole number of seconds from 0 to 86400"),
    Bad('CorsAllowMethods GET "PUT,"',
        "CorsAllowMethods: 'PUT,' is not a valid method name (an HTTP token: letters, digits and "
        "!#$%&'*+-.^_`|~, no commas or spaces)"),
    Bad('CorsAllowMethods TRACE',
        "CorsAllowMethods: 'TRACE' can never be allowed cross-origin (the Fetch standard "
        "forbids it): remove it"),
    Bad('CorsAllowMethods GET track',
        "CorsAllowMethods: 'track' can never be allowed cross-origin (the Fetch standard "
        "forbids it): remove it"),
    Bad('CorsAllowHeaders X-Ok "X Bad"',
        "CorsAllowHeaders: 'X Bad' is not a valid header name (an HTTP token: letters, digits and "
        "!#$%&'*+-.^_`|~, no commas or spaces)"),
    Bad('CorsExposeHeaders "X-A:"',
        "CorsExposeHeaders: 'X-A:' is not a valid header name (an HTTP token: letters, digits and "
        "!#$%&'*+-.^_`|~, no commas or spaces)"),
    Bad('CorsAllowOriginMatch "https://(a"',
        "CorsAllowOriginMatch: 'https://(a' is not a valid regular expression"),
    # an expression that would escape the anchors it is wrapped in (httpd's log shows a
    # backslash doubled)
    Bad('CorsAllowOriginMatch "https://a\\.example)|(https://b"',
        "CorsAllowOriginMatch: 'https://a\\\\.example)|(https://b' is not a valid regular expression"),
    Bad('CorsAllowOriginMatch "https://a\\.example|(x"',
        "CorsAllowOriginMatch: 'https://a\\\\.example|(x' is not a valid regular expression"),
    Bad('CorsAllowOriginMatch "https://a\\.example\\Q"',
        "CorsAllowOriginMatch: 'https://a\\\\.example\\\\Q' does not stay a complete expression inside "
        "^(?: ... )$ (an unterminated quote or a (?x) comment?): rewrite it"),
    Bad('CorsAllowOriginMatch "(?x)https://a\\.example #"',
        "CorsAllowOriginMatch: '(?x)https://a\\\\.example #' does not stay a complete expression "
        "inside ^(?: ... )$ (an unterminated quote or a (?x) comment?): rewrite it"),
    # spellings that could never match: browsers upper-case these six
    Bad('CorsAllowMethods put delete',
        "CorsAllowMethods: 'put' never matches: browsers send PUT"),
    Bad('CorsAllowMethods GET Delete',
        "CorsAllowMethods: 'Delete' never matches: browsers send DELETE"),
    Bad('CorsAllowMethods options',
        "CorsAllowMethods: 'options' never matches: browsers send OPTIONS"),
    Bad('CorsAllowMethods PATCH\nCorsAllowMethods post',
        "CorsAllowMethods: 'post' never matches: browsers send POST"),
    Bad('CorsAllowCredentials yes',
        "CorsAllowCredentials: 'yes' is not valid: use On or Off"),
    Bad('CorsEngine maybe',
        "CorsEngine: 'maybe' is not valid: use On, Off or ReportOnly"),
    Bad('CorsEngine Report',
        "CorsEngine: 'Report' is not valid: use On, Off or ReportOnly"),
    Bad('CorsCrossOriginProtection maybe',
        "CorsCrossOriginProtection: 'maybe' is not valid: use On, Off or ReportOnly"),
    Bad('CorsCrossOriginProtection',
        'CorsCrossOriginProtection takes one argument, On to refuse cross-origin writes '
        '(methods other than GET, HEAD and OPTIONS) from origins the policy does not trust, '
        'ReportOnly to decide and report without refusing (Off by default)'),
    Bad('CorsAllowPrivateNetwork 1',
        "CorsAllowPrivateNetwork: '1' is not valid: use On or Off"),
    Bad('CorsDebug yes',
        "CorsDebug: 'yes' is not valid: use On or Off"),
    Bad('CorsPreflightStatus 201',
        "CorsPreflightStatus: '201' is not valid: use 204 or 200"),
]


def check_refused(case):
    """apache2 -t fails with case.message as a line of its own, in the server
    config and in a <Location>."""
    for wrapped in (case.conf, '<Location /x>\n%s\n</Location>' % case.conf):
        rc, out = check_config(wrapped, name='bad')
        assert rc != 0, out
        assert case.message in out.splitlines(), out


def check_accepted(conf):
    """apache2 -t says Syntax OK for conf in a <Location>."""
    rc, out = check_config('<Location /x>\n%s\n</Location>' % conf, name='good')
    assert rc == 0 and 'Syntax OK' in out, out


@pytest.mark.parametrize('case', BAD, ids=lambda c: c.conf.replace('\n', ' | '))
def test_bad_directive(case):
    check_refused(case)


GOOD = [
    'CorsAllowOrigin https://a.example https://*.example.com http://localhost:* null',
    'CorsAllowOrigin HTTPS://A.EXAMPLE:443 https://[::1]:8443 http://127.0.0.1',
    'CorsAllowOrigin *\nCorsExposeHeaders *\nCorsAllowMethods *\nCorsAllowHeaders *',
    'CorsAllowOrigin https://a.example\nCorsAllowCredentials On\nCorsAllowMethods *\n'
    'CorsAllowHeaders *\nCorsExposeHeaders ETag\nCorsMaxAge 0\nCorsAllowPrivateNetwork On\n'
    'CorsPreflightStatus 200\nCorsEngine On',
    'CorsAllowOrigin https://a.example\nCorsAllowCredentials On\nCorsEngine ReportOnly',
    'CorsAllowOrigin *\nCorsEngine ReportOnly\nCorsEngine Off\nCorsEngine reportonly',
    'CorsCrossOriginProtection On',
    'CorsCrossOriginProtection reportonly\nCorsCrossOriginProtection OFF\nCorsEngine Off',
    'CorsAllowOrigin none',
    # words split as httpd splits them: quotes, tabs, repeated spaces
    'CorsAllowOrigin "https://a.example"  \'https://b.example\'\t"null"',
    'CorsDenyOrigin "https://a.example" https://*.b.example\n'
    'CorsAllowOrigin https://c.example',
    'CorsAllowOriginMatch "https://[a-z]+\\.example\\.com"',
    'CorsAllowOriginMatch "https://[a-z]+\\.example\\.com"\nCorsAllowCredentials On',
    'CorsAllowOriginMatch "https://.*"',
    'CorsAllowOrigin https://*.example.com:*',
    'CorsMaxAge 86400',
    'CorsAllowMethods PATCH patch PURGE',   # only the six normalised methods are upper-cased
    'CorsAllowMethods GET HEAD POST PUT DELETE OPTIONS',
    # on a public suffix: an exact origin, or a pattern below a registrable domain
    'CorsAllowOrigin https://github.io https://*.alice.github.io https://*.example.co.uk\n'
    'CorsAllowCredentials On',
    'CorsAllowOrigin https://a.example\nCorsDebug On',
    'CorsDebug off',
]


@pytest.mark.parametrize('conf', GOOD)
def test_good_directive(conf):
    check_accepted(conf)


def test_unknown_directive_names_itself():
    rc, out = check_config('CorsAllowOrigins https://a.example', name='bad')
    assert rc != 0 and "Invalid command 'CorsAllowOrigins'" in out


def test_line_number_reported():
    rc, out = check_config('# one\n# two\nCorsMaxAge abc', name='bad')
    assert rc != 0 and 'Syntax error on line' in out and "CorsMaxAge: 'abc'" in out


# CorsAllowOriginMatch: an unescaped '.' between host labels matches any byte.  (The
# warning goes through httpd's error log, which shows a backslash doubled.)  A
# configuration line, and the warning apache2 -t logs for it:
DotWarning = namedtuple('DotWarning', 'conf warning')
DOT_WARNING = [
    DotWarning('CorsAllowOriginMatch "https://app.example\\.com"',
               "CorsAllowOriginMatch: 'https://app.example\\\\.com': the '.' after 'https://app' "
               "matches any character, not only a dot: write [.] or put a backslash before it"),
    DotWarning('CorsAllowOriginMatch "https://(a|b)\\.example.com"',
               "CorsAllowOriginMatch: 'https://(a|b)\\\\.example.com': the '.' after "
               "'https://(a|b)\\\\.example' matches any character, not only a dot: write [.] or "
               "put a backslash before it"),
]
NO_DOT_WARNING = [
    'CorsAllowOriginMatch "https://[a-z]+\\.example\\.com"',
    'CorsAllowOriginMatch "https://.*\\.example\\.com"',
    'CorsAllowOriginMatch "https://[a.b]\\.example\\.com"',
    'CorsAllowOriginMatch "https://a\\.example\\.com(:[0-9]+)?"',
]


@pytest.mark.parametrize('case', DOT_WARNING, ids=lambda c: c.conf)
def test_unescaped_dot_warns(case):
    rc, out = check_config('<Location /x>\n%s\n</Location>' % case.conf, name='good')
    assert rc == 0 and 'Syntax OK' in out, out
    lines = [l for l in out.splitlines() if 'CORS0003' in l]
    assert len(lines) == 1 and case.warning in lines[0] and ':warn]' in lines[0], out


@pytest.mark.parametrize('conf', NO_DOT_WARNING)
def test_escaped_dots_do_not_warn(conf):
    rc, out = check_config('<Location /x>\n%s\n</Location>' % conf, name='good')
    assert rc == 0 and 'Syntax OK' in out and 'CORS0003' not in out, out
