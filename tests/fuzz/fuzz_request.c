/*
 * fuzz_request: a whole request through the module's hooks.
 *
 * Input: configuration lines (see fuzz.h), a line "--", then request lines:
 *   M <method>              the request method (GET when absent)
 *   H <name>: <value>       a request header (repeated names are joined
 *                           with ", " as httpd does)
 *   O <name>: <value>       a response header a handler, CGI or backend set
 *   E <name>: <value>       the same in err_headers_out
 *   S <status>              the response status
 *   P                       the request is an internal redirect from one
 *                           governed by the outermost section alone
 *   Q                       the same, and the module decided for that one
 *   X                       the request is a subrequest
 *
 * Runs cors_header_parser(); a preflight ends there (DONE) with the output
 * filters inserted, an actual request goes on through cors_insert_filter();
 * then cors_out_filter() runs with a non-empty brigade, as httpd would run
 * them.  Checks what a browser and a
 * cache would see:
 *  - outside CORS scope (and for subrequests) nothing changes at all;
 *  - Access-Control-Allow-Origin is "*" or the request's Origin, which must
 *    then be a usable Origin that a configured rule or expression covers;
 *  - Access-Control-Allow-Credentials is only "true", never with "*", and
 *    only for an origin a rule or a narrow expression covers (never by way
 *    of "*", a plain-http subdomain pattern, a pattern on a public suffix
 *    or an expression that matches any origin, whatever the merge);
 *  - each Access-Control-* header at most once, none in err_headers_out,
 *    none of the preflight-only ones on an actual response, none at all on
 *    a refused preflight, and none with a control or non-ASCII byte;
 *  - a successful preflight echoes the requested method (a token, never
 *    CONNECT/TRACE/TRACK);
 *  - an Origin that a CorsDenyOrigin rule of the governing list covers is
 *    never answered with Access-Control-Allow-Origin (nor
 *    Timing-Allow-Origin), whatever pattern, expression or '*' allows it:
 *    CORS_RESULT says denied:origin or preflight:denied:origin (or, for a
 *    write the write check refuses, write:denied:...);
 *  - a preflight refused for its method or a header is answered (with
 *    CorsDebug On only) without '*' or the refused method in
 *    Access-Control-Allow-Methods, without '*' or any requested name the
 *    policy refuses in -Allow-Headers, without -Max-Age and
 *    -Allow-Private-Network; a refused origin or a malformed request never
 *    gets an answer;
 *  - Vary, as httpd sends it (both tables' lines joined), has Origin (and
 *    the preflight's request headers) or "*" in it, unless the answer does
 *    not depend on Origin ('*' without credentials and without a deny
 *    list);
 *  - with CorsTimingAllowOrigin On, Timing-Allow-Origin appears once, with
 *    the Access-Control-Allow-Origin value, on an actual response that
 *    carries one, and nowhere else; with Off, nobody's is touched;
 *  - the status of a preflight is 204, 200 or 403, CORS_RESULT one of the
 *    documented values;
 *  - the counters: a request with a CORS_RESULT adds one, under that
 *    value, unless a request before it in its internal-redirect chain was
 *    decided (Q); any other adds none.
 *  - under CorsEngine ReportOnly the response is untouched: status and both
 *    header tables byte for byte, no preflight answered; CORS_RESULT is what
 *    CorsEngine On decides for the same request; CORS_REPORT is "same" or
 *    "differs:" with known field names, and "same" when the response is
 *    the one On would have sent.
 *  - the cross-origin write check (CorsCrossOriginProtection), against a
 *    plainly written rule: GET, HEAD and OPTIONS, and requests under Off,
 *    are never refused nor named; a write is refused (403) exactly when
 *    CORS_RESULT names it under On, and only named under ReportOnly; a
 *    write that Sec-Fetch-Site same-origin/none, or (without it) no Origin
 *    or an Origin matching Host, lets through passes; a write that passes
 *    otherwise has an Origin that a rule allowing credentials covers (never
 *    '*', null, or an expression matching any origin) and that no deny rule
 *    of the governing list covers; the value names Sec-Fetch-Site when it
 *    was sent, Origin otherwise.  A refused write's 403 goes on as an error
 *    response, through the checks above.
 */
#include "fuzz.h"

