/*
 * fuzz_preflight: Access-Control-Request-Method and -Headers checks.
 *
 * Input, four '\n'-separated parts:
 *   the CorsAllowMethods arguments (empty: the directive is not given),
 *   the CorsAllowHeaders arguments (empty: not given),
 *   the Access-Control-Request-Method value,
 *   the Access-Control-Request-Headers value (the rest; absent: no header).
 *
 * Calls cors_check_method() and cors_check_headers() with a request_rec
 * and checks them against the rules of README "Preflights", computed here
 * independently: the method is a token, GET/HEAD/POST always pass,
 * CONNECT/TRACE/TRACK never (in any case), nor one named "*", others
 * only when listed (case-sensitively) or '*'; the header list is split on
 * commas with SP/HTAB trimmed and empty elements dropped, every name must
 * be a token and allowed ('*' never covers Authorization, nor a name "*"),
 * and the answer is exactly the requested names, lowercased, joined with
 * ", " (so never a '*'); a malformed list names its first element that is
 * no token, as sent.  The module's list splitter (cors_list_next(),
 * cors_list_next_lower(), cors_list_has()) finds exactly the elements of
 * that split, in order.
 *
 * Then the same preflight from an allowed origin under CorsDebug On
 * (cors_decide_preflight()): refused for its method or a header, and not
 * malformed, it is answered, and Access-Control-Allow-Methods never holds
 * '*' or the refused method (for a refused header: it is the requested
 * method), -Allow-Headers never '*' or a requested name the policy refuses;
 * a malformed request is never answered.
 */
#include "fuzz.h"

static int forbidden(const char *m)
{
    return !strcasecmp(m, "CONNECT") || !strcasecmp(m, "TRACE")
           || !strcasecmp(m, "TRACK");
}

static int in_args(const char *args, const char *name, int icase)
{
    char *copy = apr_pstrdup(fz_pool, args), *w[FZ_MAX_ARGS];
    int n = fz_words(copy, w, FZ_MAX_ARGS), i;

    for (i = 0; i < n; i++) {
        if (icase ? !strcasecmp(w[i], name) : !strcmp(w[i], name)) {
            return 1;
        }
    }
    return 0;
}

/* A requested name (lowercased) the CorsAllowHeaders arguments allow. */
static int header_ok(const char *hargs, const char *name)
{
    /* a name "*" would be echoed as the wildcard: never allowed */
    return *hargs && strcmp(name, "*")
           && (in_args(hargs, name, 1)
               || (in_args(hargs, "*", 0) && strcmp(name, "authorization")));
}

static int in_list(const char *list, const char *t, int icase)
{
    const char *w[FZ_MAX_ARGS];
    int n = list ? fz_list(list, w, FZ_MAX_ARGS, 0) : 0, i;

    for (i = 0; i < n; i++) {
        if (icase ? !strcasecmp(w[i], t) : !strcmp(w[i], t)) {
            return 1;
        }
    }
    return 0;
}

/* names: the n requested names (lowercased); method_ok: the reference's
 * verdict on the method; refused: some name is allowed by no argument;
 * malformed: some name is no token. */
static void check_debug(cors_dir_conf *c, const char *hargs,
                        const char *method, const char *hvalue,
                        const char **names, int n, int method_ok,
                        int refused, int malformed)
{
    fz_config fc;
    char line1[] = "CorsAllowOrigin *", line2[] = "CorsDebug On";
    cors_req q = { "https://a.example", method, hvalue, NULL };
    const cors_decision *d;
    int i;

    memset(&fc, 0, sizeof(fc));
    if (!cors_is_token(method) || fz_directive(&fc, c, line1)
        || fz_directive(&fc, c, line2)) {
        return;
    }
    d = cors_decide_preflight(fz_request(c), c, &q);
    if (method_ok && !refused && !malformed) {
        FZ_CHECK(d->outcome == CORS_PREFLIGHT_OK && !d->debug, "preflight "
                 "%s '%s' refused", method, hvalue ? hvalue : "(none)");
        FZ_CHECK(!in_list(d->allow_methods, "*", 0)
                 && !in_list(d->allow_headers, "*", 0),
                 "a '*' echoed: '%s' '%s'", d->allow_methods,
                 d->allow_headers ? d->allow_headers : "(none)");
        return;
    }
    /* a method "*" is refused for its method, so it is never echoed */
    FZ_CHECK(d->debug == !malformed,
             "'%s' '%s': debug answer %d", method, hvalue ? hvalue : "(none)",
             d->debug);
    if (!d->debug) {
        return;
    }
    FZ_CHECK(d->acao && d->allow_methods && !in_list(d->allow_methods, "*", 0)
             && !d->max_age && !d->allow_pna, "debug answer for %s", method);
    FZ_CHECK(method_ok ? !strcmp(d->allow_methods, method)
                       : !in_list(d->allow_methods, method, 0),
             "method '%s' answered with '%s'", method, d->allow_methods);
    FZ_CHECK(!in_list(d->allow_headers, "*", 0), "Allow-Headers '%s'",
             d->allow_headers);
    for (i = 0; i < n; i++) {
        FZ_CHECK(header_ok(hargs, names[i])
                 || !in_list(d->allow_headers, names[i], 1),
                 "refused '%s' in Allow-Headers '%s'", names[i],
                 d->allow_headers);
    }
}

