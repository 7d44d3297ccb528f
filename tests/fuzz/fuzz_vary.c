/*
 * fuzz_vary: merging the module's tokens into a response's Vary.
 *
 * Input: the first byte picks the tokens to add (an actual response's,
 * a preflight's, a preflight's with Private Network Access); the rest is
 * Vary header lines as a handler, CGI or backend left them, one per line;
 * a line starting with '!' goes to err_headers_out instead of headers_out.
 *
 * Calls cors_vary_merge() on the lines joined with ", " and checks it
 * against a merge computed here (elements split on commas, SP/HTAB trimmed,
 * empty ones dropped; a "*" element makes the value "*"; otherwise every
 * element once, compared case-insensitively, first spelling kept, then the
 * added tokens that are missing, joined with ", ").  Then runs what the
 * filter runs on a request_rec with those lines (cors_take_tables(),
 * cors_write_vary()) and checks that exactly one Vary line is left, in
 * headers_out, with that value.
 */
#include "fuzz.h"

#define MAXTOK 8192

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const *const adds[] = {
        cors_vary_actual, cors_vary_preflight, cors_vary_preflight_pna
    };
    static const char *const plains[] = {
        "Origin", CORS_VARY_PREFLIGHT,
        CORS_VARY_PREFLIGHT ", Access-Control-Request-Private-Network"
    };
    const char *const *add;
    const char *plain;
    const char *in, *p, *end, *have = NULL, *got, *expect = NULL;
    const char **tok;
    char *line;
    int which, n, i, j, k, star = 0, lines = 0;
    request_rec *r;

    if (size < 1) {
        return 0;
    }
    fz_init();
    which = data[0] % 3;
    add = adds[which];
    plain = plains[which];
    in = fz_strn(data + 1, size - 1);
    r = fz_request(cors_create_dir_conf(fz_pool, NULL));
    p = in;
    end = in + strlen(in);
    while ((line = fz_line(&p, end))) {
        int err = line[0] == '!';
        const char *v = line + err;

        apr_table_addn(err ? r->err_headers_out : r->headers_out, "Vary", v);
        lines++;
    }
    /* cors_take_tables() reads headers_out's lines, then err_headers_out's */
    for (k = 0; k < 2; k++) {
        const apr_array_header_t *a = apr_table_elts(k ? r->err_headers_out
                                                        : r->headers_out);
        const apr_table_entry_t *e = (const apr_table_entry_t *)a->elts;

        for (i = 0; i < a->nelts; i++) {
            have = have ? apr_pstrcat(fz_pool, have, ", ", e[i].val, NULL)
                        : e[i].val;
        }
    }

    tok = apr_palloc(fz_pool, sizeof(*tok) * (MAXTOK + 8));
    n = have ? fz_list(have, tok, MAXTOK, 0) : 0;
    if (n == MAXTOK) {
        fuzz_release();
        return 0;
    }
    for (i = 0; i < n; i++) {
        star |= !strcmp(tok[i], "*");
    }
    if (star) {
        expect = "*";
    }
    else if (have) {
        const char **u = apr_palloc(fz_pool, sizeof(*u) * (n + 8));
        int m = 0;

        for (i = 0; i < n; i++) {
            for (j = 0; j < m && strcasecmp(u[j], tok[i]); j++) {
            }
            if (j == m) {
                u[m++] = tok[i];
            }
        }
        for (i = 0; add[i]; i++) {
            for (j = 0; j < m && strcasecmp(u[j], add[i]); j++) {
            }
            if (j == m) {
                u[m++] = add[i];
            }
        }
        expect = "";
        for (j = 0; j < m; j++) {
            expect = apr_pstrcat(fz_pool, expect, j ? ", " : "", u[j], NULL);
        }
    }

    if (have) {
        got = cors_vary_merge(fz_pool, have, add);
        FZ_CHECK(!strcmp(got, expect), "merge of '%s': '%s', expected '%s'",
                 have, got, expect);
    }
    cors_write_vary(r, cors_take_tables(r), plain, add);
    FZ_CHECK(fz_count(r->headers_out, "Vary") == 1
             && fz_count(r->err_headers_out, "Vary") == 0,
             "%d + %d Vary lines left", fz_count(r->headers_out, "Vary"),
             fz_count(r->err_headers_out, "Vary"));
    got = apr_table_get(r->headers_out, "Vary");
    FZ_CHECK(!strcmp(got, have ? expect : plain), "Vary '%s', expected '%s'",
             got, have ? expect : plain);
    (void)lines;
    fuzz_release();
    return 0;
}