static const char *const results[] = {
    "no-origin", "allowed", "denied:origin", "preflight:ok",
    "preflight:denied:origin", "preflight:denied:method",
    "preflight:denied:header", "preflight:denied:malformed",
    "write:denied:sec-fetch-site", "write:denied:origin",
    /* origins from a database: never configured here (no mod_dbd) */
    "allowed:database", "denied:database", "denied:database-unavailable",
    "preflight:ok:database", "preflight:denied:database",
    "preflight:denied:database-unavailable", NULL
};

static int has_token(const char *list, const char *t)
{
    const char *w[512];
    int n = fz_list(list, w, 512, 0), i;

    for (i = 0; i < n; i++) {
        if (!strcasecmp(w[i], t) || !strcmp(w[i], "*")) {
            return 1;
        }
    }
    return 0;
}

static int same_table(const apr_table_t *a, const apr_table_t *b)
{
    const apr_array_header_t *x = apr_table_elts(a), *y = apr_table_elts(b);
    const apr_table_entry_t *e = (const apr_table_entry_t *)x->elts;
    const apr_table_entry_t *f = (const apr_table_entry_t *)y->elts;
    int i;

    if (x->nelts != y->nelts) {
        return 0;
    }
    for (i = 0; i < x->nelts; i++) {
        if (strcmp(e[i].key, f[i].key) || strcmp(e[i].val, f[i].val)) {
            return 0;
        }
    }
    return 1;
}

static void check_ac_values(const apr_table_t *t)
{
    const apr_array_header_t *a = apr_table_elts(t);
    const apr_table_entry_t *e = (const apr_table_entry_t *)a->elts;
    int i;

    for (i = 0; i < a->nelts; i++) {
        if (!strncasecmp(e[i].key, "Access-Control-", 15)) {
            FZ_CHECK(fz_count(t, e[i].key) == 1, "%s repeated", e[i].key);
            FZ_CHECK(fz_clean_value(e[i].val), "%s: unsafe bytes",
                     e[i].key);
        }
    }
}

static void check_result(request_rec *r)
{
    const char *v = apr_table_get(r->subprocess_env, "CORS_RESULT");
    int i;

    FZ_CHECK(v != NULL, "no CORS_RESULT");
    for (i = 0; results[i] && strcmp(results[i], v); i++) {
    }
    FZ_CHECK(results[i] != NULL, "CORS_RESULT '%s'", v);
}

/* Access-Control-Allow-Origin and -Credentials, on any response. */
static void check_acao(const fz_config *fc, request_rec *r)
{
    const char *origin = apr_table_get(r->headers_in, "Origin");
    const char *acao = apr_table_get(r->headers_out,
                                     "Access-Control-Allow-Origin");
    const char *acac = apr_table_get(r->headers_out,
                                     "Access-Control-Allow-Credentials");
    cors_origin o;

    if (acao && strcmp(acao, "*")) {
        FZ_CHECK(origin && !strcmp(acao, origin),
                 "Allow-Origin '%s' for Origin '%s'", acao,
                 origin ? origin : "(none)");
        FZ_CHECK(cors_origin_parse(origin, &o), "unusable Origin '%s' "
                 "echoed", origin);
        FZ_CHECK(fz_ref_rules(fc, origin, 0) || fz_ref_regex(fc, origin, 0),
                 "'%s' echoed but no configured rule covers it", origin);
    }
    if (acac) {
        FZ_CHECK(!strcmp(acac, "true"), "Allow-Credentials '%s'", acac);
        FZ_CHECK(acao && strcmp(acao, "*"), "credentials with '%s'",
                 acao ? acao : "(no Allow-Origin)");
        FZ_CHECK(fz_ref_rules(fc, origin, 1) || fz_ref_regex(fc, origin, 1),
                 "credentials for '%s', which only '*', a plain-http "
                 "subdomain pattern, a pattern on a public suffix or an "
                 "expression matching any origin covers", origin);
    }
}

static int join_vary(void *acc, const char *key, const char *value)
{
    const char **v = acc;

    (void)key;
    *v = *v ? apr_pstrcat(fz_pool, *v, ", ", value, NULL) : value;
    return 1;
}

/* The Vary that httpd sends: the lines of both tables, joined (its header
 * filter's fixup_vary then drops repeated tokens). */
