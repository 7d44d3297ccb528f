/*
 * fuzz_config: the directive handlers, as an administrator (or a .htaccess
 * author) feeds them.
 *
 * Input: directive lines (see fuzz.h: '<' opens the next section, "@file"
 * ... "@end" is the file "CorsAllowOriginFile @F" reads).  Every directive
 * of the module's command table is reachable, with httpd's argument forms.
 *
 * When every line was accepted (httpd would start), checks each section:
 *  - none of the combinations README "Configuration errors" refuses is left
 *    in it;
 *  - CorsMaxAge is in 0..86400 and its text is that number;
 *  - tri-states (CorsDebug too) are unset, 0 or 1; CorsPreflightStatus is
 *    unset, 204 or 200;
 *  - methods and header names are tokens, header names lowercased, no
 *    forbidden method; the joined lists are the names joined with ", ";
 *  - every normalised origin in the exact and any-port tables is itself a
 *    usable Origin value (what a browser would send), every subdomain key
 *    is ".domain[:port]" that makes one after "scheme://x", and says it is
 *    on a public suffix exactly when libpsl, asked directly, says so (and
 *    then the section has a public-suffix pattern to refuse); the same for
 *    the CorsDenyOrigin list, which never holds '*';
 *  - no origin (nor null) is both allowed and denied in one section;
 * and the merge of the sections takes each field from the innermost section
 * that sets it, "none" anywhere drops inherited expressions, the deny lists
 * add up (every list since the last "CorsDenyOrigin none", fz_ref_denies()),
 * and merging three sections gives the same result however they are
 * grouped.
 *
 * Then reads the lines again as a child reads .htaccess files, twice (the
 * second time finds the CorsAllowOrigin lines the first one kept, README
 * "Performance"): the same first error, and the same origins in every
 * section.
 */
#include "fuzz.h"

/* The next key of a lookup set and its value, in slot order (start with
 * *i = 0), checking that the set finds it again; 0 after the last. */
static int set_next(const cors_strset *t, apr_uint32_t *i, const char **k,
                    void **v)
{
    for (; t->slots && *i <= t->mask; (*i)++) {
        const cors_strset_entry *e = &t->slots[*i];

        if (e->key) {
            *k = e->key;
            *v = t->vals ? t->vals[*i] : (void *)e->key;
            FZ_CHECK(e->len == strlen(e->key), "slot length of '%s'", e->key);
            FZ_CHECK(cors_strset_get(t, e->key, e->len) == *v,
                     "'%s' is in the set but not found", e->key);
            (*i)++;
            return 1;
        }
    }
    return 0;
}

/* The set's shape: as many keys as it counts, at most half full. */
static void check_set(const cors_strset *t)
{
    apr_uint32_t i = 0, n = 0;
    const char *k;
    void *v;

    while (set_next(t, &i, &k, &v)) {
        n++;
    }
    FZ_CHECK(n == t->count, "a set holds %u keys but counts %u", n,
             t->count);
    FZ_CHECK(!t->slots || 2 * (apr_size_t)t->count <= (apr_size_t)t->mask + 1,
             "a set is more than half full: %u keys in %u slots", t->count,
             t->mask + 1);
}

static void check_tokens(const cors_tokens *t, int lower, int methods)
{
    apr_uint32_t i = 0;
    const char *k;
    void *v;

    if (!t) {
        return;
    }
    check_set(&t->set);
    while (set_next(&t->set, &i, &k, &v)) {
        const char *q;

        FZ_CHECK(cors_is_token(k), "'%s' in a token set", k);
        if (lower) {
            for (q = k; *q; q++) {
                FZ_CHECK(!apr_isupper(*q), "'%s' not lowercased", k);
            }
        }
        if (methods) {
            FZ_CHECK(!cors_forbidden_method(k), "method '%s' allowed", k);
        }
    }
    FZ_CHECK(t->joined != NULL, "no joined list");
    FZ_CHECK(fz_clean_value(t->joined), "joined '%s'", t->joined);
    FZ_CHECK(!t->any || strstr(t->joined, "*"), "'*' missing in '%s'",
             t->joined);
    if (t->joined_named) {
        const char *w[FZ_MAX_ARGS];
        int n = fz_list(t->joined_named, w, FZ_MAX_ARGS, 0), i;

        for (i = 0; i < n; i++) {
            FZ_CHECK(strcmp(w[i], "*"), "'*' in '%s'", t->joined_named);
        }
    }
}

