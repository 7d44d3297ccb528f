/*
 * tests/fuzz/stubs.c: stand-ins for the httpd functions mod_cors.c calls,
 * so that the fuzz harnesses can compile the module's own source
 * (#include "../../mod_cors.c") into a plain executable linked with APR.
 *
 * httpd's core is an executable, not a library, so its functions cannot be
 * linked; these are small re-implementations of what the module relies on:
 *
 *   ap_pregcomp/ap_regexec   PCRE2, with httpd's default options
 *                            (AP_REG_DEFAULT: DOTALL, DOLLAR_ENDONLY) and a
 *                            lower match limit (fuzzed expressions must not
 *                            make one input take seconds);
 *   ap_find_list_item,       httpd's list rule (comma-separated items);
 *   ap_get_list_item
 *   ap_log_*error_           format the message (so a bad format argument
 *                            is caught by ASan) and drop it;
 *   the hook, filter and protocol functions: record (the pre_config and
 *                            insert_filter hooks, which the harnesses and
 *                            ap_run_insert_filter() run as httpd would) or
 *                            do nothing;
 *   the response writers     (ap_rwrite, ap_rprintf, ap_rvputs: the
 *                            counters' pages, which no harness calls)
 *                            format and drop.
 *
 * It also replaces apr_palloc() for the harness's request pool: every
 * allocation there (the module's own and APR's: apr_pstrcat, tables, hash
 * tables) becomes a separate malloc(), so AddressSanitizer sees an overflow
 * from one pool allocation into the next, which it cannot inside APR's pool
 * blocks.  libapr calls apr_palloc through its PLT, so the definition here
 * wins for APR's internal calls too.  A new ap_* call in mod_cors.c needs a
 * stand-in here (the link fails until it has one).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "apr_lib.h"
#include "apr_pools.h"
#include "apr_strings.h"
#include "apr_file_io.h"
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"
#include "ap_regex.h"
#include "http_main.h"
#include "scoreboard.h"
#include "ap_listen.h"

#include "stubs.h"

/* ---- pool allocations as separate mallocs ------------------------------ */

static apr_pool_t *tracked_pool;
static void **blocks;
static size_t nblocks, capblocks;
static void *(*real_palloc)(apr_pool_t *, apr_size_t);

void fuzz_track_pool(apr_pool_t *p)
{
    tracked_pool = p;
}

void fuzz_release(void)
{
    size_t i;

    if (tracked_pool) {
        apr_pool_clear(tracked_pool);   /* cleanups first: regexes */
    }
    for (i = 0; i < nblocks; i++) {
        free(blocks[i]);
    }
    nblocks = 0;
}

APR_DECLARE(void *) apr_palloc(apr_pool_t *p, apr_size_t size)
{
    void *m;

    if (p != tracked_pool) {
        if (!real_palloc) {
            real_palloc = (void *(*)(apr_pool_t *, apr_size_t))
                          dlsym(RTLD_NEXT, "apr_palloc");
            if (!real_palloc) {
                abort();
            }
        }
        return real_palloc(p, size);
    }
    if (nblocks == capblocks) {
        capblocks = capblocks ? capblocks * 2 : 1024;
        blocks = realloc(blocks, capblocks * sizeof(*blocks));
        if (!blocks) {
            abort();
        }
    }
    m = malloc(size ? size : 1);
    if (!m) {
        abort();
    }
    blocks[nblocks++] = m;
    return m;
}

/* ---- regular expressions ----------------------------------------------- */

static apr_status_t regex_cleanup(void *preg)
{
    pcre2_code_free(((ap_regex_t *)preg)->re_pcre);
    return APR_SUCCESS;
}

AP_DECLARE(ap_regex_t *) ap_pregcomp(apr_pool_t *p, const char *pattern,
                                     int cflags)
{
    ap_regex_t *preg = apr_palloc(p, sizeof(*preg));
    uint32_t options = 0;
    int err;
    PCRE2_SIZE off;
    pcre2_code *code;

    if (!(cflags & AP_REG_NO_DEFAULT)) {
        cflags |= AP_REG_DEFAULT;
    }
    if (cflags & AP_REG_ICASE) {
        options |= PCRE2_CASELESS;
    }
    if (cflags & AP_REG_NEWLINE) {
        options |= PCRE2_MULTILINE;
    }
    if (cflags & AP_REG_DOTALL) {
        options |= PCRE2_DOTALL;
    }
    if (cflags & AP_REG_DOLLAR_ENDONLY) {
        options |= PCRE2_DOLLAR_ENDONLY;
    }
    code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, options,
                         &err, &off, NULL);
    if (!code) {
        return NULL;
    }
    preg->re_pcre = code;
    preg->re_nsub = 0;
    preg->re_erroffset = 0;
    apr_pool_cleanup_register(p, preg, regex_cleanup, apr_pool_cleanup_null);
    return preg;
}