static const char *sent_vary(request_rec *r)
{
    const char *v = NULL;

    apr_table_do(join_vary, &v, r->err_headers_out, "Vary", NULL);
    apr_table_do(join_vary, &v, r->headers_out, "Vary", NULL);
    return v ? v : "";
}

/* Is the item t in the list (case-sensitively or not)? */
static int in_list(const char *list, const char *t, int icase)
{
    const char *w[512];
    int n = list ? fz_list(list, w, 512, 0) : 0, i;

    for (i = 0; i < n; i++) {
        if (icase ? !strcasecmp(w[i], t) : !strcmp(w[i], t)) {
            return 1;
        }
    }
    return 0;
}

/* The policy allows a request header name (lowercased): listed, or '*'
 * and not Authorization. */
static int header_allowed(const cors_dir_conf *ec, const char *name)
{
    return ec->headers
           && (cors_strset_get(&ec->headers->set, name, strlen(name))
               || (ec->headers->any && strcmp(name, "authorization")));
}

/* CorsDebug's answer to a preflight refused for its method or a header. */
static void check_debug(request_rec *r, const cors_dir_conf *ec,
                        const char *result, const char *m)
{
    const char *am = apr_table_get(r->headers_out,
                                   "Access-Control-Allow-Methods");
    const char *ah = apr_table_get(r->headers_out,
                                   "Access-Control-Allow-Headers");
    const char *rh = apr_table_get(r->headers_in,
                                   "Access-Control-Request-Headers");
    const char *names[512];
    int n = rh ? fz_list(rh, names, 512, 1) : 0, i;

    FZ_CHECK(ec->debug == 1, "refused preflight (%s) answered %d without "
             "CorsDebug On", result, r->status);
    FZ_CHECK(!strcmp(result, "preflight:denied:method")
             || !strcmp(result, "preflight:denied:header"),
             "preflight %s answered %d", result, r->status);
    FZ_CHECK(r->status == cors_preflight_status(ec), "status %d",
             r->status);
    FZ_CHECK(!apr_table_get(r->headers_out, "Access-Control-Max-Age")
             && !apr_table_get(r->headers_out,
                               "Access-Control-Allow-Private-Network"),
             "Max-Age or Allow-Private-Network on a refused preflight");
    FZ_CHECK(am && !in_list(am, "*", 0), "Allow-Methods '%s'",
             am ? am : "(none)");
    if (!strcmp(result, "preflight:denied:method")) {
        FZ_CHECK(!in_list(am, m, 0), "refused method '%s' in '%s'", m, am);
    }
    else {
        FZ_CHECK(!strcmp(am, m), "Allow-Methods '%s' for '%s'", am, m);
    }
    FZ_CHECK(!in_list(ah, "*", 0), "Allow-Headers '%s'", ah);
    for (i = 0; i < n && n < 512; i++) {
        FZ_CHECK(header_allowed(ec, names[i]) || !in_list(ah, names[i], 1),
                 "refused header '%s' in Allow-Headers '%s'", names[i], ah);
    }
}

static void check_preflight(const fz_config *fc, request_rec *r,
                            const cors_dir_conf *ec)
{
    const char *acao = apr_table_get(r->headers_out,
                                     "Access-Control-Allow-Origin");
    const char *result = apr_table_get(r->subprocess_env, "CORS_RESULT");
    const char *vary;

    FZ_CHECK(r->status == 204 || r->status == 200 || r->status == 403,
             "preflight status %d", r->status);
    FZ_CHECK(fz_count_prefix(r->err_headers_out, "Access-Control-") == 0,
             "Access-Control-* in err_headers_out");
    check_result(r);
    if (!strcmp(result, "preflight:denied:origin")
        || !strcmp(result, "preflight:denied:malformed")) {
        FZ_CHECK(r->status == 403 && !acao, "%s answered %d, Allow-Origin "
                 "'%s'", result, r->status, acao ? acao : "(none)");
    }
    if (r->status == 403) {
        FZ_CHECK(fz_count_prefix(r->headers_out, "Access-Control-") == 0,
                 "Access-Control-* on a refused preflight");
    }
    else if (strcmp(result, "preflight:ok")) {
        FZ_CHECK(acao != NULL, "preflight %d without Allow-Origin",
                 r->status);
        check_debug(r, ec, result, apr_table_get(
                        r->headers_in, "Access-Control-Request-Method"));
        check_acao(fc, r);
    }
    else {
        const char *m = apr_table_get(r->headers_in,
                                      "Access-Control-Request-Method");
        const char *am = apr_table_get(r->headers_out,
                                       "Access-Control-Allow-Methods");

        FZ_CHECK(acao != NULL, "preflight %d without Allow-Origin",
                 r->status);
        FZ_CHECK(am && m && !strcmp(am, m), "Allow-Methods '%s' for '%s'",
                 am ? am : "(none)", m ? m : "(none)");
        FZ_CHECK(cors_is_token(m) && !cors_forbidden_method(m),
                 "method '%s' allowed", m);
        check_acao(fc, r);
    }
    check_ac_values(r->headers_out);
    vary = sent_vary(r);
    FZ_CHECK(has_token(vary, "Origin")
             && has_token(vary, "Access-Control-Request-Method")
             && has_token(vary, "Access-Control-Request-Headers"),
             "preflight Vary '%s'", vary);
}