/* A subdomain key's public-suffix flag, against the Public Suffix List
 * asked directly (never set in a CorsDenyOrigin list: denying a public
 * suffix's sites is safe); returns the flag. */
static int check_public_suffix(const cors_origins *l, const char *key,
                               const cors_sub *sub)
{
    char *domain = apr_pstrdup(fz_pool, key + 1), *colon = strchr(domain, ':');
    int want;

    if (colon) {
        *colon = '\0';
    }
    want = !l->deny && fz_ref_public_suffix(domain);
    FZ_CHECK(sub->public_suffix == want,
             "subdomain key '%s' (%s list): public suffix %d, not %d", key,
             l->deny ? "deny" : "allow", sub->public_suffix, want);
    return sub->public_suffix;
}

static void check_origins(const cors_origins *l)
{
    int psl = 0;

    apr_uint32_t i = 0;
    const char *k;
    void *v;
    cors_origin o;

    if (!l) {
        return;
    }
    check_set(&l->exact);
    check_set(&l->any_port);
    check_set(&l->sub_port);
    check_set(&l->sub_anyport);
    while (set_next(&l->exact, &i, &k, &v)) {
        FZ_CHECK(cors_origin_parse(k, &o) && !o.is_null,
                 "configured origin '%s' is no usable Origin", k);
    }
    i = 0;
    while (set_next(&l->any_port, &i, &k, &v)) {
        FZ_CHECK(cors_origin_parse(k, &o) && !o.is_null,
                 "port pattern key '%s' is no usable Origin", k);
    }
    i = 0;
    while (set_next(&l->sub_port, &i, &k, &v)) {
        const apr_array_header_t *schemes = ((const cors_sub *)v)->schemes;
        int j;

        psl |= check_public_suffix(l, k, v);
        FZ_CHECK(k[0] == '.', "subdomain key '%s'", k);
        for (j = 0; j < schemes->nelts && strlen(k) < 200; j++) {
            const char *s = apr_pstrcat(fz_pool,
                APR_ARRAY_IDX(schemes, j, const char *), "://x", k, NULL);

            FZ_CHECK(cors_origin_parse(s, &o), "subdomain key '%s' makes "
                     "'%s', no usable Origin", k, s);
        }
    }
    i = 0;
    while (set_next(&l->sub_anyport, &i, &k, &v)) {
        FZ_CHECK(k[0] == '.' && !strchr(k, ':'), "subdomain key '%s'", k);
        psl |= check_public_suffix(l, k, v);
    }
    FZ_CHECK(psl == (l->psl_sub != NULL), "public-suffix pattern %s, but "
             "%d keys on one", l->psl_sub ? l->psl_sub : "(none)", psl);
}

/* No exact origin, and not null, in both lists of one section. */
static void check_not_both(const cors_dir_conf *c)
{
    apr_uint32_t i = 0;
    const char *k;
    void *v;

    if (!c->origins) {
        return;
    }
    FZ_CHECK(!(c->origins->null && c->deny->null), "null allowed and denied");
    while (set_next(&c->deny->exact, &i, &k, &v)) {
        FZ_CHECK(!cors_strset_get(&c->origins->exact, k, strlen(k)),
                 "'%s' allowed and denied in one section", k);
    }
}

