/*
 * fuzz_origin: the request's Origin value against a compiled policy.
 *
 * Input: the Origin value, optionally after configuration lines: if the
 * input has a '\n', what precedes the last one is directive lines (see
 * fuzz.h), else a fixed policy with every kind of rule is used.
 *
 * Calls cors_origin_parse(), cors_match() (and through it
 * cors_origins_match() and the regexes).  Checks:
 *  - an accepted Origin is a serialised origin: only the bytes one can hold,
 *    the parts where the parse says they are;
 *  - every accepted Origin can be configured (CorsAllowOrigin <it>) and then
 *    matches itself exactly (port 0 aside: the configuration refuses it);
 *  - the module allows an origin only if the reference matcher's rules or
 *    an expression cover it (no over-matching: evilexample.com for
 *    *.example.com), and, with one section whose rules are all in force,
 *    every usable origin they cover (no under-matching);
 *  - the module looks an Origin up first and parses it only when a rule
 *    matched it: the checks above hold for that verdict;
 *  - the same bytes as a ServerName name a counters' row (cors_row_name())
 *    in printable ASCII, never with a '(' (the module's own rows), and the
 *    name gives the bytes back (two names never share a row's name).
 */
#include "fuzz.h"

static const char default_policy[] =
    "CorsAllowOrigin https://a.example http://localhost:* null\n"
    "CorsAllowOrigin https://*.example.com https://*.b.example.org:8443\n"
    "CorsAllowOrigin http://[::1]:8080 https://127.0.0.1 wss://*.ws.example:*\n"
    "CorsAllowOrigin HTTPS://UPPER.Example:443 http://x.example:80\n"
    "CorsAllowOriginMatch https://[a-z]+\\.regex\\.example(:[0-9]+)?\n";

static int allowed_byte(unsigned char c)
{
    return apr_islower(c) || apr_isdigit(c) || strchr(".-_:/[]+", c);
}

static void check_parse(const char *s, const cors_origin *o)
{
    apr_size_t i, n = strlen(s);

    FZ_CHECK(o->len == n, "len %zu for '%s'", (size_t)o->len, s);
    if (o->is_null) {
        FZ_CHECK(!strcmp(s, "null"), "'%s' taken for null", s);
        return;
    }
    for (i = 0; i < n; i++) {
        FZ_CHECK(allowed_byte((unsigned char)s[i]), "byte 0x%02x in '%s'",
                 (unsigned char)s[i], s);
    }
    FZ_CHECK(o->scheme_len > 0 && !strncmp(s + o->scheme_len, "://", 3),
             "scheme of '%s'", s);
    FZ_CHECK(o->host_off == o->scheme_len + 3, "host offset of '%s'", s);
    FZ_CHECK(o->host_len > 0 && o->host_off + o->host_len <= n,
             "host of '%s'", s);
    FZ_CHECK(o->host_len <= CORS_MAX_HOST + 2, "host length of '%s'", s);
    FZ_CHECK(o->host_off + o->host_len == n || s[o->host_off + o->host_len]
             == ':', "after the host of '%s'", s);
    FZ_CHECK(strchr(s + o->host_off, '/') == NULL, "path in '%s'", s);
}

/* CorsAllowOrigin <s> in a fresh section, then s must match exactly. */
static void check_roundtrip(const char *s, const cors_origin *o)
{
    fz_config fc;
    const char *line = apr_pstrcat(fz_pool, "CorsAllowOrigin ", s, "\n",
                                   NULL);
    const char *p = line;
    const char *port = s + o->host_off + o->host_len;
    int unsafe;

    if (!strcmp(port, ":0")) {
        return;
    }
    fz_parse_config(&fc, &p, line + strlen(line), NULL);
    FZ_CHECK(!fc.error, "'%s' is a usable Origin but 'CorsAllowOrigin %s' "
             "fails: %s", s, s, fc.error);
    FZ_CHECK(cors_match(fc.sec[0], s, &unsafe) != NULL,
             "'%s' does not match its own rule: %s", s,
             cors_why_not(fc.sec[0], s));
}

/* The row name of a ServerName s (and a port, from its length): printable
 * ASCII without '(' or ')', whose \xNN escapes give s back, then ":port". */
static void check_row_name(const char *s)
{
    server_rec srv;
    const char *name, *c;
    char *back, *w;
    unsigned port = (unsigned)strlen(s) % 3 ? 0 : 8443;

    memset(&srv, 0, sizeof(srv));
    srv.server_hostname = (char *)s;
    srv.port = (apr_port_t)port;
    name = cors_row_name(fz_pool, &srv);
    back = w = apr_palloc(fz_pool, strlen(name) + 1);
    for (c = name; *c && *c != ':'; c++) {
        FZ_CHECK(*c >= 0x20 && *c <= 0x7e && *c != '(' && *c != ')',
                 "byte 0x%02x in the row name '%s'", (unsigned char)*c, name);
        if (*c == '\\') {
            FZ_CHECK(c[1] == 'x' && apr_isxdigit(c[2]) && apr_isxdigit(c[3]),
                     "'\\' not an escape in '%s'", name);
            *w++ = (char)strtol(apr_pstrndup(fz_pool, c + 2, 2), NULL, 16);
            c += 3;
        }
        else {
            *w++ = *c;
        }
    }
    *w = '\0';
    FZ_CHECK(!strcmp(back, s), "row name '%s' is not of '%s'", name, s);
    FZ_CHECK(port ? !strcmp(c, ":8443") : !*c, "port in '%s'", name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in, *nl, *conf, *p;
    char *origin;
    fz_config fc;
    cors_origin o;
    cors_dir_conf *c;
    const char *how;
    int ok, unsafe, ref;

    fz_init();
    in = fz_strn(data, size);
    nl = memrchr(data, '\n', size) ? in + ((const uint8_t *)memrchr(data,
                                            '\n', size) - data) : NULL;
    if (nl) {
        conf = in;
        origin = (char *)nl + 1;
    }
    else {
        conf = default_policy;
        origin = (char *)in;
    }
    p = conf;
    fz_parse_config(&fc, &p, nl ? nl : conf + strlen(conf), NULL);
    if (fc.error) {
        fuzz_release();
        return 0;          /* httpd would not start */
    }
    c = fz_merged(&fc);

    ok = cors_origin_parse(origin, &o);
    if (ok) {
        check_parse(origin, &o);
    }
    if (cors_in_scope(c) && !fc.overflow) {
        how = cors_match(c, origin, &unsafe);
        ref = fz_ref_rules(&fc, origin, 0) || fz_ref_regex(&fc, origin, 0);
        if (how) {
            FZ_CHECK(ok, "'%s' matched (%s) but is not a usable Origin",
                     origin, how);
            FZ_CHECK(ref, "'%s' matched (%s) but no configured rule covers "
                     "it", origin, how);
        }
        else if (fc.nsec == 1 && !fc.cleared && !fc.file) {
            /* one section, nothing dropped: the rules are all in force */
            FZ_CHECK(!ok || !ref, "'%s' is covered by a configured rule but "
                     "did not match (%s)", origin, cors_why_not(c, origin));
        }
    }
    if (ok && strlen(origin) < 200) {
        check_roundtrip(origin, &o);
    }
    if (!strchr(origin, ':')) {         /* ServerName takes a port after ':' */
        check_row_name(origin);
    }
    fuzz_release();
    return 0;
}