static void check_actual(const fz_config *fc, request_rec *r,
                         const cors_dir_conf *ec, const apr_table_t *before)
{
    const char *acao = apr_table_get(r->headers_out,
                                     "Access-Control-Allow-Origin");
    const char *aceh = apr_table_get(r->headers_out,
                                     "Access-Control-Expose-Headers");
    int any = ec->origins && ec->origins->any && ec->credentials != 1;
    int deny = cors_denied(ec, NULL) >= 0;
    int n = fz_count_prefix(r->headers_out, "Access-Control-");

    FZ_CHECK(fz_count_prefix(r->err_headers_out, "Access-Control-") == 0,
             "Access-Control-* in err_headers_out");
    n -= fz_count(r->headers_out, "Access-Control-Allow-Origin");
    n -= fz_count(r->headers_out, "Access-Control-Allow-Credentials");
    n -= fz_count(r->headers_out, "Access-Control-Expose-Headers");
    FZ_CHECK(n == 0, "preflight-only or foreign Access-Control-* header on "
             "an actual response");
    check_ac_values(r->headers_out);
    check_acao(fc, r);
    if (aceh) {
        FZ_CHECK(acao != NULL, "Expose-Headers without Allow-Origin");
        if (apr_table_get(r->headers_out,
                          "Access-Control-Allow-Credentials")) {
            const char *w[512];
            int k = fz_list(aceh, w, 512, 0), i;

            for (i = 0; i < k; i++) {
                FZ_CHECK(strcmp(w[i], "*"), "Expose-Headers '*' with "
                         "credentials");
            }
        }
    }
    if (any && deny) {
        /* '*' for the origins not denied; the answer depends on Origin */
        FZ_CHECK(!acao || !strcmp(acao, "*"), "'*' scope answered '%s'",
                 acao);
        FZ_CHECK(has_token(sent_vary(r), "Origin"), "Vary '%s' without "
                 "Origin under '*' with a deny list", sent_vary(r));
    }
    else if (any) {
        FZ_CHECK(acao && !strcmp(acao, "*"), "'*' scope answered '%s'",
                 acao ? acao : "(none)");
        /* the answer does not depend on Origin: Vary as the handler set */
        FZ_CHECK(fz_count(r->headers_out, "Vary")
                 == fz_count(before, "Vary"), "Vary changed under '*'");
    }
    else {
        const char *vary = sent_vary(r);

        FZ_CHECK(has_token(vary, "Origin"), "Vary '%s' without Origin",
                 vary);
    }
    check_result(r);
}

/* The counters after a request: what before[] held, and one more under r's
 * CORS_RESULT if it has one and counts. */
static void check_counted(request_rec *r, const apr_uint64_t *before,
                          int counts)
{
    const char *v = apr_table_get(r->subprocess_env, "CORS_RESULT");
    apr_size_t j;

    for (j = 0; j < CORS_OUTCOME_COUNT; j++) {
        apr_uint64_t want = before[j]
                            + (v && counts && !strcmp(v, results[j]));

        FZ_CHECK(fz_counts[j] == want, "counter '%s' %llu, not %llu (%s)",
                 results[j], (unsigned long long)fz_counts[j],
                 (unsigned long long)want, v ? v : "no CORS_RESULT");
    }
}

static const char *const report_fields[] = {
    "acao", "credentials", "methods", "headers", "max-age", "status", "vary",
    NULL
};