static void check_section(const cors_dir_conf *c)
{
    int any = c->origins && c->origins->any;

    FZ_CHECK(!(c->credentials == 1 && any), "'*' with credentials");
    FZ_CHECK(!(c->credentials == 1 && c->expose && c->expose->any),
             "expose '*' with credentials");
    FZ_CHECK(!(c->pna == 1 && any), "private network with '*'");
    FZ_CHECK(!(c->credentials == 1 && c->origins && c->origins->http_sub),
             "http subdomain pattern with credentials");
    FZ_CHECK(!(c->credentials == 1 && c->origins && c->origins->psl_sub),
             "public-suffix pattern with credentials");
    if (c->regexes && c->credentials == 1) {
        int i;

        for (i = 0; i < c->regexes->nelts; i++) {
            FZ_CHECK(!APR_ARRAY_IDX(c->regexes, i, cors_regex).any,
                     "an expression matching any origin, with credentials");
        }
    }
    FZ_CHECK(c->engine >= CORS_UNSET && c->engine <= CORS_FLAG_REPORT_ONLY,
             "engine %d", c->engine);
    FZ_CHECK(c->protect >= CORS_UNSET && c->protect <= CORS_FLAG_REPORT_ONLY,
             "protect %d", c->protect);
    FZ_CHECK(c->credentials >= CORS_UNSET && c->credentials <= 1,
             "credentials %d", c->credentials);
    FZ_CHECK(c->pna >= CORS_UNSET && c->pna <= 1, "pna %d", c->pna);
    FZ_CHECK(c->debug >= CORS_UNSET && c->debug <= 1, "debug %d", c->debug);
    FZ_CHECK(c->preflight_status == CORS_UNSET || c->preflight_status == 204
             || c->preflight_status == 200, "status %d", c->preflight_status);
    if (c->max_age != CORS_UNSET) {
        FZ_CHECK(c->max_age >= 0 && c->max_age <= CORS_MAX_AGE_LIMIT
                 && c->max_age_str
                 && !strcmp(c->max_age_str, apr_itoa(fz_pool, c->max_age)),
                 "max age %d '%s'", c->max_age,
                 c->max_age_str ? c->max_age_str : "(null)");
    }
    check_tokens(c->methods, 0, 1);
    check_tokens(c->headers, 1, 0);
    check_tokens(c->expose, 1, 0);
    check_origins(c->origins);
    FZ_CHECK(c->timing >= CORS_UNSET && c->timing <= 1, "timing %d",
             c->timing);
    if (c->deny) {
        check_origins(c->deny);
        FZ_CHECK(!c->deny->any, "'*' in a deny list");
        check_not_both(c);
    }
}

#define PICK(f, unset) (add->f != (unset) ? add->f : base->f)

static void check_merge(const cors_dir_conf *base, const cors_dir_conf *add,
                        const cors_dir_conf *m)
{
    FZ_CHECK(m->engine == PICK(engine, CORS_UNSET), "merged engine");
    FZ_CHECK(m->protect == PICK(protect, CORS_UNSET), "merged protection");
    FZ_CHECK(m->credentials == PICK(credentials, CORS_UNSET),
             "merged credentials");
    FZ_CHECK(m->pna == PICK(pna, CORS_UNSET), "merged pna");
    FZ_CHECK(m->debug == PICK(debug, CORS_UNSET), "merged debug");
    FZ_CHECK(m->preflight_status == PICK(preflight_status, CORS_UNSET),
             "merged status");
    FZ_CHECK(m->max_age == PICK(max_age, CORS_UNSET), "merged max age");
    FZ_CHECK(m->origins == PICK(origins, NULL), "merged origins");
    FZ_CHECK(m->methods == PICK(methods, NULL), "merged methods");
    FZ_CHECK(m->headers == PICK(headers, NULL), "merged headers");
    FZ_CHECK(m->expose == PICK(expose, NULL), "merged expose");
    FZ_CHECK(m->deny == PICK(deny, NULL), "merged deny list");
    FZ_CHECK(m->timing == PICK(timing, CORS_UNSET), "merged timing");
    FZ_CHECK(m->origins_cleared
             == (add->origins_cleared || base->origins_cleared),
             "merged 'none'");
    if (add->regexes) {
        FZ_CHECK(m->regexes == add->regexes, "merged regexes");
    }
    else if (add->origins_cleared) {
        FZ_CHECK(m->regexes == NULL, "'none' keeps inherited regexes");
    }
    else {
        FZ_CHECK(m->regexes == base->regexes, "merged regexes (inherited)");
    }
}

