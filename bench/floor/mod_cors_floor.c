/*
 * mod_cors_floor: a control for the benchmark, never for production.
 *
 * It writes the very header lines mod_cors writes, in the cheapest way a
 * module can: in header_parser, straight into r->headers_out, with no
 * checks, no matching, no output filter, no environment variable and no
 * configuration merging.  What it costs over plain httpd is what httpd
 * charges for receiving the hook and validating, tidying (Vary) and
 * sending those lines: the floor under any CORS module's figure.
 *
 *   CorsFloor hook        the hook runs and returns (nothing written)
 *   CorsFloor vary        Vary: Origin
 *   CorsFloor headers     Access-Control-Allow-Origin: <the Origin>,
 *                         Access-Control-Allow-Credentials: true,
 *                         Access-Control-Expose-Headers: X-Request-Id,
 *                         Vary: Origin
 *   CorsFloor preflight   an OPTIONS request is answered 204 with the six
 *                         lines mod_cors sends for the benchmark's preflight
 *                         (the requested method and header echoed), after
 *                         letting every module insert its output filters
 *                         (ap_run_insert_filter), as httpd does before a
 *                         handler: the price of applying the server's own
 *                         header policy (Header always set ...) to the
 *                         answer, which a preflight answer must get too
 *
 * Built by bench/bench.py with apxs into bench/run; see bench/results.md.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_strings.h"

module AP_MODULE_DECLARE_DATA cors_floor_module;

enum { FLOOR_HOOK = 1, FLOOR_VARY, FLOOR_HEADERS, FLOOR_PREFLIGHT };

typedef struct {
    int mode;
} floor_conf;

static void *floor_create(apr_pool_t *p, char *dir)
{
    (void)dir;
    return apr_pcalloc(p, sizeof(floor_conf));
}

static const char *floor_set(cmd_parms *cmd, void *dconf, const char *arg)
{
    floor_conf *c = dconf;

    if (!strcasecmp(arg, "hook")) {
        c->mode = FLOOR_HOOK;
    }
    else if (!strcasecmp(arg, "vary")) {
        c->mode = FLOOR_VARY;
    }
    else if (!strcasecmp(arg, "headers")) {
        c->mode = FLOOR_HEADERS;
    }
    else if (!strcasecmp(arg, "preflight")) {
        c->mode = FLOOR_PREFLIGHT;
    }
    else {
        return apr_psprintf(cmd->pool, "CorsFloor: unknown mode '%s'", arg);
    }
    return NULL;
}

static int floor_header_parser(request_rec *r)
{
    const floor_conf *c = ap_get_module_config(r->per_dir_config,
                                               &cors_floor_module);
    const char *origin;

    if (!c || c->mode <= FLOOR_HOOK) {
        return DECLINED;
    }
    if (c->mode == FLOOR_VARY) {
        apr_table_addn(r->headers_out, "Vary", "Origin");
        return DECLINED;
    }
    origin = apr_table_get(r->headers_in, "Origin");
    if (c->mode == FLOOR_PREFLIGHT && r->method_number == M_OPTIONS) {
        apr_table_addn(r->headers_out, "Access-Control-Allow-Origin",
                       origin ? origin : "null");
        apr_table_addn(r->headers_out, "Access-Control-Allow-Credentials",
                       "true");
        apr_table_addn(r->headers_out, "Access-Control-Allow-Methods",
                       apr_table_get(r->headers_in,
                                     "Access-Control-Request-Method"));
        apr_table_addn(r->headers_out, "Access-Control-Allow-Headers",
                       apr_table_get(r->headers_in,
                                     "Access-Control-Request-Headers"));
        apr_table_addn(r->headers_out, "Access-Control-Max-Age", "600");
        apr_table_addn(r->headers_out, "Vary", "Origin, "
                       "Access-Control-Request-Method, "
                       "Access-Control-Request-Headers");
        r->status = HTTP_NO_CONTENT;
        ap_run_insert_filter(r);
        return DONE;
    }
    if (c->mode == FLOOR_HEADERS && origin) {
        apr_table_addn(r->headers_out, "Access-Control-Allow-Origin", origin);
        apr_table_addn(r->headers_out, "Access-Control-Allow-Credentials",
                       "true");
        apr_table_addn(r->headers_out, "Access-Control-Expose-Headers",
                       "X-Request-Id");
    }
    apr_table_addn(r->headers_out, "Vary", "Origin");
    return DECLINED;
}

static const command_rec floor_cmds[] = {
    AP_INIT_TAKE1("CorsFloor", floor_set, NULL, ACCESS_CONF,
                  "hook, vary, headers or preflight"),
    { NULL }
};

static void floor_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_header_parser(floor_header_parser, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(cors_floor) = {
    STANDARD20_MODULE_STUFF,
    floor_create,
    NULL,
    NULL,
    NULL,
    floor_cmds,
    floor_register_hooks,
    AP_MODULE_FLAG_NONE
};