/* CORS_REPORT: "same", or "differs:" and field names, each once, in the
 * documented order. */
static void check_report_value(request_rec *r)
{
    const char *v = apr_table_get(r->subprocess_env, "CORS_REPORT");
    const char *w[16];
    int n, i, k = 0;

    FZ_CHECK(v != NULL, "no CORS_REPORT");
    if (!strcmp(v, "same")) {
        return;
    }
    FZ_CHECK(!strncmp(v, "differs:", 8), "CORS_REPORT '%s'", v);
    n = fz_list(v + 8, w, 16, 0);
    FZ_CHECK(n > 0, "CORS_REPORT '%s' names no field", v);
    for (i = 0; i < n; i++) {
        while (report_fields[k] && strcmp(report_fields[k], w[i])) {
            k++;
        }
        FZ_CHECK(report_fields[k] != NULL, "CORS_REPORT '%s': field '%s'",
                 v, w[i]);
        k++;
    }
}

/* Does a rule of any deny list in force (the inherited ones too) cover
 * origin, by the reference? */
static int ref_denied_in_force(const fz_config *fc, const cors_dir_conf *ec,
                               const char *origin)
{
    int i, denied = 0;

    for (i = 0; ec->denies && i < ec->denies->nelts; i++) {
        denied |= fz_ref_denied(fc, APR_ARRAY_IDX(ec->denies, i,
                                                  const cors_origins *),
                                origin);
    }
    return denied;
}

/* A denied Origin gets no Allow-Origin or Timing-Allow-Origin, on any
 * answer.  The reference knows the rules of every deny list in force (only
 * usable Origin values are compared: the module compares bytes). */
static void check_denied(const fz_config *fc, const cors_dir_conf *ec,
                         request_rec *r)
{
    const char *origin = apr_table_get(r->headers_in, "Origin");
    const char *v;
    cors_origin o;

    if (!origin || !cors_origin_parse(origin, &o)
        || !ref_denied_in_force(fc, ec, origin)) {
        return;
    }
    FZ_CHECK(!apr_table_get(r->headers_out, "Access-Control-Allow-Origin"),
             "denied origin '%s' answered with Access-Control-Allow-Origin",
             origin);
    FZ_CHECK(!apr_table_get(r->headers_out, "Timing-Allow-Origin")
             || ec->timing != 1, "denied origin '%s' answered with "
             "Timing-Allow-Origin", origin);
    v = apr_table_get(r->subprocess_env, "CORS_RESULT");
    FZ_CHECK(v && (!strcmp(v, "denied:origin")
                   || !strcmp(v, "preflight:denied:origin")
                   || !strncmp(v, "write:denied:", 13)),
             "denied origin '%s': CORS_RESULT '%s'", origin, v ? v : "-");
}

/* Timing-Allow-Origin: the module's with On, others' untouched with Off. */
static void check_timing(const cors_dir_conf *ec, request_rec *r,
                         const apr_table_t *out0, const apr_table_t *err0,
                         int preflight)
{
    const char *tao = "Timing-Allow-Origin";
    const char *acao = apr_table_get(r->headers_out,
                                     "Access-Control-Allow-Origin");
    int n = fz_count(r->headers_out, tao) + fz_count(r->err_headers_out, tao);

    if (ec->timing != 1) {
        FZ_CHECK(fz_count(r->headers_out, tao) == fz_count(out0, tao)
                 && fz_count(r->err_headers_out, tao) == fz_count(err0, tao),
                 "Timing-Allow-Origin changed with CorsTimingAllowOrigin "
                 "Off");
    }
    else if (acao && !preflight) {
        FZ_CHECK(n == 1 && !strcmp(apr_table_get(r->headers_out, tao), acao),
                 "%d Timing-Allow-Origin for Allow-Origin '%s'", n, acao);
    }
    else {
        FZ_CHECK(n == 0, "Timing-Allow-Origin without Allow-Origin or on a "
                 "preflight");
    }
}

/* The cross-origin write check of r under its own configuration own;
 * rv: what header_parser returned. */