AP_DECLARE(int) ap_regexec_len(const ap_regex_t *preg, const char *buff,
                               apr_size_t len, apr_size_t nmatch,
                               ap_regmatch_t *pmatch, int eflags)
{
    static pcre2_match_context *mctx;
    pcre2_match_data *md;
    uint32_t options = 0;
    apr_size_t i;
    int rc;

    if (!mctx) {
        mctx = pcre2_match_context_create(NULL);
        pcre2_set_match_limit(mctx, 100000);
        pcre2_set_depth_limit(mctx, 10000);
    }
    if (eflags & AP_REG_NOTBOL) {
        options |= PCRE2_NOTBOL;
    }
    if (eflags & AP_REG_NOTEOL) {
        options |= PCRE2_NOTEOL;
    }
    md = pcre2_match_data_create_from_pattern(preg->re_pcre, NULL);
    rc = pcre2_match(preg->re_pcre, (PCRE2_SPTR)buff, len, 0, options, md,
                     mctx);
    for (i = 0; rc >= 0 && i < nmatch; i++) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);

        if (i < pcre2_get_ovector_count(md) && ov[2 * i] != PCRE2_UNSET) {
            pmatch[i].rm_so = (int)ov[2 * i];
            pmatch[i].rm_eo = (int)ov[2 * i + 1];
        }
        else {
            pmatch[i].rm_so = pmatch[i].rm_eo = -1;
        }
    }
    pcre2_match_data_free(md);
    return rc >= 0 ? 0 : AP_REG_NOMATCH;
}

AP_DECLARE(int) ap_regexec(const ap_regex_t *preg, const char *string,
                           apr_size_t nmatch, ap_regmatch_t *pmatch,
                           int eflags)
{
    return ap_regexec_len(preg, string, strlen(string), nmatch, pmatch,
                          eflags);
}

/* ---- configuration ---------------------------------------------------- */

/* httpd's list rule, simplified (quoted strings and comments are not
 * special): the next comma-separated item, without the white space around
 * it, lowercased; NULL at the end. */
AP_DECLARE(char *) ap_get_list_item(apr_pool_t *p, const char **field)
{
    const char *s = *field, *start, *end;
    char *item, *q;

    while (*s == ',' || *s == ' ' || *s == '\t') {
        s++;
    }
    if (!*s) {
        *field = s;
        return NULL;
    }
    start = s;
    while (*s && *s != ',') {
        s++;
    }
    end = s;
    while (end > start && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }
    *field = s;
    item = apr_pstrmemdup(p, start, end - start);
    for (q = item; *q; q++) {
        *q = apr_tolower(*q);
    }
    return item;
}

/* httpd's rule: a comma-separated list, items compared case-insensitively
 * without the white space around them. */
AP_DECLARE(int) ap_find_list_item(apr_pool_t *p, const char *line,
                                  const char *tok)
{
    apr_size_t n = strlen(tok);

    (void)p;
    while (line && *line) {
        const char *start, *end;

        while (*line == ',' || *line == ' ' || *line == '\t') {
            line++;
        }
        start = line;
        while (*line && *line != ',') {
            line++;
        }
        end = line;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t')) {
            end--;
        }
        if ((apr_size_t)(end - start) == n && !strncasecmp(start, tok, n)) {
            return 1;
        }
    }
    return 0;
}

AP_DECLARE(char *) ap_server_root_relative(apr_pool_t *p, const char *fname)
{
    if (fname[0] == '/') {
        return apr_pstrdup(p, fname);
    }
    return apr_pstrcat(p, "/nonexistent/serverroot/", fname, NULL);
}

AP_DECLARE(int) ap_state_query(int query_code)
{
    (void)query_code;
    return AP_SQ_MS_CREATE_CONFIG;
}

/* RFC 9110 tchar: httpd's T_HTTP_TOKEN_STOP table, spelled out */
AP_DECLARE(const char *) ap_scan_http_token(const char *ptr)
{
    while (*ptr && (apr_isalnum(*ptr) || strchr("!#$%&'*+-.^_`|~", *ptr))) {
        ptr++;
    }
    return ptr;
}

/* ap_getword_conf() as httpd's (server/util.c) behaves, written for the
 * fuzzers, without environment variables: a word is quoted (' or ") or
 * ends at white space; a backslash escapes a backslash, and the quote of a
 * quoted word */
static char *fz_substring_conf(apr_pool_t *p, const char *start, int len,
                               char quote)
{
    char *result = apr_palloc(p, len + 1), *resp = result;
    int i;

    for (i = 0; i < len; ++i) {
        if (start[i] == '\\'
            && (start[i + 1] == '\\' || (quote && start[i + 1] == quote))) {
            *resp++ = start[++i];
        }
        else {
            *resp++ = start[i];
        }
    }
    *resp = '\0';
    return result;
}