/* Two arrays of deny lists hold the same lists in the same order. */
static int same_denies(const apr_array_header_t *x,
                       const apr_array_header_t *y)
{
    if (!x || !y) {
        return x == y;
    }
    return x->nelts == y->nelts
           && !memcmp(x->elts, y->elts, x->nelts * sizeof(cors_origins *));
}

/* The deny lists of a merged configuration (sections 0..last merged) are
 * the reference's, and "none" in any of them is known. */
static void check_denies(const fz_config *fc, int last,
                         const cors_dir_conf *m)
{
    const cors_origins *want[FZ_MAX_SECTIONS];
    int n = fz_ref_denies(fc, last, want), i, none = 0;

    FZ_CHECK(n ? m->denies && m->denies->nelts == n : !m->denies,
             "sections 0..%d: %d deny lists in force, not %d", last,
             m->denies ? m->denies->nelts : 0, n);
    for (i = 0; i < n; i++) {
        FZ_CHECK(APR_ARRAY_IDX(m->denies, i, const cors_origins *) == want[i],
                 "sections 0..%d: deny list %d is not the reference's", last,
                 i);
    }
    for (i = 0; i <= last; i++) {
        none |= fc->deny_none[i];
    }
    FZ_CHECK(m->deny_cleared == none, "sections 0..%d: merged deny 'none' "
             "%d, not %d", last, m->deny_cleared, none);
}

/* Two merged configurations are the same: every field (the merge fills
 * its result with zeros first, so the padding compares too), the deny
 * lists by content. */
static int same_conf(const cors_dir_conf *x, const cors_dir_conf *y)
{
    cors_dir_conf a = *x, b = *y;

    a.denies = b.denies = NULL;
    return !memcmp(&a, &b, sizeof(a)) && same_denies(x->denies, y->denies);
}

/*
 * httpd merges the sections that match a request with each other before
 * merging the result onto the server's configuration (and caches partial
 * merges), so the merge must be associative: for each three consecutive
 * sections, merge(merge(a, b), c) equals merge(a, merge(b, c)), field by
 * field.
 */
static void check_associative(const fz_config *fc)
{
    int i;

    for (i = 0; i + 2 < fc->nsec; i++) {
        cors_dir_conf *a = fc->sec[i], *b = fc->sec[i + 1], *c = fc->sec[i + 2];
        const cors_dir_conf *left = cors_merge_dir_conf(
            fz_pool, cors_merge_dir_conf(fz_pool, a, b), c);
        const cors_dir_conf *right = cors_merge_dir_conf(
            fz_pool, a, cors_merge_dir_conf(fz_pool, b, c));

        FZ_CHECK(left->origins_cleared == right->origins_cleared,
                 "'none' of sections %d..%d: %d grouped left, %d right", i,
                 i + 2, left->origins_cleared, right->origins_cleared);
        FZ_CHECK(left->regexes == right->regexes, "expressions of sections "
                 "%d..%d depend on the grouping", i, i + 2);
        FZ_CHECK(left->origins == right->origins, "origins of sections "
                 "%d..%d depend on the grouping", i, i + 2);
        FZ_CHECK(left->deny == right->deny, "deny list of sections %d..%d "
                 "depends on the grouping", i, i + 2);
        FZ_CHECK(same_denies(left->denies, right->denies), "deny lists in "
                 "force of sections %d..%d depend on the grouping", i, i + 2);
        FZ_CHECK(same_conf(left, right), "the merge of sections %d..%d "
                 "depends on the grouping", i, i + 2);
    }
}