static void check_write(const fz_config *fc, const cors_dir_conf *own,
                        request_rec *r, int rv)
{
    const char *site = apr_table_get(r->headers_in, "Sec-Fetch-Site");
    const char *origin = apr_table_get(r->headers_in, "Origin");
    const char *host = apr_table_get(r->headers_in, "Host");
    const char *v = apr_table_get(r->subprocess_env, "CORS_RESULT");
    const char *authority;
    int named = v && !strncmp(v, "write:", 6);
    int safe = !strcmp(r->method, "GET") || !strcmp(r->method, "HEAD")
               || !strcmp(r->method, "OPTIONS");
    cors_origin o;

    if (safe || own->protect <= 0) {
        FZ_CHECK(rv != HTTP_FORBIDDEN && !named, "%s under protection %d: "
                 "%d, CORS_RESULT '%s'", r->method, own->protect, rv,
                 v ? v : "-");
        return;
    }
    FZ_CHECK((rv == HTTP_FORBIDDEN) == (named && own->protect == 1),
             "protection %d: %d, CORS_RESULT '%s'", own->protect, rv,
             v ? v : "-");
    if (named) {
        FZ_CHECK(!strcmp(v, site ? "write:denied:sec-fetch-site"
                                 : "write:denied:origin"),
                 "CORS_RESULT '%s' with Sec-Fetch-Site '%s'", v,
                 site ? site : "-");
    }
    if (site && (!strcmp(site, "same-origin") || !strcmp(site, "none"))) {
        FZ_CHECK(!named, "Sec-Fetch-Site '%s' refused", site);
        return;
    }
    authority = origin ? strstr(origin, "://") : NULL;
    if (!site && (!origin || (host && authority
                              && cors_origin_parse(origin, &o)
                              && !strcasecmp(authority + 3, host)))) {
        FZ_CHECK(!named, "Origin '%s', Host '%s' refused",
                 origin ? origin : "-", host ? host : "-");
        return;
    }
    if (!named) {
        FZ_CHECK(origin && strcmp(origin, "null")
                 && cors_origin_parse(origin, &o)
                 && (fz_ref_rules(fc, origin, 1) || fz_ref_regex(fc, origin, 1))
                 && !ref_denied_in_force(fc, own, origin),
                 "write from '%s' (Sec-Fetch-Site '%s') let through, but "
                 "no rule trusts it", origin ? origin : "-",
                 site ? site : "-");
    }
}

/* FUZZ_VERBOSE=1: print the response (to look at what an input does) */
static void show(request_rec *r, const char *what)
{
    static int verbose = -1;
    const apr_array_header_t *a;
    const apr_table_entry_t *e;
    int i, k;

    if (verbose < 0) {
        verbose = getenv("FUZZ_VERBOSE") != NULL;
    }
    if (!verbose) {
        return;
    }
    fprintf(stderr, "%s: status %d, CORS_RESULT %s, CORS_REPORT %s\n", what,
            r->status, apr_table_get(r->subprocess_env, "CORS_RESULT"),
            apr_table_get(r->subprocess_env, "CORS_REPORT"));
    for (k = 0; k < 2; k++) {
        a = apr_table_elts(k ? r->err_headers_out : r->headers_out);
        e = (const apr_table_entry_t *)a->elts;
        for (i = 0; i < a->nelts; i++) {
            fprintf(stderr, "  %s%s: %s\n", k ? "(err) " : "", e[i].key,
                    e[i].val);
        }
    }
}

/* What httpd's request reader sets (ap_method_number_of): the registered
 * methods' numbers, case-sensitively, M_INVALID for others. */
static int method_number(const char *m)
{
    static const struct {
        const char *name;
        int number;
    } known[] = {
        { "GET", M_GET }, { "HEAD", M_GET }, { "PUT", M_PUT },
        { "POST", M_POST },
        { "DELETE", M_DELETE }, { "CONNECT", M_CONNECT },
        { "OPTIONS", M_OPTIONS }, { "TRACE", M_TRACE }, { "PATCH", M_PATCH },
        { "PROPFIND", M_PROPFIND }, { "MKCOL", M_MKCOL }, { "COPY", M_COPY },
        { "MOVE", M_MOVE }, { "LOCK", M_LOCK }, { "UNLOCK", M_UNLOCK },
        { NULL, 0 }
    };
    int i;

    for (i = 0; known[i].name; i++) {
        if (!strcmp(known[i].name, m)) {
            return known[i].number;
        }
    }
    return M_INVALID;
}

