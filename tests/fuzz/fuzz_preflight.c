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
 * CONNECT/TRACE/TRACK never (in any case), others only when listed
 * (case-sensitively) or '*'; the header list is split on commas with
 * SP/HTAB trimmed and empty elements dropped, every name must be a token
 * and allowed ('*' never covers Authorization), and the answer is exactly
 * the requested names, lowercased, joined with ", ".
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in, *p, *end;
    char *margs, *hargs, *method, *hvalue = NULL;
    const char *names[4096];
    fz_config fc;
    cors_dir_conf *c;
    request_rec *r;
    const char *why, *out = NULL, *bad = NULL, *err;
    int malformed = 0, n, i, expect_ok;
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
    if (!cors_is_token(method, strlen(method))) {
        FZ_CHECK(why && malformed, "method '%s' is no token", method);
    }
    else {
        expect_ok = !strcmp(method, "GET") || !strcmp(method, "HEAD")
                    || !strcmp(method, "POST")
                    || (!forbidden(method) && *margs
                        && (in_args(margs, "*", 0)
                            || in_args(margs, method, 0)));
        FZ_CHECK(!malformed, "method '%s' taken for malformed", method);
        FZ_CHECK(expect_ok == (why == NULL), "method '%s' with '%s': %s",
                 method, margs, why ? why : "allowed");
    }

    /* the headers */
    why = cors_check_headers(r, c, hvalue, &out, &malformed, &bad);
    n = hvalue ? fz_list(hvalue, names, 4096, 1) : 0;
    if (n == 4096) {
        fuzz_release();
        return 0;
    }
    expect_ok = 1;
    for (i = 0; i < n && expect_ok; i++) {
        if (!cors_is_token(names[i], strlen(names[i]))) {
            expect_ok = 0;
            FZ_CHECK(why && malformed, "'%s' in '%s' is no token", names[i],
                     hvalue);
            FZ_CHECK(bad != NULL, "no bad name reported");
        }
        else if (!(*hargs && (in_args(hargs, names[i], 1)
                              || (in_args(hargs, "*", 0)
                                  && strcmp(names[i], "authorization"))))) {
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
    fuzz_release();
    return 0;
}