/* Do two sets hold the same keys? */
static int same_keys(const cors_strset *x, const cors_strset *y)
{
    apr_uint32_t i = 0;
    const char *k;
    void *v;

    if (x->count != y->count) {
        return 0;
    }
    while (set_next(x, &i, &k, &v)) {
        if (!cors_strset_get(y, k, strlen(k))) {
            return 0;
        }
    }
    return 1;
}

static int same_str(const char *x, const char *y)
{
    return x == y || (x && y && !strcmp(x, y));
}

/* Do two readings of a section give it the same origins? */
static int same_origins(const cors_origins *x, const cors_origins *y)
{
    if (!x || !y) {
        return x == y;
    }
    return same_keys(&x->exact, &y->exact)
           && same_keys(&x->sub_port, &y->sub_port)
           && same_keys(&x->sub_anyport, &y->sub_anyport)
           && same_keys(&x->any_port, &y->any_port)
           && x->min_sub_labels == y->min_sub_labels
           && x->max_sub_labels == y->max_sub_labels && x->any == y->any
           && x->null == y->null && x->rules == y->rules
           && x->parse == y->parse && x->deny == y->deny
           && same_str(x->http_sub, y->http_sub)
           && same_str(x->psl_sub, y->psl_sub);
}

/*
 * The lines read as .htaccess files are, by a child that keeps the
 * CorsAllowOrigin lines of origins only: twice, so that the second reading
 * finds them kept.  Each reading has the first error of the server's
 * reading fc, or none, and the same origins in every section.
 */
static void check_htaccess(const char *in, const fz_config *fc)
{
    fz_config h;
    const char *p;
    int round, i;

    cors_hta_child_init(fz_pool);
    fuzz_main_state = AP_SQ_MS_RUN_MPM;
    for (round = 0; round < 2; round++) {
        p = in;
        fz_parse_config(&h, &p, in + strlen(in), NULL);
        FZ_CHECK(same_str(fc->error, h.error), ".htaccess reading %d: error "
                 "'%s', not '%s'", round + 1, h.error ? h.error : "(none)",
                 fc->error ? fc->error : "(none)");
        for (i = 0; !fc->error && i < fc->nsec; i++) {
            check_section(h.sec[i]);
            FZ_CHECK(same_origins(fc->sec[i]->origins, h.sec[i]->origins),
                     ".htaccess reading %d: the origins of section %d are "
                     "not the server's", round + 1, i);
            FZ_CHECK(same_origins(fc->sec[i]->deny, h.sec[i]->deny),
                     ".htaccess reading %d: the deny list of section %d is "
                     "not the server's", round + 1, i);
        }
    }
    fuzz_main_state = AP_SQ_MS_CREATE_CONFIG;
    cors_hta.pool = NULL;       /* its pool is cleared after this input */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in, *p;
    fz_config fc;
    cors_dir_conf *m;
    int i;

    fz_init();
    in = fz_strn(data, size);
    p = in;
    fz_parse_config(&fc, &p, in + strlen(in), NULL);
    if (!fc.error) {
        m = fc.sec[0];
        check_section(m);
        check_denies(&fc, 0, m);
        for (i = 1; i < fc.nsec; i++) {
            cors_dir_conf *next;

            check_section(fc.sec[i]);
            next = cors_merge_dir_conf(fz_pool, m, fc.sec[i]);
            check_merge(m, fc.sec[i], next);
            check_denies(&fc, i, next);
            (void)cors_in_scope(next);
            m = next;
        }
        check_associative(&fc);
    }
    check_htaccess(in, &fc);
    fuzz_release();
    return 0;
}