static void add_header(apr_table_t *t, const char *spec, int merge)
{
    const char *colon = strchr(spec, ':');
    const char *name, *value;

    while (*spec == ' ' || *spec == '\t') {
        spec++;
    }
    colon = strchr(spec, ':');
    if (!colon || colon == spec) {
        return;
    }
    name = apr_pstrmemdup(fz_pool, spec, colon - spec);
    value = colon + 1;
    while (*value == ' ' || *value == '\t') {
        value++;
    }
    if (merge) {
        apr_table_merge(t, name, value);
    }
    else {
        apr_table_add(t, name, value);
    }
}

/* The module's output filter on a response's first (non-empty) brigade. */
static void run_filter(request_rec *r)
{
    apr_bucket_alloc_t *ba = apr_bucket_alloc_create(fz_pool);
    apr_bucket_brigade *bb = apr_brigade_create(fz_pool, ba);
    ap_filter_t f;

    /* (not APR_BRIGADE_INSERT_TAIL: its ring macros take offsets through a
     * null pointer, which UBSan reports in the harness) */
    apr_brigade_puts(bb, NULL, NULL, "x");
    memset(&f, 0, sizeof(f));
    f.r = r;
    f.c = r->connection;
    cors_out_filter(&f, bb);
    apr_brigade_destroy(bb);
}

/* The request of model under configuration conf, with model's response
 * (tables copied: a run changes neither). */
static request_rec *same_request(const cors_dir_conf *conf,
                                 const request_rec *model,
                                 const apr_table_t *out,
                                 const apr_table_t *err, int status)
{
    request_rec *r = fz_request(conf);

    r->method = model->method;
    r->method_number = model->method_number;
    r->headers_in = model->headers_in;
    r->headers_out = apr_table_copy(fz_pool, out);
    r->err_headers_out = apr_table_copy(fz_pool, err);
    r->status = status;
    return r;
}

/* The module's hooks on a main request, as httpd runs them. */
static void run_hooks(request_rec *r)
{
    if (cors_header_parser(r) != DONE) {
        cors_insert_filter(r);
    }
    run_filter(r);
}

/*
 * CorsEngine ReportOnly governs r: header_parser declined, the filter ran.
 * The response must be as the handler left it; the same request under On
 * must decide the same; and On's own answer, given back as the response,
 * must be reported "same".
 */