AP_DECLARE(char *) ap_getword_conf(apr_pool_t *p, const char **line)
{
    const char *str = *line, *strend;
    char *res, quote;

    while (apr_isspace(*str)) {
        ++str;
    }
    if (!*str) {
        *line = str;
        return "";
    }
    if ((quote = *str) == '"' || quote == '\'') {
        strend = str + 1;
        while (*strend && *strend != quote) {
            strend += *strend == '\\' && strend[1] == quote ? 2 : 1;
        }
        res = fz_substring_conf(p, str + 1, strend - str - 1, quote);
        if (*strend == quote) {
            ++strend;
        }
    }
    else {
        for (strend = str; *strend && !apr_isspace(*strend); ++strend) {
        }
        res = fz_substring_conf(p, str, strend - str, 0);
    }
    while (apr_isspace(*strend)) {
        ++strend;
    }
    *line = strend;
    return res;
}

AP_DECLARE(void) ap_str_tolower(char *s)
{
    for (; *s; s++) {
        *s = apr_tolower(*s);
    }
}

/* ---- logging ------------------------------------------------------------ */

static void format_and_drop(const char *fmt, va_list ap)
{
    char buf[8192];

    vsnprintf(buf, sizeof(buf), fmt, ap);
}

AP_DECLARE(void) ap_log_error_(const char *file, int line, int module_index,
                               int level, apr_status_t status,
                               const server_rec *s, const char *fmt, ...)
{
    va_list ap;

    (void)file; (void)line; (void)module_index; (void)level; (void)status;
    (void)s;
    va_start(ap, fmt);
    format_and_drop(fmt, ap);
    va_end(ap);
}

AP_DECLARE(void) ap_log_rerror_(const char *file, int line, int module_index,
                                int level, apr_status_t status,
                                const request_rec *r, const char *fmt, ...)
{
    va_list ap;

    (void)file; (void)line; (void)module_index; (void)level; (void)status;
    (void)r;
    va_start(ap, fmt);
    format_and_drop(fmt, ap);
    va_end(ap);
}

AP_DECLARE(void) ap_log_perror_(const char *file, int line, int module_index,
                                int level, apr_status_t status, apr_pool_t *p,
                                const char *fmt, ...)
{
    va_list ap;

    (void)file; (void)line; (void)module_index; (void)level; (void)status;
    (void)p;
    va_start(ap, fmt);
    format_and_drop(fmt, ap);
    va_end(ap);
}

/* ---- origins from a database: no mod_dbd, no socache provider ----------- */

AP_DECLARE(void *) ap_lookup_provider(const char *provider_group,
                                      const char *provider_name,
                                      const char *provider_version)
{
    (void)provider_group; (void)provider_name; (void)provider_version;
    return NULL;
}

AP_DECLARE(apr_status_t) ap_mutex_register(apr_pool_t *pconf, const char *type,
                                           const char *default_dir,
                                           apr_lockmech_e default_mech,
                                           apr_int32_t options)
{
    (void)pconf; (void)type; (void)default_dir; (void)default_mech;
    (void)options;
    return APR_SUCCESS;
}

AP_DECLARE(apr_status_t) ap_global_mutex_create(apr_global_mutex_t **mutex,
                                                const char **name,
                                                const char *type,
                                                const char *instance_id,
                                                server_rec *server,
                                                apr_pool_t *pool,
                                                apr_int32_t options)
{
    (void)mutex; (void)name; (void)type; (void)instance_id; (void)server;
    (void)pool; (void)options;
    return APR_ENOTIMPL;
}

AP_DECLARE(void) ap_hook_child_init(ap_HOOK_child_init_t *pf,
                                    const char *const *pre,
                                    const char *const *succ, int order)
{
    (void)pf; (void)pre; (void)succ; (void)order;
}

/* ---- hooks, filters, protocol ------------------------------------------- */

int fuzz_filters_added;
ap_HOOK_pre_config_t *fuzz_pre_config;

AP_DECLARE(void) ap_hook_pre_config(ap_HOOK_pre_config_t *pf,
                                    const char *const *pre,
                                    const char *const *succ, int order)
{
    (void)pre; (void)succ; (void)order;
    fuzz_pre_config = pf;
}

AP_DECLARE(void) ap_hook_post_config(ap_HOOK_post_config_t *pf,
                                     const char *const *pre,
                                     const char *const *succ, int order)
{
    (void)pf; (void)pre; (void)succ; (void)order;
}