/* The module's splitter on v against the reference split: raw, the n
 * elements as sent, lower the same lowercased. */
static void check_splitter(const char *v, const char **raw,
                           const char **lower, int n)
{
    const char *s = v, *item;
    char *l;
    apr_size_t len;
    int i;

    for (i = 0; s && (item = cors_list_next(&s, &len)); i++) {
        FZ_CHECK(i < n && len == strlen(raw[i])
                 && !memcmp(item, raw[i], len),
                 "element %d of '%s': '%.*s'", i, v, (int)len, item);
        FZ_CHECK(cors_list_has(v, raw[i], len, 0)
                 && cors_list_has(v, lower[i], len, 1),
                 "'%s' not found in '%s'", raw[i], v);
    }
    FZ_CHECK(i == n, "%d elements in '%s', expected %d", i, v, n);
    for (i = 0, s = v; (l = cors_list_next_lower(fz_pool, &s)); i++) {
        FZ_CHECK(i < n && !strcmp(l, lower[i]),
                 "lowercased element %d of '%s': '%s'", i, v, l);
    }
    FZ_CHECK(i == n, "%d lowercased elements in '%s', expected %d", i, v, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in, *p, *end;
    char *margs, *hargs, *method, *hvalue = NULL;
    const char *names[4096], *raw[4096];
    fz_config fc;
    cors_dir_conf *c;
    request_rec *r;
    const char *why, *out = NULL, *bad = NULL, *err;
    int malformed = 0, n, i, expect_ok, method_ok, refused = 0, bad_name = 0;
    char *line;

    fz_init();
    in = fz_strn(data, size);
    p = in;
    end = in + strlen(in);
    margs = fz_line(&p, end);
    hargs = fz_line(&p, end);
    method = fz_line(&p, end);
    if (!margs || !hargs || !method) {
        fuzz_release();
        return 0;
    }
    if (p < end || (p > in && p[-1] == '\n')) {
        hvalue = fz_strn((const uint8_t *)p, end - p);
    }

    memset(&fc, 0, sizeof(fc));
    c = cors_create_dir_conf(fz_pool, NULL);
    if (*margs) {
        line = apr_pstrcat(fz_pool, "CorsAllowMethods ", margs, NULL);
        if ((err = fz_directive(&fc, c, line))) {
            fuzz_release();
            return 0;
        }
    }
    if (*hargs) {
        line = apr_pstrcat(fz_pool, "CorsAllowHeaders ", hargs, NULL);
        if ((err = fz_directive(&fc, c, line))) {
            fuzz_release();
            return 0;
        }
    }
    r = fz_request(c);

    /* the method */
    why = cors_check_method(c, method, &malformed);
    if (!cors_is_token(method)) {
        FZ_CHECK(why && malformed, "method '%s' is no token", method);
    }
    else {
        expect_ok = !strcmp(method, "GET") || !strcmp(method, "HEAD")
                    || !strcmp(method, "POST")
                    || (!forbidden(method) && *margs && strcmp(method, "*")
                        && (in_args(margs, "*", 0)
                            || in_args(margs, method, 0)));
        FZ_CHECK(!malformed, "method '%s' taken for malformed", method);
        FZ_CHECK(expect_ok == (why == NULL), "method '%s' with '%s': %s",
                 method, margs, why ? why : "allowed");
    }
    method_ok = why == NULL;

    /* the headers */
    why = cors_check_headers(r, c, hvalue, &out, &malformed, &bad);
    n = hvalue ? fz_list(hvalue, names, 4096, 1) : 0;
    if (n == 4096) {
        fuzz_release();
        return 0;
    }
    FZ_CHECK(n == (hvalue ? fz_list(hvalue, raw, 4096, 0) : 0),
             "'%s' split twice", hvalue);
    check_splitter(hvalue, raw, names, n);
    expect_ok = 1;
    for (i = 0; i < n && expect_ok; i++) {
        if (!cors_is_token(names[i])) {
            expect_ok = 0;
            FZ_CHECK(why && malformed, "'%s' in '%s' is no token", names[i],
                     hvalue);
            FZ_CHECK(bad && !strcmp(bad, raw[i]), "'%s' reported for '%s'",
                     bad ? bad : "(none)", raw[i]);
        }
        else if (!header_ok(hargs, names[i])) {
            expect_ok = 0;
            FZ_CHECK(why && !malformed, "'%s' in '%s' allowed by '%s'",
                     names[i], hvalue, hargs);
        }
    }
    if (expect_ok) {
        const char *joined = NULL;

        FZ_CHECK(why == NULL, "'%s' refused by '%s': %s", hvalue, hargs, why);
        for (i = 0; i < n; i++) {
            joined = joined ? apr_pstrcat(fz_pool, joined, ", ", names[i],
                                          NULL) : names[i];
        }
        FZ_CHECK((joined == NULL) == (out == NULL)
                 && (!out || !strcmp(out, joined)),
                 "answer '%s', expected '%s'", out ? out : "(none)",
                 joined ? joined : "(none)");
    }
    for (i = 0; i < n; i++) {
        if (!cors_is_token(names[i])) {
            bad_name = 1;
        }
        else if (!header_ok(hargs, names[i])) {
            refused = 1;
        }
    }
    check_debug(c, hargs, method, hvalue, names, n, method_ok, refused,
                bad_name);
    fuzz_release();
    return 0;
}