static void check_report_only(const cors_dir_conf *c, request_rec *r,
                              const apr_table_t *out0,
                              const apr_table_t *err0, int status0)
{
    cors_dir_conf *on = apr_pmemdup(fz_pool, c, sizeof(*on));
    request_rec *a, *b;

    FZ_CHECK(same_table(out0, r->headers_out)
             && same_table(err0, r->err_headers_out) && r->status == status0,
             "ReportOnly changed the response");
    check_result(r);
    check_report_value(r);
    if (r->prev) {
        return;                 /* the chain's first request decided */
    }
    on->engine = 1;
    a = same_request(on, r, out0, err0, status0);
    run_hooks(a);
    FZ_CHECK(!strcmp(apr_table_get(a->subprocess_env, "CORS_RESULT"),
                     apr_table_get(r->subprocess_env, "CORS_RESULT")),
             "ReportOnly decided '%s', On '%s'",
             apr_table_get(r->subprocess_env, "CORS_RESULT"),
             apr_table_get(a->subprocess_env, "CORS_RESULT"));
    b = same_request(c, r, a->headers_out, a->err_headers_out, a->status);
    run_hooks(b);
    FZ_CHECK(!strcmp(apr_table_get(b->subprocess_env, "CORS_REPORT"),
                     "same"), "On's own answer reported '%s'",
             apr_table_get(b->subprocess_env, "CORS_REPORT"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in, *p, *end;
    char *line;
    fz_config fc;
    cors_dir_conf *c;
    const cors_dir_conf *ec;
    request_rec *r;
    apr_table_t *out0, *err0;
    int rv, prev = 0, sub = 0, added, decided_before = 0, status0;
    apr_uint64_t counts0[CORS_OUTCOME_COUNT];

    fz_init();
    in = fz_strn(data, size);
    p = in;
    end = in + strlen(in);
    fz_parse_config(&fc, &p, end, "--");
    if (fc.error) {
        fuzz_release();
        return 0;
    }
    c = fz_merged(&fc);
    r = fz_request(c);
    while ((line = fz_line(&p, end))) {
        switch (line[0]) {
        case 'M':
            if (line[1] == ' ' && line[2]) {
                r->method = line + 2;
                r->method_number = method_number(r->method);
            }
            break;
        case 'H':
            add_header(r->headers_in, line + 1, 1);
            break;
        case 'O':
            add_header(r->headers_out, line + 1, 0);
            break;
        case 'E':
            add_header(r->err_headers_out, line + 1, 0);
            break;
        case 'S':
            r->status = atoi(line + 1);
            break;
        case 'P':
            prev = 1;
            break;
        case 'Q':
            prev = decided_before = 1;
            break;
        case 'X':
            sub = 1;
            break;
        }
    }
    if (prev) {
        r->prev = fz_request(fc.sec[0]);
        r->prev->next = r;
        r->prev->headers_in = r->headers_in;
        if (decided_before) {
            ap_set_module_config(r->prev->request_config, &cors_module,
                                 apr_pcalloc(fz_pool, sizeof(cors_decision)));
        }
    }
    if (sub) {
        r->main = fz_request(c);
    }
    out0 = apr_table_copy(fz_pool, r->headers_out);
    err0 = apr_table_copy(fz_pool, r->err_headers_out);
    status0 = r->status;
    ec = cors_conf(r);

    added = fuzz_filters_added;
    memcpy(counts0, fz_counts, sizeof(counts0));
    /* httpd runs header_parser for main requests only */
    rv = sub ? DECLINED : cors_header_parser(r);
    if (!sub) {
        check_write(&fc, c, r, rv);
        /* fixups, under the same configuration: nothing more to refuse */
        FZ_CHECK(rv != DECLINED || cors_fixups(r) == DECLINED,
                 "fixups refused what header_parser let through");
    }
    if (rv == HTTP_FORBIDDEN) {
        /* a refused write: httpd sends its 403 (ap_send_error_response
         * clears headers_out) through the error filters, and the module's
         * filter is checked on it as on any response */
        apr_table_clear(r->headers_out);
        out0 = apr_table_copy(fz_pool, r->headers_out);
        r->status = status0 = HTTP_FORBIDDEN;
        rv = DECLINED;
    }
    if (ec && !sub && ec->engine == CORS_FLAG_REPORT_ONLY) {
        FZ_CHECK(rv == DECLINED, "ReportOnly answered (%d)", rv);
        cors_insert_filter(r);
        FZ_CHECK(fuzz_filters_added == added + 1, "no filter in ReportOnly");
        run_filter(r);
        show(r, "report-only");
        /* counted before check_report_only() decides it again as On */
        check_counted(r, counts0, !decided_before);
        check_report_only(c, r, out0, err0, status0);
        fuzz_release();
        return 0;
    }
    if (rv == DONE) {
        /* the answer goes through the output filters, as any response */
        FZ_CHECK(ec && !sub, "preflight answered outside CORS scope");
        FZ_CHECK(fuzz_filters_added == added + 1, "preflight answered "
                 "without the output filters inserted");
        run_filter(r);
        show(r, "preflight");
        check_preflight(&fc, r, ec);
        check_counted(r, counts0, !decided_before);
        check_denied(&fc, ec, r);
        check_timing(ec, r, out0, err0, 1);
        fuzz_release();
        return 0;
    }
    FZ_CHECK(rv == DECLINED, "header_parser returned %d", rv);
    cors_insert_filter(r);
    if (fuzz_filters_added != added) {
        FZ_CHECK(ec && !sub, "filter added outside CORS scope");
        run_filter(r);
        show(r, "actual");
        check_actual(&fc, r, ec, out0);
        check_denied(&fc, ec, r);
        check_timing(ec, r, out0, err0, 0);
    }
    else {
        show(r, "untouched");
        FZ_CHECK(!ec || sub, "no filter in CORS scope");
        const char *v = apr_table_get(r->subprocess_env, "CORS_RESULT");

        FZ_CHECK(same_table(out0, r->headers_out)
                 && same_table(err0, r->err_headers_out)
                 && (!v || (c->protect > 0 && !strncmp(v, "write:", 6))),
                 "response changed outside CORS scope");
    }
    check_counted(r, counts0, !decided_before);
    fuzz_release();
    return 0;
}