AP_DECLARE(void) ap_hook_check_config(ap_HOOK_check_config_t *pf,
                                      const char *const *pre,
                                      const char *const *succ, int order)
{
    (void)pf; (void)pre; (void)succ; (void)order;
}

AP_DECLARE(void) ap_hook_test_config(ap_HOOK_test_config_t *pf,
                                     const char *const *pre,
                                     const char *const *succ, int order)
{
    (void)pf; (void)pre; (void)succ; (void)order;
}

AP_DECLARE(void) ap_hook_header_parser(ap_HOOK_header_parser_t *pf,
                                       const char *const *pre,
                                       const char *const *succ, int order)
{
    (void)pf; (void)pre; (void)succ; (void)order;
}

AP_DECLARE(void) ap_hook_fixups(ap_HOOK_fixups_t *pf, const char *const *pre,
                                const char *const *succ, int order)
{
    (void)pf; (void)pre; (void)succ; (void)order;
}

static ap_HOOK_insert_filter_t *insert_filter_hook;

AP_DECLARE(void) ap_hook_insert_filter(ap_HOOK_insert_filter_t *pf,
                                       const char *const *pre,
                                       const char *const *succ, int order)
{
    (void)pre; (void)succ; (void)order;
    insert_filter_hook = pf;
}

/* The module is the only one: its insert_filter hook is all there is. */
AP_DECLARE(void) ap_run_insert_filter(request_rec *r)
{
    if (insert_filter_hook) {
        insert_filter_hook(r);
    }
}

AP_DECLARE(void) ap_hook_insert_error_filter(
    ap_HOOK_insert_error_filter_t *pf, const char *const *pre,
    const char *const *succ, int order)
{
    (void)pf; (void)pre; (void)succ; (void)order;
}

AP_DECLARE(ap_filter_rec_t *) ap_register_output_filter(
    const char *name, ap_out_filter_func filter_func,
    ap_init_filter_func filter_init, ap_filter_type ftype)
{
    static ap_filter_rec_t rec;

    (void)filter_init;
    rec.name = name;
    rec.filter_func.out_func = filter_func;
    rec.ftype = ftype;
    return &rec;
}

AP_DECLARE(ap_filter_t *) ap_add_output_filter_handle(ap_filter_rec_t *f,
                                                      void *ctx,
                                                      request_rec *r,
                                                      conn_rec *c)
{
    (void)f; (void)ctx; (void)r; (void)c;
    fuzz_filters_added++;
    return NULL;
}

AP_DECLARE(void) ap_remove_output_filter(ap_filter_t *f)
{
    (void)f;
}

AP_DECLARE(apr_status_t) ap_pass_brigade(ap_filter_t *filter,
                                         apr_bucket_brigade *bucket)
{
    (void)filter; (void)bucket;
    return APR_SUCCESS;
}

AP_DECLARE(void) ap_set_content_length(request_rec *r, apr_off_t length)
{
    r->clength = length;
    apr_table_setn(r->headers_out, "Content-Length",
                   apr_off_t_toa(r->pool, length));
}

AP_DECLARE(int) ap_discard_request_body(request_rec *r)
{
    (void)r;
    return OK;
}

AP_DECLARE(void) ap_hook_pre_mpm(ap_HOOK_pre_mpm_t *pf, const char *const *pre,
                                 const char *const *succ, int order)
{
    (void)pf; (void)pre; (void)succ; (void)order;
}

AP_DECLARE(void) ap_hook_handler(ap_HOOK_handler_t *pf,
                                 const char *const *pre,
                                 const char *const *succ, int order)
{
    (void)pf; (void)pre; (void)succ; (void)order;
}

/* ---- the counters' pages (server-status, cors-metrics) ----------------- */

AP_DECLARE_DATA server_rec *ap_server_conf;
AP_DECLARE_DATA ap_listen_rec *ap_listeners;

AP_DECLARE(void) ap_set_content_type(request_rec *r, const char *ct)
{
    r->content_type = ct;
}

AP_DECLARE(void) ap_allow_methods(request_rec *r, int reset, ...)
{
    (void)r; (void)reset;
}

AP_DECLARE(int) ap_rwrite(const void *buf, int nbyte, request_rec *r)
{
    (void)buf; (void)r;
    return nbyte;
}

AP_DECLARE_NONSTD(int) ap_rprintf(request_rec *r, const char *fmt, ...)
{
    va_list ap;

    (void)r;
    va_start(ap, fmt);
    format_and_drop(fmt, ap);
    va_end(ap);
    return 0;
}

AP_DECLARE_NONSTD(int) ap_rvputs(request_rec *r, ...)
{
    (void)r;
    return 0;
}

AP_DECLARE(char *) ap_escape_html2(apr_pool_t *p, const char *s, int toasc)
{
    (void)toasc;
    return apr_pstrdup(p, s);
}
