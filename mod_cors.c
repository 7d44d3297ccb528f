/* Licensed under the Apache License, Version 2.0 (the "License");
 * you may not use this file except in compliance with the License.
 * You may obtain a copy of the License at
 *
 *     http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * See the License for the specific language governing permissions and
 * limitations under the License.
 */

/*
 * mod_cors.c: Cross-Origin Resource Sharing (the Fetch standard's "CORS
 * protocol") for Apache httpd 2.4.
 *
 * A browser enforces CORS; the server only declares which origins may read
 * its responses.  This module makes the declaration from per-directory
 * directives and writes the Access-Control-* response headers itself, once.
 *
 *   <Location "/api/">
 *       CorsAllowOrigin      https://app.example.com https://app2.example.org
 *       CorsAllowMethods     GET POST PUT DELETE
 *       CorsAllowHeaders     Content-Type X-Requested-With
 *       CorsExposeHeaders    ETag
 *       CorsAllowCredentials On
 *       CorsMaxAge           600
 *   </Location>
 *
 * Directives (server config, virtual host, <Directory>, <Location>, <Files>
 * and .htaccess with AllowOverride FileInfo):
 *
 *   CorsAllowOrigin origin|pattern|*|null|none ...
 *   CorsAllowOriginFile path             (one per line; not in .htaccess)
 *   CorsAllowOriginMatch regex          (whole origin, implicitly anchored)
 *   CorsDenyOrigin origin|pattern|null|none ...  (never allowed, whatever
 *                                        a pattern, an expression or * says)
 *   CorsAllowMethods method ...|*       (GET, HEAD and POST always pass)
 *   CorsAllowHeaders header ...|*       (* never covers Authorization)
 *   CorsExposeHeaders header ...|*
 *   CorsAllowCredentials On|Off
 *   CorsMaxAge 0..86400
 *   CorsAllowPrivateNetwork On|Off
 *   CorsPreflightStatus 204|200
 *   CorsEngine On|Off|ReportOnly
 *   CorsTimingAllowOrigin On|Off        (Timing-Allow-Origin as well)
 *   CorsDebug On|Off                    (refused preflights that browsers
 *                                        can explain)
 *   CorsCrossOriginProtection On|Off|ReportOnly  (refuse cross-origin
 *                                        writes from untrusted origins)
 *   CorsAllowOriginDBDQuery "SQL with one %s"  (origins from a database,
 *                                        through mod_dbd; not in .htaccess)
 *   CorsAllowOriginDBDCache provider[:args] [seconds]  (its answers'
 *                                        mod_socache cache; server and
 *                                        virtual host)
 *
 * Merging: a section that sets a directive replaces what it inherited for
 * that directive and inherits the rest.  Several CorsAllowOrigin lines in one
 * section add up; "CorsAllowOrigin none" drops the inherited origins (and
 * inherited CorsAllowOriginMatch expressions and CorsAllowOriginDBDQuery)
 * in its section and every one below it, however httpd groups the sections
 * when it merges them.  Deny lists add up down the tree instead: every
 * CorsDenyOrigin of an enclosing section holds below, until "CorsDenyOrigin
 * none" (cors_merge_denies()).  A request is in CORS scope when its merged
 * configuration has an origin rule and CorsEngine is not Off; outside that
 * scope the module changes nothing.
 * With CorsEngine ReportOnly it decides as with On, but changes no response
 * and answers no preflight: its output filter compares what the response
 * carries with what it would have sent (CORS_REPORT, cors_report_only()).
 *
 * Where the module acts in httpd's request cycle, and why:
 *
 *   header_parser   The per-directory configuration is final here (after the
 *                   <Location>, <Directory>, <Files>, .htaccess and <If>
 *                   walks) and authentication, authorization, mod_dir's
 *                   trailing-slash redirect, per-directory mod_rewrite and
 *                   mod_alias (fixups) and every handler, including
 *                   mod_proxy's, are still to come.  Preflights are answered
 *                   here (the hook returns DONE), after inserting every
 *                   module's output filters as httpd does before a handler,
 *                   so that site-wide headers apply to the answer.  For
 *                   actual requests the decision is taken here too, so that
 *                   CORS_RESULT is visible to mod_rewrite, mod_headers and
 *                   the access log.  The cross-origin write check
 *                   (CorsCrossOriginProtection) refuses here, with a 403,
 *                   before anything acts on the request; it depends on
 *                   its own directive, not on CORS scope.
 *   insert_filter,  An AP_FTYPE_CONTENT_SET output filter, inserted after
 *   insert_error_   mod_headers' and thus running after it, writes the
 *   filter          headers just before the response head is sent, on the
 *                   normal path and on the error path (401/403/404/500,
 *                   ErrorDocument, redirects).  It removes any
 *                   Access-Control-* header a handler, CGI, backend or
 *                   mod_headers put in either header table, writes its own
 *                   once, and adds to Vary (httpd removes repeated Vary
 *                   tokens when it sends the head).  It runs before
 *                   mod_cache's CACHE_SAVE (AP_FTYPE_CONTENT_SET + 1), so a
 *                   cached response already carries Vary: Origin.
 *
 * Internal redirects (ErrorDocument, FallbackResource, [PT]) create new
 * requests: the first request of the chain that is in CORS scope decides,
 * which is the configuration the browser's preflight was answered with.
 * Subrequests are never touched.
 *
 * Counters: each decision adds one to its CORS_RESULT's counter in the
 * virtual host's row, in shared memory made in pre_mpm (kept across
 * graceful restarts, zeroed by full ones).  mod_status's page shows them
 * (a "CORS" table, and CORSRequests_* lines with ?auto), and so does
 *
 *   SetHandler cors-metrics             (Prometheus text format 0.0.4)
 *
 * with a label per dimension of a CORS_RESULT (request, outcome, reason).
 *
 * Contents (each section opens with a boxed banner):
 *
 *   Types and module-wide state
 *   Origin syntax: tokens, methods, hosts and origins
 *   Configuration warnings
 *   Origin rules: parse, lookup set, match
 *   Refused combinations
 *   Configuration: create and merge
 *   Directives and the command table
 *   The decision
 *   Applying the decision: header tables and the output filter
 *   CorsEngine ReportOnly: the response compared with the decision
 *   Cross-origin writes (CorsCrossOriginProtection)
 *   Origins from a database (CorsAllowOriginDBDQuery)
 *   Counters: mod_status's page and the cors-metrics handler
 *   Hooks: configuration, start-up, request and handler
 *   The module
 */

#include "apr_strings.h"
#include "apr_hash.h"
#include "apr_lib.h"
#include "apr_atomic.h"
#include "apr_shm.h"

#define APR_WANT_STRFUNC
#include "apr_want.h"

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
#include "mod_status.h"
#include "ap_listen.h"
/* Origins from a database: mod_dbd and mod_socache */
#include "ap_provider.h"
#include "ap_socache.h"
#include "util_mutex.h"
#include "apr_dbd.h"
#include "mod_dbd.h"
#include "apr_optional.h"
#include "apr_sha1.h"
#include "apr_thread_mutex.h"

#include <arpa/inet.h>
#include <stdlib.h>

#include <libpsl.h>

module AP_MODULE_DECLARE_DATA cors_module;

/*
 * +----------------------------------------------------------------------+
 * |                                                                      |
 * |  Types and module-wide state                                         |
 * |                                                                      |
 * +----------------------------------------------------------------------+
 */

#define CORS_VERSION "0.1.0"

/* Numeric "not set in this section" marker (CorsMaxAge,
 * CorsPreflightStatus). */
#define CORS_UNSET (-1)

/*
 * The value of an On/Off directive, and of CorsEngine and
 * CorsCrossOriginProtection, which also take ReportOnly.  Unset is a value
 * of its own, so that a section's Off overrides an inherited On and an
 * unset one inherits it.  Read with cors_on() and cors_off().
 */
typedef enum {
    CORS_FLAG_UNSET = CORS_UNSET,
    CORS_FLAG_OFF = 0,
    CORS_FLAG_ON = 1,
    CORS_FLAG_REPORT_ONLY = 2   /* acts as On does, changes no response */
} cors_flag;

/* On (not Off, ReportOnly or unset). */
#define cors_on(flag) ((flag) == CORS_FLAG_ON)
/* Off in this section or inherited (not On, ReportOnly or unset). */
#define cors_off(flag) ((flag) == CORS_FLAG_OFF)
/* On or ReportOnly: deciding (CorsEngine, CorsCrossOriginProtection). */
#define cors_acts(flag) ((flag) > CORS_FLAG_OFF)

#define CORS_DEFAULT_PREFLIGHT_STATUS 204
#define CORS_MAX_AGE_LIMIT 86400
#define CORS_MAX_HOST 253
#define CORS_MAX_LABEL 63

/* The refused combinations found only after merging (cors_refused),
 * one bit each: logged once per process. */
static volatile apr_uint32_t cors_warned = 0;

/* Counters for the start-up line (CORS0001), reset in pre_config. */
static int cors_count_exact = 0;
static int cors_count_patterns = 0;

static ap_filter_rec_t *cors_filter_handle;

/* The Public Suffix List, loaded once per reading of the configuration
 * (pre_config) and freed with it; read-only after.  NULL: none could be
 * loaded, and subdomain patterns are not checked against it. */
static const psl_ctx_t *cors_psl = NULL;

/* The configuration warnings (CORS0003, CORS0004, CORS0005) of the first
 * reading of the configuration, logged against the main server once its
 * log level is final (cors_log_config_warnings()): a virtual host's own
 * server_rec has no log level while its section is read, and a warning
 * logged against it then is lost.  In pconf; NULL outside a reading. */
static apr_array_header_t *cors_config_warnings = NULL;

/*
 * A set of byte strings for request-time lookups ("strset"), optionally
 * with a value each: open addressing, linear probing, at most half full,
 * 16 bytes a slot, in the configuration pool.  Keys are NUL-terminated
 * strings in the same pool.  Built while the configuration is read,
 * read-only after.  (apr_hash_t would do, at several times the cost of a
 * lookup: its hash reads a byte at a time.)
 */
typedef struct {
    const char *key;         /* NULL: empty slot */
    apr_uint32_t len;
    apr_uint32_t hash;
} cors_strset_entry;

typedef struct {
    cors_strset_entry *slots;  /* mask + 1 slots, or NULL while empty */
    void **vals;             /* values, by slot; NULL: a set without */
    apr_uint32_t mask;
    apr_uint32_t count;
} cors_strset;

/* The domains that have a public suffix below them (amazonaws.com, for
 * s3.amazonaws.com), each with the first such rule of the list as its
 * value: libpsl only says whether a name is a suffix.  Read with the Public
 * Suffix List (cors_psl_load()), in pconf; cors_psl_below_file: the list
 * file it was read from, NULL when none could be read. */
static cors_strset cors_psl_below;
static const char *cors_psl_below_file = NULL;

/* The origin rules given by CorsAllowOrigin in one section. */
typedef struct {
    cors_strset exact;       /* normalised "scheme://host[:port]" */
    cors_strset sub_port;    /* ".domain[:port]" -> array of schemes */
    cors_strset sub_anyport; /* ".domain" (pattern with ":*") -> schemes */
    cors_strset any_port;    /* "scheme://host" (pattern "host:*") */
    int min_sub_labels;      /* fewest labels in any ".domain" key */
    int max_sub_labels;      /* most labels in any ".domain" key (0: none) */
    int any;                 /* "*" listed */
    int null;                /* "null" listed */
    int rules;               /* number of rules of every kind */
    int parse;               /* some rule needs the Origin parsed: a
                              * pattern, or null */
    const char *http_sub;    /* first http:// subdomain pattern, as
                              * configured (pool copy), or NULL */
    const char *psl_sub;     /* first subdomain pattern on a public
                              * suffix, as configured, or NULL */
    int deny;                /* a CorsDenyOrigin list: denying a public
                              * suffix's sites is no cause for a warning */
} cors_origins;

/* The value of a subdomain pattern's ".domain[:port]" key. */
typedef struct {
    apr_array_header_t *schemes; /* the schemes it was given with */
    int public_suffix;       /* the domain is a public suffix, or one lies
                              * below it (Public Suffix List), known at
                              * configuration time */
} cors_sub;

/* One CorsAllowOriginMatch expression. */
typedef struct {
    ap_regex_t *re;          /* "^(?:" expression ")$" */
    const char *src;         /* as configured, for messages */
    int any;                 /* it matches origins nobody would list */
} cors_regex;

/* Origins no policy means to allow: an expression that matches one of them
 * matches any origin. */
static const char *const cors_probe_origins[] = {
    "https://mod-cors-probe.invalid", "http://mod-cors-probe.invalid", NULL
};

/* A list of tokens (methods or header names). */
typedef struct {
    cors_strset set;         /* methods as given, header names lowercased */
    int any;                 /* "*" listed */
    const char *joined;      /* "A, B" as spelled in the config, with "*" */
    const char *joined_named; /* the same without "*" (NULL if empty) */
} cors_tokens;

typedef struct {
    cors_flag engine;            /* CorsEngine: On, Off, ReportOnly */
    cors_flag protect;           /* CorsCrossOriginProtection: the same
                                  * values, independent of engine */
    cors_origins *origins;       /* CorsAllowOrigin; NULL: not set here */
    int origins_cleared;         /* "none" given in this section or, once
                                  * merged, in any of the merged sections:
                                  * inherited expressions are dropped */
    apr_array_header_t *regexes; /* CorsAllowOriginMatch, cors_regex;
                                  * NULL: not set here */
    cors_tokens *methods;        /* CorsAllowMethods; NULL: not set */
    cors_tokens *headers;        /* CorsAllowHeaders; NULL: not set */
    cors_tokens *expose;         /* CorsExposeHeaders; NULL: not set */
    cors_flag credentials;       /* CorsAllowCredentials: On/Off */
    int max_age;                 /* CorsMaxAge: CORS_UNSET or 0..86400 */
    const char *max_age_str;     /* the same, as sent */
    cors_flag pna;               /* CorsAllowPrivateNetwork: On/Off */
    int preflight_status;        /* CorsPreflightStatus: CORS_UNSET/204/200 */
    cors_origins *deny;          /* CorsDenyOrigin of this section; NULL:
                                  * not set here ("none": an empty list).
                                  * Merged: the innermost section's */
    apr_array_header_t *denies;  /* the deny lists in force (cors_origins
                                  * *), outermost first: this section's
                                  * (deny) and, once merged, every list of
                                  * the sections above since the last
                                  * "none" (README "Merging"); NULL: none */
    int deny_cleared;            /* "CorsDenyOrigin none" given in this
                                  * section or, once merged, in any of the
                                  * merged sections */
    cors_flag timing;            /* CorsTimingAllowOrigin: On/Off */
    cors_flag debug;             /* CorsDebug: On/Off */
    /* Origins from a database */
    const char *dbd_label;       /* CorsAllowOriginDBDQuery: the label of
                                  * its statement in mod_dbd, "cors_dbd_"
                                  * and 8 hex digits of the statement's
                                  * SHA-1 (also in the cache keys); NULL:
                                  * not set, or dropped by "CorsAllowOrigin
                                  * none" */
} cors_dir_conf;

/* What the database said about an Origin (cors_dbd_match()). */
typedef enum {
    CORS_DB_NONE,            /* not asked: a static rule decided, or none */
    CORS_DB_ALLOWED,         /* one or more rows */
    CORS_DB_REFUSED,         /* no row */
    CORS_DB_UNAVAILABLE      /* the database or the cache could not answer:
                              * refused (fail closed) */
} cors_db_answer;

/* A request's Origin value, split; see cors_origin_parse(). */
typedef struct {
    apr_size_t len;          /* whole value */
    apr_size_t scheme_len;   /* "https" */
    apr_size_t host_off;     /* offset of the host */
    apr_size_t host_len;     /* host, brackets included for IPv6 */
    int is_null;             /* the literal "null" */
    int is_ip;               /* IPv4 or IPv6 literal */
} cors_origin;

/*
 * The outcomes of a decision, each with its CORS_RESULT value, the tag
 * and verdict of its debug line, and its labels in the counters' metrics
 * page, one per dimension (cors_outcomes; README "Counters: server-status
 * and Prometheus").
 */
typedef enum {
    CORS_NO_ORIGIN,
    CORS_ALLOWED,
    CORS_DENIED_ORIGIN,
    CORS_PREFLIGHT_OK,
    CORS_PREFLIGHT_DENIED_ORIGIN,
    CORS_PREFLIGHT_DENIED_METHOD,
    CORS_PREFLIGHT_DENIED_HEADER,
    CORS_PREFLIGHT_DENIED_MALFORMED,
    /* a write refused by CorsCrossOriginProtection (or that ReportOnly
     * would refuse): Sec-Fetch-Site said cross-origin, or without it the
     * Origin did not match Host; in both cases the Origin is not trusted */
    CORS_WRITE_DENIED_FETCH_SITE,
    CORS_WRITE_DENIED_ORIGIN,
    /* the origin decided by CorsAllowOriginDBDQuery (cors_dbd_outcome()):
     * the outcomes above that name the origin, told apart */
    CORS_ALLOWED_DATABASE,
    CORS_DENIED_DATABASE,
    CORS_DENIED_DATABASE_UNAVAILABLE,
    CORS_PREFLIGHT_OK_DATABASE,
    CORS_PREFLIGHT_DENIED_DATABASE,
    CORS_PREFLIGHT_DENIED_DATABASE_UNAVAILABLE
} cors_outcome;

static const struct {
    const char *result;      /* CORS_RESULT */
    const char *tag;         /* of the debug line */
    const char *verdict;     /* in the debug line */
    const char *request;     /* counters' label "request": "actual",
                              * "preflight" or "write" */
    const char *outcome;     /* counters' label "outcome": "allowed",
                              * "denied" or "no-origin" */
    const char *reason;      /* counters' label "reason": what decided a
                              * refusal ("origin", "method", "header",
                              * "malformed", ...), "none" otherwise */
} cors_outcomes[] = {
    { "no-origin", "CORS0011", "", "actual", "no-origin", "none" },
    { "allowed", "CORS0012", " allowed", "actual", "allowed", "none" },
    { "denied:origin", "CORS0014", " denied", "actual", "denied", "origin" },
    { "preflight:ok", "CORS0020", " allowed", "preflight", "allowed",
      "none" },
    { "preflight:denied:origin", "CORS0021", " denied", "preflight",
      "denied", "origin" },
    { "preflight:denied:method", "CORS0022", " denied", "preflight",
      "denied", "method" },
    { "preflight:denied:header", "CORS0023", " denied", "preflight",
      "denied", "header" },
    { "preflight:denied:malformed", "CORS0024", " denied", "preflight",
      "denied", "malformed" },
    { "write:denied:sec-fetch-site", "CORS0041", " refused", "write",
      "denied", "sec-fetch-site" },
    { "write:denied:origin", "CORS0042", " refused", "write", "denied",
      "origin" },
    { "allowed:database", "CORS0076", " allowed", "actual", "allowed",
      "database" },
    { "denied:database", "CORS0077", " denied", "actual", "denied",
      "database" },
    { "denied:database-unavailable", "CORS0077", " denied", "actual",
      "denied", "database-unavailable" },
    { "preflight:ok:database", "CORS0078", " allowed", "preflight",
      "allowed", "database" },
    { "preflight:denied:database", "CORS0079", " denied", "preflight",
      "denied", "database" },
    { "preflight:denied:database-unavailable", "CORS0079", " denied",
      "preflight", "denied", "database-unavailable" }
};

#define CORS_OUTCOME_COUNT (sizeof(cors_outcomes) / sizeof(cors_outcomes[0]))

/* CorsAllowOriginDBDCache: where the database's answers are kept. */
typedef struct {
    const char *spec;        /* provider[:args], as configured */
    const ap_socache_provider_t *provider;
    ap_socache_instance_t *instance;
    apr_interval_time_t ttl; /* how long an answer is kept */
    int seconds;             /* the same, in seconds */
} cors_dbd_cache;

/* Per virtual host (server config). */
typedef struct {
    apr_uint64_t *counts;    /* its row of the shared counters, one per
                              * outcome (cors_counters), or NULL */
    cors_dbd_cache *cache;   /* CorsAllowOriginDBDCache of this virtual
                              * host; after post_config, the main
                              * server's where it has none; NULL: none */
} cors_srv_conf;

/*
 * What the module decided for a request in CORS scope: an actual request,
 * or the answer to a preflight.  Kept with the request (request_config)
 * and written by the output filter, cors_apply().
 */
typedef struct {
    cors_outcome outcome;
    const char *reason;          /* why, for the debug line */
    const char *bad;             /* the refused client value, or NULL */
    const char *acao;            /* Access-Control-Allow-Origin or NULL */
    int credentials;             /* send Allow-Credentials: true */
    const char *expose;          /* Access-Control-Expose-Headers or NULL */
    const char *vary;            /* tokens to add to Vary, or NULL */
    /* preflight answers only */
    const char *allow_methods;   /* Access-Control-Allow-Methods or NULL */
    const char *allow_headers;   /* Access-Control-Allow-Headers or NULL */
    const char *max_age;         /* Access-Control-Max-Age or NULL */
    int allow_pna;               /* send Allow-Private-Network: true */
    int status;                  /* the answer's status */
    /* every decision */
    int report;                  /* CorsEngine ReportOnly: compare, do not
                                  * write (cors_report_only()) */
    int timing;                  /* CorsTimingAllowOrigin On: the module
                                  * owns Timing-Allow-Origin */
    int debug;                   /* CorsDebug: a preflight refused for its
                                  * method or a header, answered with the
                                  * success status and the allowed lists */
    /* the cross-origin write check */
    cors_outcome write;          /* a write refused, or that ReportOnly
                                  * would refuse (CORS_WRITE_*): CORS_RESULT
                                  * and the counters name it instead of
                                  * outcome; 0 (CORS_NO_ORIGIN) otherwise */
    cors_db_answer db;           /* what CorsAllowOriginDBDQuery said, or
                                  * CORS_DB_NONE (cors_dbd_outcome()) */
    int write_refused;           /* refused: the request ends in a 403 */
    int write_only;              /* outside CORS scope: the write check is
                                  * the whole decision, no header is
                                  * written */
    const void *write_conf;      /* the configuration a write was checked
                                  * under, or NULL (cors_fixups()) */
} cors_decision;

/* The request headers the module reads (httpd has joined repeated lines
 * with ", "). */
typedef struct {
    const char *origin;
    const char *method;      /* Access-Control-Request-Method */
    const char *headers;     /* Access-Control-Request-Headers */
    const char *pna;         /* Access-Control-Request-Private-Network */
    /* cors_match() of origin under match_conf, asked once: the write
     * check and the decision ask the same (cors_match_once()) */
    const void *match_conf;
    const char *match_how;
    int match_unsafe;
    cors_db_answer db;       /* what the database said, with match_how */
} cors_req;

/*
 * The combinations that could reflect an arbitrary origin with credentials
 * (or grant private-network access to any origin).  One table for both
 * places that refuse them: cors_check_section() rejects a combination that
 * one section makes (README "Configuration errors"), and the request-time
 * code of each row fails safe where merging sections made it, logging it
 * once per process (README "Merging").
 */
typedef enum {
    CORS_UNSAFE_ANY_CREDENTIALS,      /* CorsAllowOrigin * */
    CORS_UNSAFE_EXPOSE_CREDENTIALS,   /* CorsExposeHeaders * */
    CORS_UNSAFE_PNA_ANY,              /* private network with * */
    CORS_UNSAFE_REGEX_CREDENTIALS,    /* an expression matching anything */
    CORS_UNSAFE_HTTP_SUB_CREDENTIALS, /* a plain-http subdomain pattern */
    CORS_UNSAFE_PSL_SUB_CREDENTIALS,  /* a pattern on a public suffix */
    CORS_REFUSED_COUNT
} cors_unsafe;

#define CORS_VARY_PREFLIGHT "Origin, Access-Control-Request-Method, " \
                            "Access-Control-Request-Headers"
#define CORS_VARY_PREFLIGHT_PNA CORS_VARY_PREFLIGHT \
                                ", Access-Control-Request-Private-Network"

/*
 * +----------------------------------------------------------------------+
 * |                                                                      |
 * |  Origin syntax: tokens, methods, hosts and origins                   |
 * |                                                                      |
 * +----------------------------------------------------------------------+
 */

/*
 * Character classes, one table lookup per byte at request time:
 * CORS_C_TCHAR   RFC 9110 tchar
 * CORS_C_LABEL   a byte of a host label as browsers serialise it: a-z 0-9 - _
 * CORS_C_DIGIT   0-9
 * CORS_C_SCHEME  a lowercase URI scheme byte after the first: a-z 0-9 + - .
 */
#define CORS_C_TCHAR 1
#define CORS_C_LABEL 2
#define CORS_C_DIGIT 4
#define CORS_C_SCHEME 8

static unsigned char cors_class[256];
static unsigned char cors_lower[256];   /* ASCII lowercase of each byte */

static void cors_init_classes(void)
{
    const char *p;
    int c;

    for (c = 0; c < 256; c++) {
        unsigned char k = 0;

        cors_lower[c] = (unsigned char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            k |= CORS_C_TCHAR;
        }
        if (c >= '0' && c <= '9') {
            k |= CORS_C_TCHAR | CORS_C_DIGIT | CORS_C_LABEL;
        }
        if ((c >= 'a' && c <= 'z') || c == '-' || c == '_') {
            k |= CORS_C_LABEL;
        }
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+'
            || c == '-' || c == '.') {
            k |= CORS_C_SCHEME;
        }
        cors_class[c] = k;
    }
    for (p = "!#$%&'*+-.^_`|~"; *p; p++) {
        cors_class[(unsigned char)*p] |= CORS_C_TCHAR;
    }
}

#define cors_is_tchar(c) (cors_class[(unsigned char)(c)] & CORS_C_TCHAR)

/* Is s (NUL-terminated) one whole token (RFC 9110 tchar), as httpd scans
 * them? */
static APR_INLINE int cors_is_token(const char *s)
{
    return *s && !*ap_scan_http_token(s);
}

/* The Fetch standard's forbidden methods, compared case-insensitively. */
static int cors_forbidden_method(const char *m)
{
    return !strcasecmp(m, "CONNECT") || !strcasecmp(m, "TRACE")
           || !strcasecmp(m, "TRACK");
}

/* The Fetch standard's "normalize a method": the spelling browsers send
 * for a method that matches one of these case-insensitively, else NULL. */
static const char *cors_normalised_method(const char *m)
{
    static const char *const upper[] = {
        "DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", NULL
    };
    int i;

    for (i = 0; upper[i]; i++) {
        if (!strcasecmp(m, upper[i])) {
            return upper[i];
        }
    }
    return NULL;
}

static int cors_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/*
 * The module's one splitter of header field lists (Access-Control-Request-
 * Headers, the Access-Control-* and Vary lines ReportOnly compares, the
 * configured method list): the next item from *s on, the commas and the
 * blanks (SP, HTAB) around it dropped: its first byte and *len, or NULL at
 * the end.  Quoted strings and comments are not special: no token holds
 * them.  Nothing is copied (docs/performance.md, "The list splitters").
 */
static const char *cors_list_next(const char **s, apr_size_t *len)
{
    const char *p = *s, *e, *end;

    while (*p == ',' || cors_is_ows(*p)) {
        p++;
    }
    if (!*p) {
        return NULL;
    }
    for (e = p; *e && *e != ','; e++) {
    }
    for (end = e; cors_is_ows(end[-1]); end--) {
    }
    *s = e;
    *len = end - p;
    return p;
}

/* Is [tok, tok+n) an item of list (NULL: an empty list)?  icase: compared
 * case-insensitively. */
static int cors_list_has(const char *list, const char *tok, apr_size_t n,
                         int icase)
{
    const char *item;
    apr_size_t len;

    while (list && (item = cors_list_next(&list, &len))) {
        if (len == n && !(icase ? strncasecmp(item, tok, n)
                                : memcmp(item, tok, n))) {
            return 1;
        }
    }
    return 0;
}

/* The next item of a list (NULL: an empty list) as cors_list_next() finds
 * it, lowercased, in p; NULL at the end. */
static char *cors_list_next_lower(apr_pool_t *p, const char **s)
{
    const char *item;
    apr_size_t len;
    char *copy;

    if (!*s || !(item = cors_list_next(s, &len))) {
        return NULL;
    }
    copy = apr_pstrmemdup(p, item, len);
    ap_str_tolower(copy);
    return copy;
}

/* Lowercase URI scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). */
static apr_size_t cors_scheme_len(const char *s)
{
    apr_size_t i = 0;

    /* the usual two first, a byte at a time so that a shorter value
     * stops at its end */
    if (s[0] == 'h' && s[1] == 't' && s[2] == 't' && s[3] == 'p') {
        if (s[4] == 's' && s[5] == ':') {
            return 5;
        }
        if (s[4] == ':') {
            return 4;
        }
    }
    if (!(s[0] >= 'a' && s[0] <= 'z')) {
        return 0;
    }
    while (cors_class[(unsigned char)s[i]] & CORS_C_SCHEME) {
        i++;
    }
    return i;
}

static const char *cors_default_port(const char *scheme, apr_size_t len)
{
    if ((len == 4 && !memcmp(scheme, "http", 4))
        || (len == 2 && !memcmp(scheme, "ws", 2))) {
        return "80";
    }
    if ((len == 5 && !memcmp(scheme, "https", 5))
        || (len == 3 && !memcmp(scheme, "wss", 3))) {
        return "443";
    }
    if (len == 3 && !memcmp(scheme, "ftp", 3)) {
        return "21";
    }
    return NULL;
}

/*
 * Serialise 16 bytes of IPv6 address as the URL standard does: lowercase
 * hex, no leading zeros, the first longest run of two or more zero pieces
 * compressed, never an embedded IPv4 form.  out must hold 40 bytes.
 */
static void cors_ipv6_serialise(const unsigned char *a, char *out)
{
    unsigned int piece[8];
    int i, best = -1, best_len = 1, run = -1, run_len = 0;
    char *p = out;

    for (i = 0; i < 8; i++) {
        piece[i] = (a[2 * i] << 8) | a[2 * i + 1];
    }
    for (i = 0; i < 8; i++) {
        if (piece[i] == 0) {
            if (run < 0) {
                run = i;
                run_len = 0;
            }
            if (++run_len > best_len) {
                best = run;
                best_len = run_len;
            }
        }
        else {
            run = -1;
        }
    }
    for (i = 0; i < 8; i++) {
        if (i == best) {
            *p++ = ':';
            if (i == 0) {
                *p++ = ':';
            }
            i += best_len - 1;
            continue;
        }
        p += apr_snprintf(p, 6, "%x", piece[i]);
        if (i != 7) {
            *p++ = ':';
        }
    }
    *p = '\0';
}

/* Is [s, s+len) an IPv6 literal (without brackets) in canonical form? */
static int cors_ipv6_canonical(const char *s, apr_size_t len, char *canon)
{
    char buf[64];
    unsigned char addr[16];

    if (len == 0 || len >= sizeof(buf)) {
        return 0;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET6, buf, addr) != 1) {
        return 0;
    }
    cors_ipv6_serialise(addr, canon);
    return 1;
}

/* Canonical dotted-quad IPv4: four decimal parts 0..255, no leading zero. */
static int cors_ipv4_canonical(const char *s, apr_size_t len)
{
    apr_size_t i = 0;
    int part;

    for (part = 0; part < 4; part++) {
        apr_size_t start = i;
        int value = 0;

        while (i < len && apr_isdigit(s[i]) && i - start < 3) {
            value = value * 10 + (s[i] - '0');
            i++;
        }
        if (i == start || value > 255 || (s[start] == '0' && i - start > 1)) {
            return 0;
        }
        if (part < 3) {
            if (i >= len || s[i] != '.') {
                return 0;
            }
            i++;
        }
    }
    return i == len;
}

/*
 * The labels of a host from s[i] on, up to end or to the first byte that
 * is neither a label byte ([a-z0-9_-]) nor a dot: 1..63 bytes each, single
 * dots between.  Returns where it stopped, or 0 when a label is empty or
 * too long; *numeric: the last label is all digits.
 */
static apr_size_t cors_labels(const char *s, apr_size_t i, apr_size_t end,
                              int *numeric)
{
    apr_size_t label;

    for (;;) {
        for (label = i; i < end && (cors_class[(unsigned char)s[i]]
                                    & CORS_C_LABEL); i++) {
        }
        if (i == label || i - label > CORS_MAX_LABEL) {
            return 0;
        }
        if (i == end || s[i] != '.') {
            break;
        }
        i++;
    }
    while (label < i
           && (cors_class[(unsigned char)s[label]] & CORS_C_DIGIT)) {
        label++;
    }
    *numeric = label == i;
    return i;
}

/*
 * Check a lowercase DNS name or IPv4 address [s, s+len): labels of
 * [a-z0-9_-], 1..63 bytes, at most 253 bytes in all.  A name whose last
 * label is numeric is an IPv4 address and must be canonical.  Sets *is_ip.
 */
static int cors_host_ok(const char *s, apr_size_t len, int *is_ip)
{
    int numeric;

    *is_ip = 0;
    if (len == 0 || len > CORS_MAX_HOST
        || cors_labels(s, 0, len, &numeric) != len) {
        return 0;
    }
    if (numeric) {
        *is_ip = 1;
        return cors_ipv4_canonical(s, len);
    }
    return 1;
}

/*
 * The end of s when s[i...] is nothing or ":port" as browsers serialise it
 * for the scheme of s (scheme_len bytes): 1..65535, no leading zero, not
 * the scheme's default port.  0 when it is not.
 */
static apr_size_t cors_port_end(const char *s, apr_size_t scheme_len,
                                apr_size_t i)
{
    apr_size_t p;
    long port = 0;
    const char *dport;

    if (s[i] == '\0') {
        return i;
    }
    if (s[i] != ':') {
        return 0;
    }
    p = ++i;
    while (apr_isdigit(s[i]) && i - p < 5) {
        port = port * 10 + (s[i] - '0');
        i++;
    }
    if (i == p || s[i] != '\0' || port > 65535
        || (s[p] == '0' && i - p > 1)) {
        return 0;
    }
    dport = cors_default_port(s, scheme_len);
    if (dport && strlen(dport) == i - p && !memcmp(dport, s + p, i - p)) {
        return 0;
    }
    return i;
}

/*
 * Is this Origin request header value exactly one serialised origin as a
 * browser sends it?  Returns 1 and fills *o if so.  Bounded work: one pass
 * over the value, one table lookup per byte of the host.
 */
static int cors_origin_parse(const char *s, cors_origin *o)
{
    apr_size_t i, n;

    memset(o, 0, sizeof(*o));
    if (s[0] == 'n' && !strcmp(s, "null")) {
        o->is_null = 1;
        o->len = 4;
        return 1;
    }
    n = cors_scheme_len(s);
    if (n == 0 || s[n] != ':' || s[n + 1] != '/' || s[n + 2] != '/') {
        return 0;
    }
    o->scheme_len = n;
    i = o->host_off = n + 3;
    if (s[i] == '[') {
        char canon[48];
        const char *end = strchr(s + i, ']');

        if (!end || !cors_ipv6_canonical(s + i + 1, end - (s + i + 1), canon)
            || strlen(canon) != (apr_size_t)(end - (s + i + 1))
            || memcmp(canon, s + i + 1, strlen(canon))) {
            return 0;
        }
        o->is_ip = 1;
        i = end - s + 1;
    }
    else {
        /* a numeric last label makes it an IPv4 address */
        int numeric;

        i = cors_labels(s, i, (apr_size_t)-1, &numeric);
        if (i == 0 || i - o->host_off > CORS_MAX_HOST) {
            return 0;
        }
        if (numeric) {
            o->is_ip = 1;
            if (!cors_ipv4_canonical(s + o->host_off, i - o->host_off)) {
                return 0;
            }
        }
    }
    o->host_len = i - o->host_off;
    if (!(i = cors_port_end(s, n, i))) {
        return 0;
    }
    o->len = i;
    return 1;
}

/* A whole number of at most max, digits only: ports and CorsMaxAge. */
static int cors_parse_number(const char *s, long max, long *v)
{
    apr_size_t i;

    *v = 0;
    for (i = 0; apr_isdigit(s[i]); i++) {
        if (i == 6) {
            return 0;
        }
        *v = *v * 10 + (s[i] - '0');
    }
    return i > 0 && s[i] == '\0' && *v <= max;
}

/*
 * +----------------------------------------------------------------------+
 * |                                                                      |
 * |  Configuration warnings                                              |
 * |                                                                      |
 * +----------------------------------------------------------------------+
 */

/*
 * Keep a configuration warning for cors_log_config_warnings(), with where
 * the value was written (where: "file:line", or NULL for the directive's
 * own line).  Only the first reading of the configuration warns: apachectl
 * -t, and once per start-up; not the second reading of a start-up nor a
 * graceful restart's, and not a .htaccess file's, read per request.
 */
static int cors_config_warns(void)
{
    return cors_config_warnings
           && ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG;
}

static void cors_config_warning(cmd_parms *cmd, const char *where,
                                const char *fmt, ...)
{
    const char *msg;
    va_list ap;

    if (!cors_config_warns()) {
        return;
    }
    if (!where) {
        where = cmd->directive
                ? apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                               cmd->directive->line_num) : "?";
    }
    va_start(ap, fmt);
    msg = apr_pvsprintf(cmd->pool, fmt, ap);
    va_end(ap);
    APR_ARRAY_PUSH(cors_config_warnings, const char *) =
        apr_psprintf(cmd->pool, "%s (%s)", msg, where);
}

/* check_config and post_config of the first reading: log the warnings
 * against the main server, whose log level is final now (and whose error
 * log is open in post_config). */
static void cors_log_config_warnings(server_rec *s)
{
    int i;

    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        return;
    }
    for (i = 0; cors_config_warnings && i < cors_config_warnings->nelts;
         i++) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "%s",
                     APR_ARRAY_IDX(cors_config_warnings, i, const char *));
    }
}

/* What goes with the configuration it was read for is forgotten with it. */
static apr_status_t cors_config_free(void *data)
{
    (void)data;
    cors_config_warnings = NULL;
    memset(&cors_psl_below, 0, sizeof(cors_psl_below));
    cors_psl_below_file = NULL;
    return APR_SUCCESS;
}

/*
 * +----------------------------------------------------------------------+
 * |                                                                      |
 * |  Origin rules: parse, lookup set, match                              |
 * |                                                                      |
 * +----------------------------------------------------------------------+
 */

/*
 * Does the expression match the whole of [s, s+n)?  The anchors it is
 * wrapped in are not trusted alone: a backtracking verb such as (*ACCEPT)
 * or a \K can end or start a match inside the value, so the match itself
 * must span all of it.
 */
static int cors_regex_match(const cors_regex *x, const char *s, apr_size_t n)
{
    ap_regmatch_t m[1];

    return ap_regexec_len(x->re, s, n, 1, m, 0) == 0 && m[0].rm_so == 0
           && (apr_size_t)m[0].rm_eo == n;
}

static APR_INLINE apr_uint64_t cors_load64(const char *p)
{
    apr_uint64_t w;

    memcpy(&w, p, sizeof(w));
    return w;
}

/*
 * Hash [s, s+n), eight bytes at a time (the last word overlaps the one
 * before it when n is not a multiple of eight): a handful of instructions
 * for an origin.  The keys come from the configuration and a lookup never
 * inserts, so a client cannot lengthen the probe sequences.
 */
static apr_uint32_t cors_hash(const char *s, apr_size_t n)
{
    apr_uint64_t h = (apr_uint64_t)n * APR_UINT64_C(0x9e3779b97f4a7c15);
    apr_size_t i;

    if (n >= 8) {
        for (i = 0; i + 8 < n; i += 8) {
            h = (h ^ cors_load64(s + i)) * APR_UINT64_C(0xbf58476d1ce4e5b9);
            h ^= h >> 31;
        }
        h = (h ^ cors_load64(s + n - 8)) * APR_UINT64_C(0x94d049bb133111eb);
    }
    else {
        apr_uint64_t w = 0;

        for (i = 0; i < n; i++) {
            w = (w << 8) | (unsigned char)s[i];
        }
        h = (h ^ w) * APR_UINT64_C(0x94d049bb133111eb);
    }
    return (apr_uint32_t)(h ^ (h >> 32));
}

static void *cors_strset_probe(const cors_strset *t, const char *s,
                               apr_size_t n)
{
    apr_uint32_t h, i;

    h = cors_hash(s, n);
    for (i = h & t->mask; t->slots[i].key; i = (i + 1) & t->mask) {
        const cors_strset_entry *e = &t->slots[i];

        if (e->hash == h && e->len == n && !memcmp(e->key, s, n)) {
            return t->vals ? t->vals[i] : (void *)e->key;
        }
    }
    return NULL;
}

/* The value stored with [s, s+n) (for a set without values: the key),
 * or NULL when it is not in the set. */
static APR_INLINE void *cors_strset_get(const cors_strset *t, const char *s,
                                        apr_size_t n)
{
    return t->count ? cors_strset_probe(t, s, n) : NULL;
}

/* Move the entries of t into new arrays of size slots, from p. */
static void cors_strset_grow(apr_pool_t *p, cors_strset *t,
                             apr_uint32_t size, int with_vals)
{
    cors_strset_entry *slots = apr_pcalloc(p, size * sizeof(*slots));
    void **vals = with_vals ? apr_pcalloc(p, size * sizeof(void *)) : NULL;
    apr_uint32_t i, j;

    for (j = 0; t->slots && j <= t->mask; j++) {
        if (t->slots[j].key) {
            for (i = t->slots[j].hash & (size - 1); slots[i].key;
                 i = (i + 1) & (size - 1)) {
            }
            slots[i] = t->slots[j];
            if (vals) {
                vals[i] = t->vals[j];
            }
        }
    }
    t->slots = slots;
    t->vals = vals;
    t->mask = size - 1;
}

/*
 * Add key (NUL-terminated, n bytes, kept by reference) unless it is there;
 * *added says which.  with_vals: the set keeps a value per key (fixed by
 * the first call); then the value's slot is returned (NULL for a new key),
 * else the key's.  The set must live in p.  (Keys come from configuration
 * lines, which httpd and CorsAllowOriginFile keep under 8 KB.)
 */
static void **cors_strset_slot(apr_pool_t *p, cors_strset *t,
                               const char *key, apr_size_t n, int with_vals,
                               int *added)
{
    apr_uint32_t h = cors_hash(key, n), i;

    *added = 0;
    if (!t->slots || (t->count + 1) * 2 > t->mask + 1) {
        cors_strset_grow(p, t, t->slots ? (t->mask + 1) * 2 : 16, with_vals);
    }
    for (i = h & t->mask; t->slots[i].key; i = (i + 1) & t->mask) {
        cors_strset_entry *e = &t->slots[i];

        if (e->hash == h && e->len == n && !memcmp(e->key, key, n)) {
            return t->vals ? &t->vals[i] : (void **)&e->key;
        }
    }
    t->slots[i].key = key;
    t->slots[i].len = (apr_uint32_t)n;
    t->slots[i].hash = h;
    t->count++;
    *added = 1;
    return t->vals ? &t->vals[i] : (void **)&t->slots[i].key;
}

/*
 * Make room for n more keys at once, so that adding them never grows the
 * set again: growing by doubling leaves every old array in the pool (a
 * pool frees nothing), twice the memory of the final one.
 */
static void cors_strset_reserve(apr_pool_t *p, cors_strset *t, apr_size_t n,
                                int with_vals)
{
    apr_size_t size = t->slots ? (apr_size_t)t->mask + 1 : 16;

    while ((t->count + n) * 2 > size) {
        size *= 2;
    }
    if (!t->slots || size > (apr_size_t)t->mask + 1) {
        cors_strset_grow(p, t, (apr_uint32_t)size, with_vals);
    }
}

/* Add key to a set without values; *added says whether it was new. */
static void cors_strset_add(apr_pool_t *p, cors_strset *t, const char *key,
                            int *added)
{
    cors_strset_slot(p, t, key, strlen(key), 0, added);
}

/* Does any scheme in the array equal [s, s+len)? */
static int cors_scheme_in(const apr_array_header_t *schemes, const char *s,
                          apr_size_t len)
{
    int i;

    for (i = 0; i < schemes->nelts; i++) {
        const char *x = APR_ARRAY_IDX(schemes, i, const char *);
        apr_size_t j = 0;

        /* schemes are a few bytes: no call out */
        while (j < len && x[j] == s[j]) {
            j++;
        }
        if (j == len && x[j] == '\0') {
            return 1;
        }
    }
    return 0;
}

/*
 * Match an origin (parsed, or only shaped: see cors_match()) against the
 * port and subdomain patterns; exact origins are looked up before.  Cost:
 * one lookup for port patterns, and up to two per label of the host for
 * subdomain patterns (only label counts some configured domain has).
 * Returns a short reason, or NULL; *at: where the matched subdomain suffix
 * starts (0 for a port pattern), *port_matched: the key included the port,
 * *public_suffix: the matched subdomain pattern is on a public suffix.  A
 * pattern on a public suffix decides only when no other pattern matches
 * (README "Merged combinations fail safe"): the lookups go on past it.
 */
static const char *cors_origins_match(const cors_origins *l, const char *s,
                                      const cors_origin *o, apr_size_t *at,
                                      int *port_matched, int *public_suffix)
{
    const cors_sub *sub;
    apr_size_t host_end = o->host_off + o->host_len;
    apr_size_t d;
    int labels = 1, found = 0;

    /* exact origins: looked up by cors_match() before parsing */
    *public_suffix = 0;
    if (cors_strset_get(&l->any_port, s, host_end)) {
        *at = 0;
        *port_matched = 0;
        return "port pattern";
    }
    if (o->is_ip || l->max_sub_labels == 0) {
        return NULL;
    }
    /* Each ".suffix" of the host, shortest first, with as many labels as
     * some configured domain has: one lookup per table that has entries. */
    for (d = host_end; d > o->host_off + 1; ) {
        while (--d > o->host_off && s[d] != '.') {
        }
        if (d == o->host_off) {
            break;
        }
        if (labels >= l->min_sub_labels) {
            int k;

            for (k = 0; k < 2; k++) {
                sub = cors_strset_get(k ? &l->sub_anyport : &l->sub_port,
                                      s + d, (k ? host_end : o->len) - d);
                if (!sub || !cors_scheme_in(sub->schemes, s, o->scheme_len)
                    || (found && sub->public_suffix)) {
                    continue;
                }
                *at = d;
                *port_matched = !k;
                *public_suffix = sub->public_suffix;
                if (!sub->public_suffix) {
                    return "subdomain pattern";
                }
                found = 1;      /* a longer pattern may decide instead */
            }
        }
        if (++labels > l->max_sub_labels) {
            break;
        }
    }
    return found ? "subdomain pattern" : NULL;
}

/* The Public Suffix List goes with the configuration it was read for
 * (psl_free() leaves libpsl's built-in list alone). */
static apr_status_t cors_psl_free(void *psl)
{
    psl_free(psl);
    cors_psl = NULL;
    return APR_SUCCESS;
}

/*
 * Add the domains that one rule of the list lies below to cors_psl_below:
 * "amazonaws.com" and "com" for "s3.amazonaws.com"; for a wildcard rule
 * "*.compute.amazonaws.com", "compute.amazonaws.com" as well.  Names with
 * bytes beyond ASCII are left out: a configured pattern is ASCII (punycode).
 */
static void cors_psl_below_add(apr_pool_t *p, const char *line,
                               apr_size_t len)
{
    char *rule = apr_pstrmemdup(p, line, len);
    const char *d = rule, *q;
    int added, ascii;
    void **v;

    if (!strncmp(d, "*.", 2)) {
        d += 2;
    }
    else if ((d = strchr(d, '.'))) {
        d++;
    }
    for (; d && *d; d = (d = strchr(d, '.')) ? d + 1 : NULL) {
        for (ascii = 1, q = d; *q; q++) {
            ascii &= (unsigned char)*q < 0x80;
        }
        if (ascii) {
            /* name a suffix without a wildcard where there is one */
            v = cors_strset_slot(p, &cors_psl_below, d, strlen(d), 1,
                                 &added);
            if (!*v || (*(const char *)*v == '*' && *rule != '*')) {
                *v = rule;
            }
        }
    }
}

/*
 * Read the text of the Public Suffix List (libpsl reads its compiled form,
 * and only says whether a name is a suffix) into cors_psl_below: the file
 * next to the system's list that libpsl loads, else the one its built-in
 * list was made from.  Rules: one a line, up to a blank; "//" comments;
 * "!" exceptions name no suffix.
 */
static void cors_psl_below_read(apr_pool_t *pconf, apr_pool_t *ptemp)
{
    const char *dist = psl_dist_filename(), *files[2], *p, *end;
    apr_size_t n = dist ? strlen(dist) : 0, len = 0;
    apr_file_t *f;
    apr_finfo_t fi;
    char *buf = NULL;
    int i;

    files[0] = n > 6 && !strcmp(dist + n - 6, ".dafsa")
               ? apr_pstrcat(ptemp, apr_pstrmemdup(ptemp, dist, n - 6),
                             ".dat", NULL) : NULL;
    files[1] = psl_builtin_filename();
    for (i = 0; i < 2; i++) {
        if (!files[i] || apr_file_open(&f, files[i], APR_READ,
                                       APR_OS_DEFAULT, ptemp) != APR_SUCCESS) {
            continue;
        }
        if (apr_file_info_get(&fi, APR_FINFO_SIZE, f) == APR_SUCCESS) {
            buf = apr_palloc(ptemp, (apr_size_t)fi.size + 1);
            if (apr_file_read_full(f, buf, (apr_size_t)fi.size, &len)
                == APR_SUCCESS) {
                apr_file_close(f);
                break;
            }
        }
        apr_file_close(f);
    }
    if (i == 2) {
        return;
    }
    for (p = buf, end = buf + len; p < end; ) {
        const char *nl = memchr(p, '\n', end - p), *e = nl ? nl : end;
        apr_size_t rule = 0;

        while (p + rule < e && !apr_isspace(p[rule])) {
            rule++;
        }
        if (rule && p[0] != '!'
            && !(rule >= 2 && p[0] == '/' && p[1] == '/')) {
            cors_psl_below_add(pconf, p, rule);
        }
        p = nl ? nl + 1 : end;
    }
    cors_psl_below_file = apr_pstrdup(pconf, files[i]);
}

/* The configuration warning about a list that could not be read: once per
 * reading. */
static int cors_psl_below_warned = 0;

/*
 * pre_config: load the Public Suffix List for this reading of the
 * configuration: the newest of the system's list (Debian's publicsuffix
 * package) and the one built into libpsl; and the domains it has suffixes
 * below.  Start the reading's configuration warnings.
 */
static void cors_psl_load(apr_pool_t *pconf, apr_pool_t *ptemp)
{
    psl_ctx_t *latest = psl_latest(NULL);

    if (latest) {
        apr_pool_cleanup_register(pconf, latest, cors_psl_free,
                                  apr_pool_cleanup_null);
        cors_psl = latest;
    }
    else {
        cors_psl = psl_builtin();
    }
    cors_config_free(NULL);
    apr_pool_cleanup_register(pconf, NULL, cors_config_free,
                              apr_pool_cleanup_null);
    cors_config_warnings = apr_array_make(pconf, 4, sizeof(const char *));
    cors_psl_below_warned = 0;
    cors_psl_below_read(pconf, ptemp);
}

/*
 * Is the domain of a subdomain pattern ("example.com" of "*.example.com")
 * a public suffix (ICANN or private section of the Public Suffix List,
 * such as co.uk or github.io), or has it one below it (amazonaws.com:
 * s3.amazonaws.com)?  Warns about it (cors_config_warning(): once per
 * start-up, not each .htaccess request): the pattern allows every site
 * anyone registers there.  where: see cors_config_warning().
 */
static int cors_public_suffix(cmd_parms *cmd, const char *arg,
                              const char *domain, const char *where)
{
    const char *below = NULL;

    if (!cors_psl) {
        return 0;
    }
    if (!cors_psl_below_file && !cors_psl_below_warned) {
        cors_psl_below_warned = 1;
        cors_config_warning(cmd, where, "CORS0005: %s: '%s' is checked only "
                            "for its own domain: the text of the Public "
                            "Suffix List (%s) cannot be read, so a public "
                            "suffix below a domain goes unnoticed; install "
                            "the publicsuffix package", cmd->cmd->name, arg,
                            psl_builtin_filename());
    }
    if (!psl_is_public_suffix(cors_psl, domain)
        && !(below = cors_strset_get(&cors_psl_below, domain,
                                     strlen(domain)))) {
        return 0;
    }
    if (below) {
        cors_config_warning(cmd, where, "CORS0004: %s: '%s': %s, below %s, "
                            "is on the Public Suffix List: anyone can "
                            "register a site under it, and every such site is "
                            "allowed", cmd->cmd->name, arg, below, domain);
    }
    else {
        cors_config_warning(cmd, where, "CORS0004: %s: '%s': %s is on the "
                            "Public Suffix List: anyone can register a site "
                            "under it, and every such site is allowed",
                            cmd->cmd->name, arg, domain);
    }
    return 1;
}

/* Count an origin rule for the start-up line; .htaccess files (read while the
 * server runs, by many threads) are not counted. */
static void cors_count(int *counter)
{
    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_RUN_MPM) {
        (*counter)++;
    }
}

static cors_origins *cors_origins_make(apr_pool_t *p)
{
    return apr_pcalloc(p, sizeof(cors_origins));
}

static const char *cors_bad_origin(cmd_parms *cmd, const char *arg,
                                   const char *why)
{
    return apr_psprintf(cmd->pool, "'%s' is not an origin (%s)", arg, why);
}

/* Add a subdomain pattern's ".domain[:port]" key with its scheme (and
 * whether the domain is a public suffix). */
static void cors_add_sub(cmd_parms *cmd, cors_strset *t, const char *key,
                         const char *scheme, int public_suffix)
{
    int added;
    void **v = cors_strset_slot(cmd->pool, t, key, strlen(key), 1, &added);
    cors_sub *sub;

    if (!*v) {
        sub = apr_pcalloc(cmd->pool, sizeof(*sub));
        sub->schemes = apr_array_make(cmd->pool, 1, sizeof(const char *));
        sub->public_suffix = public_suffix;
        *v = sub;
    }
    sub = *v;
    if (!cors_scheme_in(sub->schemes, scheme, strlen(scheme))) {
        APR_ARRAY_PUSH(sub->schemes, const char *) = apr_pstrdup(cmd->pool,
                                                                 scheme);
    }
}

/* One configured origin or pattern, parsed and normalised (in the
 * temporary pool: only the lookup keys are kept). */
typedef struct {
    char *scheme;            /* lowercased */
    char *host;              /* lowercased, IPv6 canonical in brackets;
                              * ".domain" for a subdomain pattern */
    const char *port;        /* digits, "" (none or the default) or "*" */
    int sub;                 /* a subdomain pattern, "*.domain" */
} cors_rule;

/* The host part of a rule, lowercased, up to an optional ":port" (in
 * *port, "" without one).  deny: a CorsDenyOrigin rule, which may cover
 * every site under a top-level domain (denying broadly is safe). */
static const char *cors_parse_host(cmd_parms *cmd, const char *arg,
                                   char *hostpart, cors_rule *u, char **port,
                                   int deny)
{
    int is_ip = 0;

    if (*hostpart == '[') {
        char canon[48];
        char *end = strchr(hostpart, ']');

        if (!end || !cors_ipv6_canonical(hostpart + 1, end - hostpart - 1,
                                         canon)) {
            return cors_bad_origin(cmd, arg, "the IPv6 address is not valid");
        }
        u->host = apr_pstrcat(cmd->temp_pool, "[", canon, "]", NULL);
        *port = end + 1;
        return NULL;
    }
    *port = hostpart + strcspn(hostpart, ":");
    u->host = apr_pstrmemdup(cmd->temp_pool, hostpart, *port - hostpart);
    if (!strncmp(u->host, "*.", 2)) {
        u->sub = 1;
        u->host++;                 /* keep the dot: ".example.com" */
    }
    if (strchr(u->host, '*')) {
        return cors_bad_origin(cmd, arg, "'*' may only stand for whole "
                               "leading labels, as in https://*.example.com");
    }
    if (!cors_host_ok(u->host + u->sub, strlen(u->host + u->sub), &is_ip)) {
        return cors_bad_origin(cmd, arg, *u->host == '\0'
                               ? "the host is missing"
                               : "the host is not a valid DNS name or IPv4 "
                                 "address");
    }
    if (u->sub && is_ip) {
        return cors_bad_origin(cmd, arg, "a subdomain pattern needs a domain "
                               "name, not an IP address");
    }
    if (u->sub && !deny && !strchr(u->host + 1, '.')) {
        return apr_psprintf(cmd->pool, "'%s' matches every site under a "
                            "top-level domain; give at least two labels after "
                            "'*.', e.g. https://*.example.com", arg);
    }
    return NULL;
}

/* The port part of a rule (after the host): nothing, ":*" or ":number";
 * the scheme's default port is dropped. */
static const char *cors_parse_port(cmd_parms *cmd, const char *arg,
                                   const char *port, cors_rule *u)
{
    const char *dport;
    long v;

    u->port = "";
    if (*port == '\0') {
        return NULL;
    }
    if (*port != ':') {
        return cors_bad_origin(cmd, arg, "unexpected characters after the "
                               "host");
    }
    if (!strcmp(++port, "*")) {
        u->port = "*";
        return NULL;
    }
    if (!cors_parse_number(port, 65535, &v) || v < 1) {
        return cors_bad_origin(cmd, arg, "the port must be a number from 1 "
                               "to 65535, or * for any port");
    }
    dport = cors_default_port(u->scheme, strlen(u->scheme));
    u->port = apr_ltoa(cmd->temp_pool, v);
    if (dport && !strcmp(dport, u->port)) {
        u->port = "";
    }
    return NULL;
}

/*
 * Parse one configured origin or pattern and normalise it: scheme and host
 * lowercased, default port dropped, IPv6 canonical.
 */
static const char *cors_parse_rule(cmd_parms *cmd, const char *arg,
                                   cors_rule *u, int deny)
{
    char *s = apr_pstrdup(cmd->temp_pool, arg), *sep, *port = NULL;
    const char *q, *err;
    apr_size_t n;

    memset(u, 0, sizeof(*u));
    if (strchr(arg, ',')) {
        return cors_bad_origin(cmd, arg, "separate origins with spaces, not "
                               "commas");
    }
    for (q = arg; *q; q++) {
        if ((unsigned char)*q >= 0x80) {
            return cors_bad_origin(cmd, arg, "non-ASCII characters: write "
                                   "an internationalised host name in its "
                                   "punycode form, e.g. xn--bcher-kva.example");
        }
        if (apr_iscntrl(*q) || *q == ' ') {
            return cors_bad_origin(cmd, arg, "it contains a control "
                                   "character or a space");
        }
    }
    if (!(sep = strstr(s, "://"))) {
        return cors_bad_origin(cmd, arg, "no scheme: write it as "
                               "scheme://host[:port], e.g. "
                               "https://www.example.com; the keywords are "
                               "*, null and none");
    }
    *sep = '\0';
    u->scheme = s;
    ap_str_tolower(u->scheme);
    n = cors_scheme_len(u->scheme);
    if (n == 0 || u->scheme[n] != '\0') {
        return cors_bad_origin(cmd, arg, "the scheme is not valid");
    }
    s = sep + 3;
    if (strchr(s, '@')) {
        return cors_bad_origin(cmd, arg, "remove the user information "
                               "before '@'");
    }
    if ((sep = strpbrk(s, "/?#"))) {
        return cors_bad_origin(cmd, arg,
                               !strcmp(sep, "/") ? "remove the trailing slash"
                               : *sep == '/' ? "an origin has no path: "
                                               "remove it"
                               : *sep == '?' ? "an origin has no query: "
                                               "remove it"
                               : "an origin has no fragment: remove it");
    }
    ap_str_tolower(s);
    if ((err = cors_parse_host(cmd, arg, s, u, &port, deny))) {
        return err;
    }
    return cors_parse_port(cmd, arg, port, u);
}

/* Count the labels of a subdomain pattern's ".domain" for the lookups. */
static void cors_count_labels(cors_origins *l, const char *domain)
{
    int labels = 0;

    for (; *domain; domain++) {
        labels += *domain == '.';
    }
    if (labels > l->max_sub_labels) {
        l->max_sub_labels = labels;
    }
    if (!l->min_sub_labels || labels < l->min_sub_labels) {
        l->min_sub_labels = labels;
    }
}

/*
 * Add arg to l's exact origins if it is one origin as browsers serialise
 * it (lowercase, no default port): then it is its own lookup key, checked
 * in the one pass a request's Origin gets, without the rewriting of
 * cors_parse_rule() (in .htaccess this runs for every origin of every
 * request).  kept: arg lives in cmd->pool (a word of the directive's own
 * copy of its line) and becomes the key itself; else the key is a copy.
 * 0 when arg is no such origin.
 */
static int cors_add_serialised(cmd_parms *cmd, cors_origins *l,
                               const char *arg, int kept)
{
    cors_origin o;
    int added;

    if (!cors_origin_parse(arg, &o) || o.is_null
        || (o.len > o.host_off + o.host_len + 1
            && arg[o.host_off + o.host_len + 1] == '0')) {
        return 0;               /* a keyword, a pattern, port 0, ... */
    }
    cors_strset_slot(cmd->pool, &l->exact,
                     kept ? arg : apr_pstrmemdup(cmd->pool, arg, o.len),
                     o.len, 0, &added);
    cors_count(&cors_count_exact);
    l->rules++;
    return 1;
}

/* Parse one configured origin or pattern (as written: arg) and add it to
 * the table of l its kind belongs in. */
static const char *cors_add_origin(cmd_parms *cmd, cors_origins *l,
                                   const char *arg, const char *where)
{
    apr_pool_t *p = cmd->pool;
    const char *err;
    cors_rule u;
    int added, any_port;

    /* where: a line of CorsAllowOriginFile, in a buffer of its own */
    if (cors_add_serialised(cmd, l, arg, !where)) {
        return NULL;
    }
    if ((err = cors_parse_rule(cmd, arg, &u, l->deny))) {
        return err;
    }
    any_port = !strcmp(u.port, "*");
    if (u.sub) {
        int psl = !l->deny && cors_public_suffix(cmd, arg, u.host + 1,
                                                 where);

        cors_count_labels(l, u.host);
        cors_add_sub(cmd, any_port ? &l->sub_anyport : &l->sub_port,
                     *u.port && !any_port
                     ? apr_pstrcat(p, u.host, ":", u.port, NULL)
                     : apr_pstrdup(p, u.host), u.scheme, psl);
        if (!strcmp(u.scheme, "http") && !l->http_sub) {
            /* arg may be a line buffer (CorsAllowOriginFile) */
            l->http_sub = apr_pstrdup(p, arg);
        }
        if (psl && !l->psl_sub) {
            l->psl_sub = apr_pstrdup(p, arg);
        }
    }
    else {
        cors_strset_add(p, any_port ? &l->any_port : &l->exact,
                        apr_pstrcat(p, u.scheme, "://", u.host,
                                    *u.port && !any_port ? ":" : "",
                                    any_port ? "" : u.port, NULL), &added);
    }
    cors_count(u.sub || any_port ? &cors_count_patterns : &cors_count_exact);
    l->parse |= u.sub || any_port;
    l->rules++;
    return NULL;
}

/*
 * The parts of a value shaped like scheme://host[:port] (host_off,
 * host_len, scheme_len, len), found without validating anything: for a
 * serialised origin they are what cors_origin_parse() finds.  0 when the
 * value has no such shape.
 */
static int cors_origin_shape(const char *s, apr_size_t n, cors_origin *o)
{
    const char *h, *e;

    o->scheme_len = cors_scheme_len(s);
    if (o->scheme_len == 0 || s[o->scheme_len] != ':'
        || s[o->scheme_len + 1] != '/' || s[o->scheme_len + 2] != '/') {
        return 0;
    }
    o->host_off = o->scheme_len + 3;
    h = s + o->host_off;
    if (*h == '[') {
        e = memchr(h, ']', n - o->host_off);
        e = e ? e + 1 : s + n;
        o->is_ip = 1;
    }
    else {
        /* a port ends in a digit; most hosts do not */
        e = apr_isdigit(s[n - 1]) ? memchr(h, ':', n - o->host_off) : NULL;
        e = e ? e : s + n;
        o->is_ip = 0;
    }
    o->host_len = e - h;
    o->len = n;
    o->is_null = 0;
    return 1;
}

/*
 * A value matched a rule by its shape (cors_origin_shape()).  The part the
 * rule's key covered is valid, as the configuration was, and so is the
 * scheme (compared with configured ones).  Is the rest valid too, so that
 * the whole value is a serialised origin?  Left to check: the labels before
 * a matched subdomain suffix (at: where it starts; 0 for a port pattern,
 * which covered the whole host), the host's length, and the port unless the
 * key included it.
 */
static int cors_rest_ok(const char *s, const cors_origin *o, apr_size_t at,
                        int port_matched)
{
    int numeric;

    if (at && (o->host_len > CORS_MAX_HOST
               || cors_labels(s, o->host_off, at, &numeric) != at)) {
        return 0;
    }
    return port_matched
           || cors_port_end(s, o->scheme_len, o->host_off + o->host_len)
              == o->len;
}

/*
 * Does the configuration allow this Origin value?  Returns the reason it
 * matched, or NULL.  Never "*": the caller handles it.  An Origin is looked
 * up first and validated only when a rule matched it, so that refusing one
 * costs no parsing.  *unsafe: the refused combination (cors_unsafe) the
 * matching rule would make with credentials, or -1.
 */
static const char *cors_match(const cors_dir_conf *c, const char *origin,
                              int *unsafe)
{
    cors_origin o;
    apr_size_t n = strlen(origin), at = 0;
    const char *how = NULL;
    int i, port_matched = 0, public_suffix = 0;

    *unsafe = -1;
    /* Configured exact origins are normalised: a byte-exact hit is a
     * usable origin, so the common case needs no parsing. */
    if (c->origins && cors_strset_get(&c->origins->exact, origin, n)) {
        return "exact origin";
    }
    if (!c->regexes && !(c->origins && c->origins->parse)) {
        return NULL;
    }
    if (n == 4 && !memcmp(origin, "null", 4)) {
        return c->origins && c->origins->null ? "null listed" : NULL;
    }
    if (!cors_origin_shape(origin, n, &o)) {
        return NULL;
    }
    if (c->origins && (how = cors_origins_match(c->origins, origin, &o, &at,
                                                &port_matched,
                                                &public_suffix))) {
        /* matched by shape: the value must be a serialised origin too */
        if (!cors_rest_ok(origin, &o, at, port_matched)) {
            return NULL;
        }
        if (at && o.scheme_len == 4 && !memcmp(origin, "http", 4)) {
            *unsafe = CORS_UNSAFE_HTTP_SUB_CREDENTIALS;
        }
        else if (public_suffix) {
            *unsafe = CORS_UNSAFE_PSL_SUB_CREDENTIALS;
        }
        if (*unsafe < 0 || !c->regexes) {
            return how;
        }
    }
    /* A rule that allows the origin without a fail-safe decides, whatever
     * rule matched before it (README "Merged combinations fail safe"). */
    for (i = 0; c->regexes && i < c->regexes->nelts; i++) {
        const cors_regex *x = &APR_ARRAY_IDX(c->regexes, i, cors_regex);

        if ((x->any && *unsafe >= 0) || !cors_regex_match(x, origin, n)) {
            continue;
        }
        if (!how && !cors_origin_parse(origin, &o)) {
            return NULL;
        }
        if (!x->any) {
            *unsafe = -1;
            return "CorsAllowOriginMatch";
        }
        *unsafe = CORS_UNSAFE_REGEX_CREDENTIALS;
        how = "CorsAllowOriginMatch";   /* another expression may decide */
    }
    return how;
}

/* Defined in the section "Origins from a database" below. */
static const char *cors_dbd_match(request_rec *r, const cors_dir_conf *c,
                                  const char *origin, cors_db_answer *answer);

/* GCC and clang: keep a function out of its one caller, so that the
 * caller's early return does not pay for the callee's stack frame. */
#if defined(__GNUC__)
#define CORS_NOINLINE __attribute__((noinline))
#else
#define CORS_NOINLINE
#endif

/* The first cors_match_once() of a request under c (out of line: the
 * callers' stack frames stay small). */
static CORS_NOINLINE void cors_match_first(request_rec *r,
                                           const cors_dir_conf *c,
                                           cors_req *q)
{
    q->match_how = cors_match(c, q->origin, &q->match_unsafe);
    q->match_conf = c;
    /* Origins from a database */
    q->db = CORS_DB_NONE;
    if (!q->match_how && c->dbd_label) {
        q->match_how = cors_dbd_match(r, c, q->origin, &q->db);
    }
}

/* cors_match() of the request's Origin under c, asked once per request
 * and configuration; then, when no static rule allowed it, the database
 * (the callers have checked the denies first).  Inline, so that *unsafe
 * stays in a register of the caller. */
static APR_INLINE const char *cors_match_once(request_rec *r,
                                              const cors_dir_conf *c,
                                              cors_req *q, int *unsafe)
{
    if (q->match_conf != c) {
        cors_match_first(r, c, q);
    }
    *unsafe = q->match_unsafe;
    return q->match_how;
}

/*
 * Does a CorsDenyOrigin list cover this Origin value?  The lookups of
 * cors_match(), on the value's shape alone: a value that only looks like a
 * denied origin is denied too (no allow rule would take it, and '*' must
 * not).
 */
static int cors_denied_by(const cors_origins *l, const char *origin)
{
    cors_origin o;
    apr_size_t n = strlen(origin), at;
    int port_matched, public_suffix;

    if (cors_strset_get(&l->exact, origin, n)) {
        return 1;
    }
    if (!l->parse) {
        return 0;
    }
    if (n == 4 && !memcmp(origin, "null", 4)) {
        return l->null;
    }
    return cors_origin_shape(origin, n, &o)
           && cors_origins_match(l, origin, &o, &at, &port_matched,
                                 &public_suffix);
}

/*
 * Do the deny lists in force (every enclosing section's, since the last
 * "none") cover this Origin value (NULL: none sent)?  1: denied; 0: not
 * denied, but the answer depends on Origin; -1: no list holds a rule.
 */
static int cors_denied(const cors_dir_conf *c, const char *origin)
{
    int i, rules = 0;

    for (i = 0; c->denies && i < c->denies->nelts; i++) {
        const cors_origins *l = APR_ARRAY_IDX(c->denies, i, cors_origins *);

        if (l->rules) {
            if (origin && cors_denied_by(l, origin)) {
                return 1;
            }
            rules = 1;
        }
    }
    return rules ? 0 : -1;
}

/* Why cors_match() refused an Origin, for the debug line. */
static const char *cors_why_not(const cors_dir_conf *c, const char *origin)
{
    cors_origin o;

    if (!strcmp(origin, "null")) {
        return c->origins && c->origins->null ? "not in the allowed origins"
                                              : "null is not listed";
    }
    return cors_origin_parse(origin, &o) ? "not in the allowed origins"
                                         : "not a serialised origin";
}

/*
 * +----------------------------------------------------------------------+
 * |                                                                      |
 * |  Refused combinations                                                |
 * |                                                                      |
 * +----------------------------------------------------------------------+
 */

/* The first part of combination k as configured, or NULL when c does not
 * combine it with the second. */
static const char *cors_unsafe_part(apr_pool_t *p, const cors_dir_conf *c,
                                    cors_unsafe k)
{
    int creds = cors_on(c->credentials), i;

    switch (k) {
    case CORS_UNSAFE_ANY_CREDENTIALS:
        return creds && c->origins && c->origins->any
               ? "CorsAllowOrigin *" : NULL;
    case CORS_UNSAFE_EXPOSE_CREDENTIALS:
        return creds && c->expose && c->expose->any
               ? "CorsExposeHeaders *" : NULL;
    case CORS_UNSAFE_PNA_ANY:
        return cors_on(c->pna) && c->origins && c->origins->any
               ? "CorsAllowPrivateNetwork On" : NULL;
    case CORS_UNSAFE_REGEX_CREDENTIALS:
        for (i = 0; creds && c->regexes && i < c->regexes->nelts; i++) {
            const cors_regex *x = &APR_ARRAY_IDX(c->regexes, i, cors_regex);

            if (x->any) {
                return apr_pstrcat(p, "CorsAllowOriginMatch ", x->src, NULL);
            }
        }
        return NULL;
    case CORS_UNSAFE_HTTP_SUB_CREDENTIALS:
        return creds && c->origins ? c->origins->http_sub : NULL;
    case CORS_UNSAFE_PSL_SUB_CREDENTIALS:
        return creds && c->origins ? c->origins->psl_sub : NULL;
    default:
        return NULL;
    }
}

static const struct {
    const char *other;       /* the second part */
    const char *advice;      /* why one section may not combine them */
    const char *tag;         /* log tag of the merged case */
    const char *failsafe;    /* what is answered instead, once merged */
} cors_refused[CORS_REFUSED_COUNT] = {
    { "CorsAllowCredentials On",
      "browsers refuse credentials with '*'; list the allowed origins "
      "instead",
      "CORS0030", "origins not allowed by another rule get '*' without "
      "credentials" },
    { "CorsAllowCredentials On",
      "with credentials browsers read '*' as a header name; list the "
      "headers to expose",
      "CORS0031", "'*' is left out of Access-Control-Expose-Headers" },
    { "CorsAllowOrigin *",
      "list the origins that may reach the private network",
      "CORS0032", "private network access is not granted to '*'" },
    { "CorsAllowCredentials On",
      "the expression matches any origin; anchor it to your own domains",
      "CORS0033", "the origins it matches get '*' without credentials" },
    { "CorsAllowCredentials On",
      "any network attacker can answer for a plain-http subdomain; use "
      "https:// or list the origins",
      "CORS0034", "the origins it matches are allowed without credentials" },
    { "CorsAllowCredentials On",
      "the domain after '*.', or one below it, is on the Public Suffix "
      "List: anyone can register a site that the pattern matches; list your "
      "own domains or origins",
      "CORS0035", "the origins it matches are allowed without credentials" }
};

/* Why section c may not stand (a combination of cors_refused), or NULL. */
static const char *cors_refused_in(apr_pool_t *p, const cors_dir_conf *c)
{
    int k;

    for (k = 0; k < CORS_REFUSED_COUNT; k++) {
        const char *part = cors_unsafe_part(p, c, k);

        if (part) {
            return apr_psprintf(p, "'%s' and '%s' cannot be combined in one "
                                "section (%s)", part, cors_refused[k].other,
                                cors_refused[k].advice);
        }
    }
    return NULL;
}

/*
 * Refuse the combinations of cors_refused in one section.  Called
 * after every directive that takes part, so the order of lines does not
 * matter.
 */
static const char *cors_check_section(cmd_parms *cmd, const cors_dir_conf *c)
{
    const char *why = cors_refused_in(cmd->pool, c);

    return why ? apr_pstrcat(cmd->pool, cmd->cmd->name, ": ", why, NULL)
               : NULL;
}

/*
 * An origin (or null) both allowed and denied in one section is a mistake
 * whichever was meant (README "Configuration errors").  arg was just added
 * to one list (denied: to CorsDenyOrigin's); is it in the other's exact
 * origins, as normalised?
 */
static const char *cors_check_both(cmd_parms *cmd, const cors_dir_conf *c,
                                   const char *arg, int denied)
{
    const cors_origins *other = denied ? c->origins : c->deny;
    const char *key;
    cors_rule u;
    int both;

    if (!other || !other->rules) {
        return NULL;
    }
    if (!strcasecmp(arg, "null")) {
        both = other->null;
    }
    else if (!other->exact.count || cors_parse_rule(cmd, arg, &u, denied)
             || u.sub || !strcmp(u.port, "*")) {
        return NULL;            /* a pattern, or '*' */
    }
    else {
        key = apr_pstrcat(cmd->temp_pool, u.scheme, "://", u.host,
                          *u.port ? ":" : "", u.port, NULL);
        both = cors_strset_get(&other->exact, key, strlen(key)) != NULL;
    }
    return both ? apr_psprintf(cmd->pool, "'%s' is both allowed "
                               "(CorsAllowOrigin) and denied (CorsDenyOrigin) "
                               "in one section: remove it from one of them",
                               arg) : NULL;
}

/*
 * Client input for a log line.  httpd's error log already escapes control
 * characters, non-ASCII bytes and backslashes in every message; this only
 * keeps a hostile 8 KB value from filling the line.
 */
static const char *cors_logitem(apr_pool_t *p, const char *s)
{
    return strlen(s) > 200 ? apr_pstrcat(p, apr_pstrndup(p, s, 200), "...",
                                         NULL) : s;
}

/*
 * A refused combination (cors_refused) that merging sections made
 * decides this answer: log it, once per process, with what is answered
 * instead.
 */
static void cors_fail_safe(request_rec *r, const cors_dir_conf *c,
                           cors_unsafe k)
{
    apr_uint32_t bit = 1u << k;
    apr_uint32_t old = apr_atomic_read32(&cors_warned);

    while (!(old & bit)) {
        apr_uint32_t seen = apr_atomic_cas32(&cors_warned, old | bit, old);

        if (seen == old) {
            const char *part = cors_unsafe_part(r->pool, c, k);

            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                          "%s: the merged configuration combines '%s' with "
                          "'%s'; %s (for %s; logged once per process)",
                          cors_refused[k].tag, part ? part : "?",
                          cors_refused[k].other,
                          cors_refused[k].failsafe,
                          cors_logitem(r->pool, r->uri));
            return;
        }
        old = seen;
    }
}

/*
 * +----------------------------------------------------------------------+
 * |                                                                      |
 * |  Configuration: create and merge                                     |
 * |                                                                      |
 * +----------------------------------------------------------------------+
 */

static void *cors_create_dir_conf(apr_pool_t *p, char *dir)
{
    cors_dir_conf *c = apr_pcalloc(p, sizeof(*c));

    (void)dir;
    c->engine = CORS_FLAG_UNSET;
    c->protect = CORS_FLAG_UNSET;
    c->credentials = CORS_FLAG_UNSET;
    c->max_age = CORS_UNSET;
    c->pna = CORS_FLAG_UNSET;
    c->preflight_status = CORS_UNSET;
    c->timing = CORS_FLAG_UNSET;
    c->debug = CORS_FLAG_UNSET;
    return c;
}

/* A virtual host's row of the counters is found in post_config and
 * pre_mpm (cors_counters_assign()). */
static void *cors_create_srv_conf(apr_pool_t *p, server_rec *s)
{
    (void)s;
    return apr_pcalloc(p, sizeof(cors_srv_conf));
}

/* Each virtual host has a configuration of its own, and inherits nothing:
 * with AP_MODULE_FLAG_ALWAYS_MERGE httpd creates one for every host, also
 * those that set no directive of the module (it would share the main
 * server's). */
static void *cors_merge_srv_conf(apr_pool_t *p, void *basev, void *addv)
{
    (void)p;
    (void)basev;
    return addv;
}

/* Did a section set nothing at all?  (Most sections are about other things.) */
static int cors_conf_empty(const cors_dir_conf *c)
{
    return c->engine == CORS_FLAG_UNSET && c->protect == CORS_FLAG_UNSET
           && !c->origins && !c->regexes
           && !c->methods && !c->headers && !c->expose
           && c->credentials == CORS_FLAG_UNSET && c->max_age == CORS_UNSET
           && c->pna == CORS_FLAG_UNSET && c->preflight_status == CORS_UNSET
           && !c->deny && c->timing == CORS_FLAG_UNSET
           && c->debug == CORS_FLAG_UNSET && !c->dbd_label;
}

/*
 * The deny lists in force below base and add: a deny is a safety rule, and
 * adding one must never drop another, so the lists add up down the tree
 * unless add says "CorsDenyOrigin none" (README "Merging").  Combined as
 * origins_cleared is, so that any grouping of the sections gives the same
 * lists in the same order.  Never changes either side's array.
 */
static apr_array_header_t *cors_merge_denies(apr_pool_t *p,
                                             const cors_dir_conf *base,
                                             const cors_dir_conf *add)
{
    if (!add->denies) {
        return base->denies;
    }
    if (add->deny_cleared || !base->denies) {
        return add->denies;
    }
    return apr_array_append(p, base->denies, add->denies);
}

/* The merge of one field: the section's own value when it set one, else
 * the inherited one. */
#define CORS_PICK(f, unset) (c->f = add->f != (unset) ? add->f : base->f)
#define CORS_PICK_PTR(f) CORS_PICK(f, NULL)
#define CORS_PICK_FLAG(f) CORS_PICK(f, CORS_FLAG_UNSET)

static void *cors_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    const cors_dir_conf *base = basev, *add = addv;
    cors_dir_conf *c;

    /* Configurations are read-only once built: when one side set nothing,
     * the other side is the merged result, and can be shared. */
    if (cors_conf_empty(add)) {
        return basev;
    }
    if (cors_conf_empty(base)) {
        return addv;
    }
    c = apr_pcalloc(p, sizeof(*c));

    CORS_PICK_FLAG(engine);
    CORS_PICK_FLAG(protect);
    CORS_PICK_PTR(origins);
    /* httpd merges nested sections with each other before merging them
     * onto the server's configuration: "none" anywhere in the merged
     * sections must still drop what comes from above them, so that any
     * grouping gives the same result (README "Merging"). */
    c->origins_cleared = add->origins_cleared || base->origins_cleared;
    if (add->regexes) {
        c->regexes = add->regexes;
    }
    else {
        c->regexes = add->origins_cleared ? NULL : base->regexes;
    }
    CORS_PICK_PTR(methods);
    CORS_PICK_PTR(headers);
    CORS_PICK_PTR(expose);
    CORS_PICK_FLAG(credentials);
    CORS_PICK(max_age, CORS_UNSET);
    CORS_PICK_PTR(max_age_str);     /* set with max_age, or neither */
    CORS_PICK_FLAG(pna);
    CORS_PICK(preflight_status, CORS_UNSET);
    CORS_PICK_PTR(deny);
    c->denies = cors_merge_denies(p, base, add);
    c->deny_cleared = add->deny_cleared || base->deny_cleared;
    CORS_PICK_FLAG(timing);
    CORS_PICK_FLAG(debug);
    /* Origins from a database: an origin rule, dropped by "none" as an
     * inherited CorsAllowOriginMatch is */
    if (add->dbd_label) {
        c->dbd_label = add->dbd_label;
    }
    else {
        c->dbd_label = add->origins_cleared ? NULL : base->dbd_label;
    }
    return c;
}

/* In CORS scope: an origin rule, and CorsEngine not Off.  (Most requests
 * of a server are outside: the test that says so comes first.) */
static APR_INLINE int cors_in_scope(const cors_dir_conf *c)
{
    return ((c->origins && c->origins->rules > 0)
            || (c->regexes && c->regexes->nelts > 0) || c->dbd_label)
           && !cors_off(c->engine);
}

static int cors_credentials(const cors_dir_conf *c)
{
    return cors_on(c->credentials);
}

static int cors_preflight_status(const cors_dir_conf *c)
{
    return c->preflight_status == CORS_UNSET ? CORS_DEFAULT_PREFLIGHT_STATUS
                                             : c->preflight_status;
}

/*
 * +----------------------------------------------------------------------+
 * |                                                                      |
 * |  Directives and the command table                                    |
 * |                                                                      |
 * +----------------------------------------------------------------------+
 */

/*
 * The origin list of section c that a CorsAllowOrigin value (deny: a
 * CorsDenyOrigin value) goes into, made when the section has none yet;
 * clear: "none", which starts an empty list and drops the inherited ones.
 */
static cors_origins *cors_origin_list(cmd_parms *cmd, cors_dir_conf *c,
                                      int deny, int clear)
{
    if (!deny) {
        if (clear || !c->origins) {
            c->origins = cors_origins_make(cmd->pool);
        }
        c->origins_cleared |= clear;
        return c->origins;
    }
    if (clear) {
        c->deny = NULL;
        c->deny_cleared = 1;
    }
    if (!c->deny) {
        c->deny = cors_origins_make(cmd->pool);
        c->deny->deny = 1;
        c->denies = apr_array_make(cmd->pool, 1, sizeof(cors_origins *));
        APR_ARRAY_PUSH(c->denies, cors_origins *) = c->deny;
    }
    return c->deny;
}

/*
 * One value of CorsAllowOrigin (deny: of CorsDenyOrigin), from the
 * directive or a line of CorsAllowOriginFile (where: see
 * cors_config_warning()): the reason it is refused, without the
 * directive's name, or NULL.  '*' would deny every origin (CorsEngine Off
 * says that); null is the opaque origin.
 */
static const char *cors_origin_value(cmd_parms *cmd, cors_dir_conf *c,
                                     const char *arg, int deny,
                                     const char *where)
{
    /* the keywords start with 'n', 'N' or '*'; origins with a scheme */
    int keyword = (arg[0] | 0x20) == 'n' || arg[0] == '*', check = 0;
    cors_origins *l;
    const char *err;

    if (keyword && !strcasecmp(arg, "none")) {
        cors_origin_list(cmd, c, deny, 1);
        return NULL;
    }
    l = cors_origin_list(cmd, c, deny, 0);
    if (keyword && !strcmp(arg, "*")) {
        if (deny) {
            return "'*' would deny every origin: use CorsEngine Off (or "
                   "CorsAllowOrigin none) to turn CORS off";
        }
        l->any = 1;
        l->rules++;
        check = 1;
    }
    else if (keyword && !strcasecmp(arg, "null")) {
        l->null = 1;
        l->parse = 1;
        l->rules++;
    }
    else {
        const char *http_sub = l->http_sub, *psl_sub = l->psl_sub;

        if ((err = cors_add_origin(cmd, l, arg, where))) {
            return err;
        }
        check = http_sub != l->http_sub || psl_sub != l->psl_sub;
    }
    if ((err = cors_check_both(cmd, c, arg, deny))) {
        return err;
    }
    /* A value that adds no part of a refused combination (an exact origin,
     * null, any denied value) cannot complete one: the check after the
     * section's previous directive held.  (In .htaccess this runs for
     * every origin of every request.) */
    return check && !deny ? cors_refused_in(cmd->pool, c) : NULL;
}

/* A directive's error: its name, then the reason. */
static const char *cors_directive_error(cmd_parms *cmd, const char *why)
{
    return why ? apr_pstrcat(cmd->pool, cmd->cmd->name, ": ", why, NULL)
               : NULL;
}

/*
 * Size a section's exact-origin set once for the words of its first
 * CorsAllowOrigin line, args (at most one origin each): in .htaccess, read
 * on every request, a long line would otherwise grow the set by doubling
 * and rehashing in the request pool.
 */
static void cors_origin_line_reserve(cmd_parms *cmd, cors_dir_conf *c,
                                     const char *s)
{
    apr_size_t words;

    if (c->origins->exact.slots) {
        return;
    }
    for (words = 1; (s = strchr(s, ' ')); s++) {
        words++;                /* (an overestimate by repeated spaces) */
    }
    if (words > 8) {
        cors_strset_reserve(cmd->pool, &c->origins->exact, words, 0);
    }
}

/*
 * The next word of a directive's line, split as httpd splits the words
 * of an ITERATE directive (ap_getword_conf()), or "" at the end.  line is
 * the handler's own copy of the line: a word without quotes or
 * backslashes (every origin) ends in place, without the copy
 * ap_getword_conf() makes of each word, which in .htaccess is paid for
 * every origin of every request.
 */
static const char *cors_next_word(apr_pool_t *p, char **line)
{
    char *s = *line, *e;

    while (apr_isspace(*s)) {
        s++;
    }
    e = s + strcspn(s, " \t\n\v\f\r\"'\\");
    if (*e == '"' || *e == '\'' || *e == '\\') {
        *line = s;              /* quoting: httpd's own rules */
        return ap_getword_conf(p, (const char **)line);
    }
    *line = *e ? e + 1 : e;
    *e = '\0';
    return s;
}

/*
 * The CorsAllowOrigin lines of .htaccess files a child has read, parsed
 * (README "Performance"): httpd reads an .htaccess file again for every
 * request, and a line's origins would be checked again every time.  Only
 * a line whose result is its text alone is kept: origins as browsers
 * serialise them, no keyword, no pattern, no quotes, the first origin
 * line of its section, nothing denied there.  Its set (keys in a copy of
 * the split line) is never written once kept; a request that reads the
 * same text again gets a copy of the set's slots.  At most
 * CORS_HTA_CACHE_BYTES of lines and their sets a child (and the index of
 * them), then lines are parsed as before.  Lines with an error are never
 * kept: they are refused again each time.
 */
#define CORS_HTA_CACHE_BYTES (1024 * 1024)

typedef struct {
    cors_strset exact;       /* keys in the cache's copy of the line */
    int rules;               /* the line's words */
} cors_hta_line;

static struct {
    apr_pool_t *pool;        /* the child's; NULL: no cache */
#if APR_HAS_THREADS
    apr_thread_mutex_t *lock;
#endif
    cors_strset lines;       /* line as written -> cors_hta_line */
    apr_size_t bytes;        /* held: lines, copies and slots */
} cors_hta;

static void cors_hta_child_init(apr_pool_t *p)
{
#if APR_HAS_THREADS
    if (apr_thread_mutex_create(&cors_hta.lock, APR_THREAD_MUTEX_DEFAULT,
                                p) != APR_SUCCESS) {
        return;                 /* no cache: every line parsed */
    }
#endif
    memset(&cors_hta.lines, 0, sizeof(cors_hta.lines));
    cors_hta.bytes = 0;
    cors_hta.pool = p;
}

static void cors_hta_lock(void)
{
#if APR_HAS_THREADS
    apr_thread_mutex_lock(cors_hta.lock);
#endif
}

static void cors_hta_unlock(void)
{
#if APR_HAS_THREADS
    apr_thread_mutex_unlock(cors_hta.lock);
#endif
}

/* The origins of the line args (n bytes), kept by cors_hta_put(), or
 * NULL. */
static const cors_hta_line *cors_hta_get(const char *args, apr_size_t n)
{
    const cors_hta_line *e;

    cors_hta_lock();
    e = cors_strset_get(&cors_hta.lines, args, n);
    cors_hta_unlock();
    return e;
}

/*
 * Keep the origins l of the line args (n bytes) while there is room: buf
 * is the line split in place (n + 1 bytes), which every key of l's exact
 * set points into; the cache's copy gets keys at the same offsets.
 */
static void cors_hta_put(const char *args, apr_size_t n, const char *buf,
                         const cors_origins *l)
{
    apr_size_t size = ((apr_size_t)l->exact.mask + 1)
                      * sizeof(cors_strset_entry);
    cors_hta_line *e;
    const char *copy;
    void **v;
    apr_uint32_t i;
    int added;

    cors_hta_lock();
    /* (another thread may have kept it meanwhile) */
    if (cors_hta.bytes + 2 * n + size <= CORS_HTA_CACHE_BYTES
        && !cors_strset_get(&cors_hta.lines, args, n)) {
        v = cors_strset_slot(cors_hta.pool, &cors_hta.lines,
                             apr_pstrmemdup(cors_hta.pool, args, n), n, 1,
                             &added);
        e = apr_palloc(cors_hta.pool, sizeof(*e));
        e->exact = l->exact;
        e->rules = l->rules;
        e->exact.slots = apr_pmemdup(cors_hta.pool, l->exact.slots, size);
        copy = apr_pmemdup(cors_hta.pool, buf, n + 1);
        for (i = 0; i <= e->exact.mask; i++) {
            if (e->exact.slots[i].key) {
                e->exact.slots[i].key = copy + (e->exact.slots[i].key - buf);
            }
        }
        cors_hta.bytes += 2 * n + size;
        *v = e;
    }
    cors_hta_unlock();
}

/*
 * CorsAllowOrigin (deny: CorsDenyOrigin), its whole line args: each word
 * a value, the first error ends the line, as httpd's ITERATE would.
 */
static const char *cors_origin_words(cmd_parms *cmd, cors_dir_conf *c,
                                     const char *args, int deny)
{
    const cors_hta_line *e;
    char *buf, *line;
    const char *word, *err = NULL;
    apr_size_t n = 0;
    /* a line of .htaccess (cors_hta) that may be kept */
    int keep = !deny && !c->origins && !(c->deny && c->deny->rules)
               && cors_hta.pool
               && ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_RUN_MPM;

    if (keep && (e = cors_hta_get(args, n = strlen(args)))) {
        c->origins = cors_origins_make(cmd->pool);
        c->origins->exact = e->exact;
        c->origins->exact.slots = apr_pmemdup(cmd->pool, e->exact.slots,
                                              ((apr_size_t)e->exact.mask + 1)
                                              * sizeof(cors_strset_entry));
        c->origins->rules = e->rules;
        return NULL;
    }
    line = buf = apr_pstrdup(cmd->pool, args);
    word = cors_next_word(cmd->pool, &line);
    if (!*word) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, " requires at least "
                           "one argument, ", cmd->cmd->errmsg, NULL);
    }
    if (!deny) {
        if (!c->origins) {
            c->origins = cors_origins_make(cmd->pool);
        }
        cors_origin_line_reserve(cmd, c, args);
    }
    do {
        /* an origin, allowed where nothing is denied: nothing to check
         * but the origin (cors_origin_value() for all the rest) */
        if (!deny && !(c->deny && c->deny->rules)
            && cors_add_serialised(cmd, c->origins, word, 1)) {
            /* a quoted word is a copy of its own */
            keep &= (apr_uintptr_t)word - (apr_uintptr_t)buf < n;
        }
        else {
            keep = 0;
            err = cors_origin_value(cmd, c, word, deny, NULL);
        }
    } while (!err && *(word = cors_next_word(cmd->pool, &line)));
    if (keep && !err) {
        cors_hta_put(args, n, buf, c->origins);
    }
    return cors_directive_error(cmd, err);
}

static const char *cors_cmd_origin(cmd_parms *cmd, void *dconf,
                                   const char *args)
{
    return cors_origin_words(cmd, dconf, args, 0);
}

/*
 * CorsDenyOrigin: origins and patterns that are never allowed, in the
 * forms CorsAllowOrigin takes, into a list of their own; none starts an
 * empty list and drops the inherited ones (deny_cleared).
 */
static const char *cors_cmd_deny(cmd_parms *cmd, void *dconf,
                                 const char *args)
{
    return cors_origin_words(cmd, dconf, args, 1);
}

/* Read all of a file into memory (NUL-terminated; *len bytes before it). */
static const char *cors_read_file(cmd_parms *cmd, const char *path,
                                  char **buf, apr_size_t *len)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_status_t rv;
    char errbuf[120];

    rv = apr_file_open(&f, path, APR_READ, APR_OS_DEFAULT, cmd->temp_pool);
    if (rv == APR_SUCCESS) {
        rv = apr_file_info_get(&fi, APR_FINFO_TYPE | APR_FINFO_SIZE, f);
        if (rv == APR_SUCCESS && fi.filetype != APR_REG) {
            apr_file_close(f);
            return apr_psprintf(cmd->pool, "%s: '%s' is not a regular file",
                                cmd->cmd->name, path);
        }
    }
    if (rv == APR_SUCCESS) {
        *buf = apr_palloc(cmd->temp_pool, (apr_size_t)fi.size + 1);
        rv = apr_file_read_full(f, *buf, (apr_size_t)fi.size, len);
        if (rv == APR_EOF) {
            rv = APR_SUCCESS;       /* it shrank while we read it */
        }
        (*buf)[*len] = '\0';
        apr_file_close(f);
    }
    if (rv != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: cannot open '%s': %s",
                            cmd->cmd->name, path,
                            apr_strerror(rv, errbuf, sizeof(errbuf)));
    }
    return NULL;
}

/*
 * The error, if any, of one line of an origin file (without its newline,
 * surrounding blanks removed): one origin or pattern as CorsAllowOrigin
 * takes them, the same after '!' for CorsDenyOrigin, or nothing, or a '#'
 * comment.
 */
static const char *cors_origin_line(cmd_parms *cmd, void *dconf,
                                    const char *line, apr_size_t len,
                                    const char *where)
{
    char *copy;

    if (memchr(line, '\0', len)) {
        return "a NUL byte (is the file saved as UTF-16? save it as ASCII "
               "or UTF-8)";
    }
    if (len > MAX_STRING_LEN) {
        return apr_psprintf(cmd->temp_pool, "the line is longer than %d "
                            "bytes", MAX_STRING_LEN);
    }
    if (len == 0 || line[0] == '#') {
        return NULL;
    }
    copy = apr_pstrmemdup(cmd->temp_pool, line, len);
    if (strchr(copy, ',')) {
        return apr_psprintf(cmd->temp_pool, "'%s': write one origin per "
                            "line, without commas", copy);
    }
    if (!strcmp(copy, "!")) {
        return "'!' alone names no origin: write the origin to deny after "
               "it, e.g. !https://www.example.com";
    }
    if (copy[strcspn(copy, " \t")]) {
        return "one origin per line (a '#' comment takes a line of its own)";
    }
    if (!strcasecmp(copy, "none")) {
        return "'none' is not allowed in a file: use CorsAllowOrigin none";
    }
    if (!strcasecmp(copy, "!none")) {
        return "'!none' is not allowed in a file: use CorsDenyOrigin none";
    }
    /* "!origin": a CorsDenyOrigin entry */
    return cors_origin_value(cmd, dconf, copy + (copy[0] == '!'),
                             copy[0] == '!', where);
}

/*
 * Size the section's exact-origin set once for the lines of an origin file
 * that may allow one (not blank, not '#', not '!'; a pattern among them
 * makes it an overestimate by a slot).  A file of '!' lines only sets no
 * CorsAllowOrigin list.
 */
static void cors_origin_file_reserve(cmd_parms *cmd, cors_dir_conf *c,
                                     const char *p, const char *end)
{
    apr_size_t lines = 0;

    while (p < end) {
        const char *nl = memchr(p, '\n', end - p), *e = nl ? nl : end;

        while (p < e && apr_isspace(*p)) {
            p++;
        }
        lines += p < e && *p != '#' && *p != '!';
        p = e + (e < end);
    }
    if (!lines) {
        return;
    }
    if (!c->origins) {
        c->origins = cors_origins_make(cmd->pool);
    }
    cors_strset_reserve(cmd->pool, &c->origins->exact, lines, 0);
}

/*
 * CorsAllowOriginFile: one origin or pattern per line (as CorsAllowOrigin
 * takes them), blank lines and '#' comments ignored, a UTF-8 byte-order
 * mark skipped; added to the section's CorsAllowOrigin list ("!origin"
 * lines to its CorsDenyOrigin list).  Errors name
 * the file and the line.  Read with the rest of the configuration, so a
 * graceful restart reloads it.
 */
static const char *cors_cmd_origin_file(cmd_parms *cmd, void *dconf,
                                        const char *arg)
{
    const char *path = ap_server_root_relative(cmd->temp_pool, arg);
    const char *err = NULL;
    char *buf, *p, *end, *where;
    apr_pool_t *temp_pool = cmd->temp_pool, *line_pool;
    apr_size_t len, path_len;
    unsigned int n;

    if (!path) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a valid path",
                            cmd->cmd->name, arg);
    }
    if ((err = cors_read_file(cmd, path, &buf, &len))) {
        return err;
    }
    p = buf;
    end = buf + len;
    if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) {
        p += 3;
    }
    cors_origin_file_reserve(cmd, dconf, p, end);
    /* "file:line" for the warnings a line may give: the file once, the
     * number per line (a format per line cost a third of the reading) */
    path_len = strlen(path);
    where = apr_palloc(temp_pool, path_len + 1 + sizeof("4294967295"));
    memcpy(where, path, path_len);
    where[path_len] = ':';
    /* What a line needs while it is parsed goes with the line: a million
     * lines would otherwise keep a hundred bytes each in temp_pool. */
    apr_pool_create(&line_pool, temp_pool);
    cmd->temp_pool = line_pool;
    for (n = 1; p < end; n++) {
        char *nl = memchr(p, '\n', end - p), *e = nl ? nl : end;

        while (p < e && apr_isspace(*p)) {
            p++;
        }
        while (e > p && apr_isspace(e[-1])) {
            e--;
        }
        strcpy(where + path_len + 1, apr_ltoa(cmd->temp_pool, (long)n));
        if ((err = cors_origin_line(cmd, dconf, p, e - p, where))) {
            err = apr_psprintf(cmd->pool, "%s: %s line %u: %s",
                               cmd->cmd->name, path, n, err);
            break;
        }
        apr_pool_clear(line_pool);
        p = nl ? nl + 1 : end;
    }
    cmd->temp_pool = temp_pool;
    apr_pool_destroy(line_pool);
    return err;
}

/*
 * The commonest mistake in an origin expression: an unescaped '.' between
 * two host labels, which matches any byte ("https://app.example.com" also
 * matches "https://app-example.com").  Returns where it is, or NULL.
 */
static const char *cors_unescaped_dot(const char *re)
{
    const char *q;
    int in_class = 0;

    for (q = re; *q; q++) {
        if (*q == '\\') {
            if (!*++q) {
                break;
            }
        }
        else if (in_class) {
            in_class = *q != ']';
        }
        else if (*q == '[') {
            in_class = 1;
            if (q[1] == ']' || (q[1] == '^' && q[2] == ']')) {
                q += q[1] == '^' ? 2 : 1;  /* "[]...]": ']' is a member */
            }
        }
        else if (*q == '.' && q > re && apr_isalnum(q[-1])
                 && apr_isalnum(q[1])) {
            return q;
        }
    }
    return NULL;
}

static const char *cors_cmd_origin_match(cmd_parms *cmd, void *dconf,
                                         const char *arg)
{
    cors_dir_conf *c = dconf;
    cors_regex *x;
    ap_regex_t *re;
    const char *dot;
    int i;

    /* It must be a complete expression on its own, so that the anchors
     * around it stay anchors: "a)|(b" would make "^(?:a)|(b)$". */
    if (!ap_pregcomp(cmd->temp_pool, arg, AP_REG_NOSUB)) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a valid regular "
                            "expression", cmd->cmd->name, arg);
    }
    re = ap_pregcomp(cmd->pool, apr_pstrcat(cmd->pool, "^(?:", arg, ")$",
                                            NULL), 0);
    if (!re) {
        return apr_psprintf(cmd->pool, "%s: '%s' does not stay a complete "
                            "expression inside ^(?: ... )$ (an unterminated "
                            "quote or a (?x) comment?): rewrite it",
                            cmd->cmd->name, arg);
    }
    if (cors_config_warns() && (dot = cors_unescaped_dot(arg))) {
        cors_config_warning(cmd, NULL, "CORS0003: %s: '%s': the '.' after "
                            "'%.*s' matches any character, not only a dot: "
                            "write [.] or put a backslash before it",
                            cmd->cmd->name, arg, (int)(dot - arg), arg);
    }
    if (!c->regexes) {
        c->regexes = apr_array_make(cmd->pool, 2, sizeof(cors_regex));
    }
    x = apr_array_push(c->regexes);
    x->re = re;
    x->src = apr_pstrdup(cmd->pool, arg);
    x->any = 0;
    for (i = 0; cors_probe_origins[i]; i++) {
        if (cors_regex_match(x, cors_probe_origins[i],
                             strlen(cors_probe_origins[i]))) {
            x->any = 1;
        }
    }
    cors_count(&cors_count_patterns);
    return cors_check_section(cmd, c);
}

/*
 * Build a token list from the directive's arguments.  Header names are
 * stored lowercased for lookup (lower != 0), methods as given.
 */
static const char *cors_cmd_tokens(cmd_parms *cmd, cors_tokens **slot,
                                   int argc, char *const argv[], int lower,
                                   int methods)
{
    cors_tokens *t = *slot;
    const char *norm;
    int i;

    if (argc < 1) {
        return apr_psprintf(cmd->pool, "%s needs at least one argument",
                            cmd->cmd->name);
    }
    /* A slot that is set belongs to this section (sections start empty):
     * several lines in one section add up. */
    if (!t) {
        t = apr_pcalloc(cmd->pool, sizeof(*t));
    }
    for (i = 0; i < argc; i++) {
        const char *a = argv[i];

        if (!strcmp(a, "*")) {
            if (!t->any) {
                t->joined = t->joined ? apr_pstrcat(cmd->pool, t->joined,
                                                    ", *", NULL) : "*";
            }
            t->any = 1;
            continue;
        }
        if (!cors_is_token(a)) {
            return apr_psprintf(cmd->pool, "%s: '%s' is not a valid %s "
                                "(an HTTP token: letters, digits and "
                                "!#$%%&'*+-.^_`|~, no commas or spaces)",
                                cmd->cmd->name, a,
                                methods ? "method name" : "header name");
        }
        if (methods && cors_forbidden_method(a)) {
            return apr_psprintf(cmd->pool, "%s: '%s' can never be allowed "
                                "cross-origin (the Fetch standard forbids "
                                "it): remove it", cmd->cmd->name, a);
        }
        if (methods && (norm = cors_normalised_method(a))
            && strcmp(a, norm)) {
            return apr_psprintf(cmd->pool, "%s: '%s' never matches: "
                                "browsers send %s", cmd->cmd->name, a, norm);
        }
        {
            char *k = apr_pstrdup(cmd->pool, a);
            int added;

            if (lower) {
                ap_str_tolower(k);
            }
            cors_strset_add(cmd->pool, &t->set, k, &added);
            if (!added) {
                continue;               /* listed twice */
            }
        }
        t->joined = t->joined ? apr_pstrcat(cmd->pool, t->joined, ", ", a,
                                            NULL) : a;
        t->joined_named = t->joined_named
                          ? apr_pstrcat(cmd->pool, t->joined_named, ", ", a,
                                        NULL) : a;
    }
    *slot = t;
    return NULL;
}

static const char *cors_cmd_methods(cmd_parms *cmd, void *dconf, int argc,
                                    char *const argv[])
{
    cors_dir_conf *c = dconf;

    return cors_cmd_tokens(cmd, &c->methods, argc, argv, 0, 1);
}

static const char *cors_cmd_headers(cmd_parms *cmd, void *dconf, int argc,
                                    char *const argv[])
{
    cors_dir_conf *c = dconf;

    return cors_cmd_tokens(cmd, &c->headers, argc, argv, 1, 0);
}

static const char *cors_cmd_expose(cmd_parms *cmd, void *dconf, int argc,
                                   char *const argv[])
{
    cors_dir_conf *c = dconf;
    const char *err = cors_cmd_tokens(cmd, &c->expose, argc, argv, 1, 0);

    return err ? err : cors_check_section(cmd, c);
}

/* CorsAllowCredentials, CorsAllowPrivateNetwork, CorsTimingAllowOrigin,
 * CorsDebug: On or Off, into the field of cors_dir_conf at the offset
 * cmd->info. */
static const char *cors_cmd_flag(cmd_parms *cmd, void *dconf, const char *arg)
{
    cors_dir_conf *c = dconf;
    cors_flag *field = (cors_flag *)((char *)c + (apr_uintptr_t)cmd->info);

    /* (not AP_INIT_FLAG: httpd's "must be On or Off" does not quote the
     * value; README "Configuration errors") */
    if (strcasecmp(arg, "on") && strcasecmp(arg, "off")) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not valid: use On or Off",
                            cmd->cmd->name, arg);
    }
    *field = !strcasecmp(arg, "on") ? CORS_FLAG_ON : CORS_FLAG_OFF;
    return cors_check_section(cmd, c);
}

/* CorsEngine, CorsCrossOriginProtection: On, Off or ReportOnly, into the
 * field of cors_dir_conf at the offset cmd->info. */
static const char *cors_cmd_engine(cmd_parms *cmd, void *dconf,
                                   const char *arg)
{
    cors_flag *field = (cors_flag *)((char *)dconf
                                     + (apr_uintptr_t)cmd->info);

    if (!strcasecmp(arg, "reportonly")) {
        *field = CORS_FLAG_REPORT_ONLY;
    }
    else if (!strcasecmp(arg, "on") || !strcasecmp(arg, "off")) {
        *field = !strcasecmp(arg, "on") ? CORS_FLAG_ON : CORS_FLAG_OFF;
    }
    else {
        return apr_psprintf(cmd->pool, "%s: '%s' is not valid: use On, Off "
                            "or ReportOnly", cmd->cmd->name, arg);
    }
    return NULL;
}

static const char *cors_cmd_max_age(cmd_parms *cmd, void *dconf,
                                    const char *arg)
{
    cors_dir_conf *c = dconf;
    long v;

    if (!cors_parse_number(arg, CORS_MAX_AGE_LIMIT, &v)) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not valid: give a whole "
                            "number of seconds from 0 to %d", cmd->cmd->name,
                            arg, CORS_MAX_AGE_LIMIT);
    }
    c->max_age = (int)v;
    c->max_age_str = apr_ltoa(cmd->pool, v);
    return NULL;
}

static const char *cors_cmd_preflight_status(cmd_parms *cmd, void *dconf,
                                             const char *arg)
{
    cors_dir_conf *c = dconf;

    if (!strcmp(arg, "204")) {
        c->preflight_status = 204;
    }
    else if (!strcmp(arg, "200")) {
        c->preflight_status = 200;
    }
    else {
        return apr_psprintf(cmd->pool, "%s: '%s' is not valid: use 204 or "
                            "200", cmd->cmd->name, arg);
    }
    return NULL;
}

/* Defined in the section "Origins from a database" below. */
static const char *cors_cmd_dbd_query(cmd_parms *cmd, void *dconf,
                                      const char *arg);
static const char *cors_cmd_dbd_cache(cmd_parms *cmd, void *dconf,
                                      const char *spec, const char *secs);

#define CORS_FIELD(f) ((void *)APR_OFFSETOF(cors_dir_conf, f))

static const command_rec cors_cmds[] = {
    AP_INIT_RAW_ARGS("CorsAllowOrigin", cors_cmd_origin, NULL, OR_FILEINFO,
                     "origins allowed to read responses: "
                     "scheme://host[:port], scheme://*.domain[:port], "
                     "scheme://host:*, *, null, or none to clear inherited "
                     "origins"),
    AP_INIT_TAKE1("CorsAllowOriginFile", cors_cmd_origin_file, NULL,
                  RSRC_CONF | ACCESS_CONF, "a file of allowed origins and "
                  "patterns, one per line, '#' comments (not in .htaccess)"),
    AP_INIT_TAKE1("CorsAllowOriginMatch", cors_cmd_origin_match, NULL,
                  OR_FILEINFO, "a regular expression that must match the "
                  "whole origin"),
    AP_INIT_TAKE_ARGV("CorsAllowMethods", cors_cmd_methods, NULL, OR_FILEINFO,
                      "methods a preflight may ask for (case-sensitive "
                      "tokens), or *; GET, HEAD and POST always pass"),
    AP_INIT_TAKE_ARGV("CorsAllowHeaders", cors_cmd_headers, NULL, OR_FILEINFO,
                      "request header names a preflight may ask for, or * "
                      "(which never covers Authorization)"),
    AP_INIT_TAKE_ARGV("CorsExposeHeaders", cors_cmd_expose, NULL, OR_FILEINFO,
                      "response header names scripts may read, or *"),
    AP_INIT_TAKE1("CorsAllowCredentials", cors_cmd_flag,
                  CORS_FIELD(credentials), OR_FILEINFO, "On to allow cookies "
                  "and HTTP authentication (Off by default)"),
    AP_INIT_TAKE1("CorsMaxAge", cors_cmd_max_age, NULL, OR_FILEINFO,
                  "seconds (0 to 86400) a browser may cache a preflight "
                  "answer"),
    AP_INIT_TAKE1("CorsAllowPrivateNetwork", cors_cmd_flag, CORS_FIELD(pna),
                  OR_FILEINFO, "On to answer Private Network Access "
                  "preflights (Off by default)"),
    AP_INIT_TAKE1("CorsPreflightStatus", cors_cmd_preflight_status, NULL,
                  OR_FILEINFO, "status of a successful preflight answer: 204 "
                  "(default) or 200"),
    AP_INIT_TAKE1("CorsEngine", cors_cmd_engine, CORS_FIELD(engine),
                  OR_FILEINFO,
                  "Off to disable CORS handling in this part of the tree, "
                  "ReportOnly to decide and report without changing "
                  "responses"),
    AP_INIT_RAW_ARGS("CorsDenyOrigin", cors_cmd_deny, NULL, OR_FILEINFO,
                     "origins never allowed, whatever a pattern, an "
                     "expression or * says: scheme://host[:port], "
                     "scheme://*.domain[:port], scheme://host:*, null, or "
                     "none to clear inherited ones"),
    AP_INIT_TAKE1("CorsTimingAllowOrigin", cors_cmd_flag, CORS_FIELD(timing),
                  OR_FILEINFO, "On to send allowed origins Timing-Allow-Origin "
                  "as well (Off by default)"),
    AP_INIT_TAKE1("CorsDebug", cors_cmd_flag, CORS_FIELD(debug), OR_FILEINFO,
                  "On to answer preflights refused for their method or a "
                  "header so that the browser names the cause (Off by "
                  "default)"),
    AP_INIT_TAKE1("CorsCrossOriginProtection", cors_cmd_engine,
                  CORS_FIELD(protect), OR_FILEINFO, "On to refuse "
                  "cross-origin writes (methods other than GET, HEAD and "
                  "OPTIONS) from origins the policy does not trust, "
                  "ReportOnly to decide and report without refusing (Off "
                  "by default)"),
    /* Origins from a database */
    AP_INIT_TAKE1("CorsAllowOriginDBDQuery", cors_cmd_dbd_query, NULL,
                  RSRC_CONF | ACCESS_CONF, "an SQL statement with one %s, "
                  "asked through mod_dbd about origins no static rule allows;"
                  " a row means allowed (not in .htaccess)"),
    AP_INIT_TAKE12("CorsAllowOriginDBDCache", cors_cmd_dbd_cache, NULL,
                   RSRC_CONF, "a socache provider[:args] (shmcb, "
                   "memcache:host:port, redis:host:port, ...) and the seconds "
                   "the database's answers are kept (default 60)"),
    {NULL}
};

/*
 * +----------------------------------------------------------------------+
 * |                                                                      |
 * |  The decision                                                        |
 * |                                                                      |
 * +----------------------------------------------------------------------+
 */

/* cors_conf() after an internal redirect: the chain from its first
 * request; *off: a request of it says CorsEngine Off. */
static const cors_dir_conf *cors_conf_chain(request_rec *r, int *off)
{
    const cors_dir_conf *c;

    if (r->prev && ((c = cors_conf_chain(r->prev, off)) || *off)) {
        return c;
    }
    c = ap_get_module_config(r->per_dir_config, &cors_module);
    *off = cors_off(c->engine);
    return !*off && cors_in_scope(c) ? c : NULL;
}

/*
 * The configuration that governs r, or NULL when r is not in CORS scope.
 * After internal redirects (ErrorDocument, FallbackResource, [PT]) the
 * first request of the chain that is in scope decides, which is the
 * configuration the browser's preflight was answered with, unless one
 * before it says CorsEngine Off.
 */
static const cors_dir_conf *cors_conf(request_rec *r)
{
    const cors_dir_conf *c;
    int off = 0;

    if (r->prev) {
        return cors_conf_chain(r, &off);
    }
    /* the usual case: no internal redirect */
    c = ap_get_module_config(r->per_dir_config, &cors_module);
    return cors_in_scope(c) ? c : NULL;
}

/* Origin (unless the caller read it: have_origin), and for a preflight
 * (OPTIONS with Origin and Access-Control-Request-Method) the other
 * Access-Control-Request-* fields the answer needs.  q starts zeroed. */
static void cors_read_request(const request_rec *r, const cors_dir_conf *c,
                              cors_req *q, int have_origin)
{
    if (!have_origin) {
        q->origin = apr_table_get(r->headers_in, "Origin");
    }
    if (r->method_number != M_OPTIONS || !q->origin) {
        return;     /* an actual request */
    }
    q->method = apr_table_get(r->headers_in, "Access-Control-Request-Method");
    if (q->method) {
        q->headers = apr_table_get(r->headers_in,
                                   "Access-Control-Request-Headers");
        /* read only where CorsAllowPrivateNetwork On answers it */
        q->pna = cors_on(c->pna) ? apr_table_get(r->headers_in,
                               "Access-Control-Request-Private-Network")
                             : NULL;
    }
}

/* Defined in the section "Origins from a database" below. */
static cors_outcome cors_dbd_outcome(const cors_decision *d);
static const char *cors_dbd_reason(cors_db_answer answer);

/* The debug line of a decision (origin and method from the request). */
static void cors_log_decision(request_rec *r, const cors_decision *d,
                              const char *origin, const char *method)
{
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "%s: %s%s%s%s%s%s%s (%s%s%s%s)",
                  cors_outcomes[cors_dbd_outcome(d)].tag,
                  method ? "preflight for " : "",
                  method ? cors_logitem(r->pool, method) : "",
                  method ? " from " : "",
                  origin ? "origin '" : "no Origin header",
                  origin ? cors_logitem(r->pool, origin) : "",
                  origin ? "'" : "", cors_outcomes[d->outcome].verdict,
                  d->reason, d->bad ? ": '" : "",
                  d->bad ? cors_logitem(r->pool, d->bad) : "",
                  d->bad ? "'" : "");
}

/*
 * The origin part of a decision, shared by actual requests and preflights:
 * outcome (CORS_ALLOWED, CORS_DENIED_ORIGIN or CORS_NO_ORIGIN), reason,
 * Access-Control-Allow-Origin and -Credentials, and whether Vary needs
 * Origin.  The refused combinations that merging made fail safe here.
 */
static void cors_decide_origin(request_rec *r, const cors_dir_conf *c,
                               cors_req *q, cors_decision *d)
{
    const char *origin = q->origin;
    int any = c->origins && c->origins->any;
    int unsafe, denied;
    const char *how;

    d->report = c->engine == CORS_FLAG_REPORT_ONLY;
    if (c->denies && (denied = cors_denied(c, origin)) >= 0) {
        /* before every allow rule, an exact origin and '*' included; the
         * answer depends on Origin now, whatever the rest says */
        d->vary = "Origin";
        if (denied) {
            d->outcome = CORS_DENIED_ORIGIN;
            d->reason = "denied by CorsDenyOrigin";
            return;
        }
    }
    if (any && !cors_credentials(c)) {
        /* the answer does not depend on Origin (unless a deny list made
         * Vary: Origin above): no Vary needed */
        d->outcome = origin ? CORS_ALLOWED : CORS_NO_ORIGIN;
        d->reason = "CorsAllowOrigin *";
        d->acao = "*";
        return;
    }
    d->vary = "Origin";
    if (!origin) {
        d->outcome = CORS_NO_ORIGIN;
        d->reason = "only Vary: Origin";
        return;
    }
    how = cors_match_once(r, c, q, &unsafe);
    d->db = q->db;      /* Origins from a database */
    d->credentials = cors_credentials(c);
    if (how && d->credentials && unsafe == CORS_UNSAFE_REGEX_CREDENTIALS) {
        /* never reflect what an any-origin expression matched with
         * credentials: '*' without them */
        cors_fail_safe(r, c, CORS_UNSAFE_REGEX_CREDENTIALS);
        how = NULL;
        any = 1;
    }
    else if (how && d->credentials
             && unsafe == CORS_UNSAFE_HTTP_SUB_CREDENTIALS) {
        /* a plain-http subdomain: allowed, but never with credentials */
        cors_fail_safe(r, c, CORS_UNSAFE_HTTP_SUB_CREDENTIALS);
        d->credentials = 0;
        how = "plain-http subdomain pattern, without credentials";
    }
    else if (how && d->credentials
             && unsafe == CORS_UNSAFE_PSL_SUB_CREDENTIALS) {
        /* anyone's site under a public suffix: never with credentials */
        cors_fail_safe(r, c, CORS_UNSAFE_PSL_SUB_CREDENTIALS);
        d->credentials = 0;
        how = "subdomain pattern on a public suffix, without credentials";
    }
    else if (!how && any) {
        /* '*' with credentials came from merging sections */
        cors_fail_safe(r, c, CORS_UNSAFE_ANY_CREDENTIALS);
    }
    if (how) {
        d->outcome = CORS_ALLOWED;
        d->reason = how;
        d->acao = origin;
        return;
    }
    d->credentials = 0;
    if (any) {
        d->outcome = CORS_ALLOWED;
        d->reason = "'*' without credentials";
        d->acao = "*";
        return;
    }
    d->outcome = CORS_DENIED_ORIGIN;
    d->reason = d->db ? cors_dbd_reason(d->db)     /* from a database */
                : APLOGrdebug(r) ? cors_why_not(c, origin) : "";
}

/* The exposed-headers value, failing safe on a merged '*' + credentials. */
static const char *cors_expose_value(request_rec *r, const cors_dir_conf *c,
                                     int credentials)
{
    if (!c->expose) {
        return NULL;
    }
    if (c->expose->any && credentials) {
        cors_fail_safe(r, c, CORS_UNSAFE_EXPOSE_CREDENTIALS);
        return c->expose->joined_named;
    }
    return c->expose->joined;
}

/*
 * Count a decision in the virtual host's row of the shared counters: one
 * atomic increment, no lock.  A request that an internal redirect made
 * (ErrorDocument, FallbackResource, [PT]) is decided again, but was
 * counted when a request before it in the chain was decided.
 */
static APR_INLINE void cors_count_outcome(const request_rec *r,
                                          cors_outcome outcome)
{
#ifndef CORS_NO_COUNTERS
    const cors_srv_conf *sc = ap_get_module_config(r->server->module_config,
                                                   &cors_module);
    const request_rec *p;

    for (p = r->prev; p; p = p->prev) {
        if (ap_get_module_config(p->request_config, &cors_module)) {
            return;
        }
    }
    if (sc->counts) {
        apr_atomic_inc64(&sc->counts[outcome]);
    }
#else
    (void)r;
    (void)outcome;
#endif
}

/*
 * Keep a decision with the request for the output filter and publish it:
 * the counters, CORS_RESULT for the access log, mod_headers and
 * mod_rewrite, and the debug line.  (The module's version is in its
 * start-up line and on the metrics page, not in every request's notes.)
 * A write that the cross-origin write check refuses (or would refuse) is
 * what CORS_RESULT and the counters name; its debug line is the check's
 * own (cors_check_write()).
 */
static void cors_publish(request_rec *r, const cors_decision *d,
                         const cors_req *q)
{
    /* (no call for a decision the database had no part in) */
    cors_outcome shown = d->write ? d->write
                         : d->db != CORS_DB_NONE ? cors_dbd_outcome(d)
                         : d->outcome;

    ap_set_module_config(r->request_config, &cors_module, (void *)d);
    cors_count_outcome(r, shown);
    apr_table_setn(r->subprocess_env, "CORS_RESULT",
                   cors_outcomes[shown].result);
    if (APLOGrdebug(r) && !d->write_only) {
        cors_log_decision(r, d, q->origin, d->outcome >= CORS_PREFLIGHT_OK
                                           ? q->method : NULL);
    }
}

/* Decide for an actual request in CORS scope under c; write: a refusal
 * of the cross-origin write check (cors_check_write()), or 0, and
 * refused: the request ends in a 403 for it. */
static cors_decision *cors_decide(request_rec *r, const cors_dir_conf *c,
                                  cors_req *q, cors_outcome write,
                                  int refused)
{
    cors_decision *d = apr_pcalloc(r->pool, sizeof(*d));

    d->write = write;
    d->write_refused = refused;
    cors_decide_origin(r, c, q, d);
    if (d->acao) {
        d->expose = cors_expose_value(r, c, d->credentials);
    }
    d->timing = cors_on(c->timing);
    cors_publish(r, d, q);
    return d;
}

/* GET, HEAD and POST: browsers never ask about them (the Fetch
 * standard's CORS-safelisted methods). */
static int cors_safelisted_method(const char *m, apr_size_t n)
{
    return (n == 3 && !memcmp(m, "GET", 3))
           || (n == 4 && (!memcmp(m, "HEAD", 4) || !memcmp(m, "POST", 4)));
}

static int cors_is_star(const char *s)
{
    return s[0] == '*' && s[1] == '\0';
}

/* Check the requested method; returns NULL if allowed, else the reason. */
static const char *cors_check_method(const cors_dir_conf *c, const char *m,
                                     int *malformed)
{
    /* the token's end is the value's end: its length without a strlen */
    apr_size_t n = ap_scan_http_token(m) - m;

    *malformed = 0;
    if (n == 0 || m[n]) {
        *malformed = 1;
        return "Access-Control-Request-Method is not a method token";
    }
    if (cors_safelisted_method(m, n)) {
        return NULL;
    }
    /* A listed method cannot be a forbidden one: those are refused in the
     * configuration. */
    if (c->methods && cors_strset_get(&c->methods->set, m, n)) {
        return NULL;
    }
    if (cors_forbidden_method(m)) {
        return "the method is never allowed cross-origin";
    }
    /* '*' covers every method but one named "*", which an answer would
     * echo as the wildcard */
    if (c->methods && c->methods->any && !cors_is_star(m)) {
        return NULL;
    }
    return "the method is not in CorsAllowMethods";
}

/* Does the policy allow a request header name (lowercased)?  '*' never
 * covers Authorization, nor a name "*", which an answer would echo as the
 * wildcard. */
static APR_INLINE int cors_header_allowed(const cors_dir_conf *c,
                                          const char *name, apr_size_t len)
{
    return c->headers
           && (cors_strset_get(&c->headers->set, name, len)
               || (c->headers->any
                   && !(len == 13 && !memcmp(name, "authorization", 13))
                   && !(len == 1 && name[0] == '*')));
}

/*
 * Check Access-Control-Request-Headers (httpd has already joined repeated
 * lines with ", ").  Every name must be allowed.  On success *out is the
 * list of requested names, lowercased, for Access-Control-Allow-Headers
 * (NULL when none were requested).  One pass over the value: each name is
 * checked, lowercased and copied to the answer as it is read.  The items
 * are those cors_list_next() finds; that splitter and a second pass cost
 * the preflight 45 to 115 instructions (docs/performance.md, "The list
 * splitters").
 */
static const char *cors_check_headers(request_rec *r, const cors_dir_conf *c,
                                      const char *value, const char **out,
                                      int *malformed, const char **bad)
{
    const char *s = value;
    char *o, *w;

    *out = NULL;
    *malformed = 0;
    if (!value) {
        return NULL;
    }
    /* ", " between names where the value may have had a single comma */
    o = w = apr_palloc(r->pool, 2 * strlen(value) + 1);
    for (;;) {
        const char *item, *t;
        char *name;
        apr_size_t len;

        while (*s == ',' || cors_is_ows(*s)) {
            s++;
        }
        if (!*s) {
            break;
        }
        item = s;
        if (w != o) {
            *w++ = ',';
            *w++ = ' ';
        }
        name = w;
        while (cors_is_tchar(*s)) {
            *w++ = (char)cors_lower[(unsigned char)*s++];
        }
        len = w - name;
        for (t = s; cors_is_ows(*t); t++) {
        }
        if (len == 0 || (*t != ',' && *t != '\0')) {
            /* the whole item, as sent, for the log */
            s = item;
            t = cors_list_next(&s, &len);
            *malformed = 1;
            *bad = apr_pstrmemdup(r->pool, t, len);
            return "Access-Control-Request-Headers is not a list of "
                   "header names";
        }
        s = t;
        if (!cors_header_allowed(c, name, len)) {
            *bad = apr_pstrmemdup(r->pool, name, len);
            if (!c->headers || !c->headers->any) {
                return "the header is not in CorsAllowHeaders";
            }
            return len == 1 ? "'*' covers no header named '*'"
                            : "Authorization must be listed by name";
        }
    }
    *w = '\0';
    if (w != o) {
        *out = o;
    }
    return NULL;
}

/* CorsDebug: the methods the policy allows, for a preflight refused for
 * its method: GET, HEAD and POST, then the other listed methods (never
 * '*', and so never the refused method). */
static const char *cors_debug_methods(apr_pool_t *p, const cors_dir_conf *c)
{
    const char *list = "GET, HEAD, POST", *s, *m;
    apr_size_t n;

    s = c->methods ? c->methods->joined_named : NULL;
    while (s && (m = cors_list_next(&s, &n))) {
        if (!cors_safelisted_method(m, n)) {
            list = apr_pstrcat(p, list, ", ", apr_pstrmemdup(p, m, n), NULL);
        }
    }
    return list;
}

/*
 * CorsDebug: the header names the policy allows, for a refused preflight:
 * those listed by name, as configured, then the requested names that '*'
 * allows (never '*', never a refused name); NULL when there are none.
 * Returns 0 when a requested element is not a header name: a malformed
 * request gets no such answer.
 */
static int cors_debug_headers(request_rec *r, const cors_dir_conf *c,
                              const char *value, const char **out)
{
    apr_array_header_t *names = apr_array_make(r->pool, 8, sizeof(char *));
    const char *s = value;
    char *name;

    if (c->headers && c->headers->joined_named) {
        APR_ARRAY_PUSH(names, const char *) = c->headers->joined_named;
    }
    while ((name = cors_list_next_lower(r->pool, &s))) {
        apr_size_t len = strlen(name);

        if (!cors_is_token(name)) {
            return 0;
        }
        if (cors_header_allowed(c, name, len)
            && !cors_strset_get(&c->headers->set, name, len)) {
            if (names->nelts) {
                APR_ARRAY_PUSH(names, const char *) = ", ";
            }
            APR_ARRAY_PUSH(names, const char *) = name;
        }
    }
    *out = names->nelts ? apr_array_pstrcat(r->pool, names, '\0') : NULL;
    return 1;
}

/*
 * CorsDebug On: a preflight from an allowed origin refused for its method
 * or a header is answered with the success status, Allow-Origin (and
 * -Credentials) and what the policy allows, so that the browser refuses it
 * itself and names the cause (README "Preflights").  For a refused header
 * the requested method, being allowed, is the one in Allow-Methods.  No
 * Max-Age: the browser must ask again once the policy is fixed.  Returns 0
 * (a 403 as usual) for a malformed header list.  A method or header named
 * "*" is never allowed (cors_check_method(), cors_header_allowed()), so
 * neither list holds a '*'.
 */
static int cors_debug_answer(request_rec *r, const cors_dir_conf *c,
                             const cors_req *q, cors_decision *d)
{
    const char *headers;

    if (!cors_debug_headers(r, c, q->headers, &headers)) {
        return 0;
    }
    d->debug = 1;
    if (APLOGrdebug(r)) {
        d->reason = apr_pstrcat(r->pool, "answered under CorsDebug On: ",
                                d->reason, NULL);
    }
    d->allow_methods = d->outcome == CORS_PREFLIGHT_DENIED_METHOD
                       ? cors_debug_methods(r->pool, c) : q->method;
    d->allow_headers = headers;
    return 1;
}

/*
 * Decide the answer to a preflight (README "What the module sends"): on
 * success the lines of d, else a 403 with Vary alone.  Origin, method and
 * headers are checked in that order; the first failure decides.
 */
static const cors_decision *cors_decide_preflight(request_rec *r,
                                                  const cors_dir_conf *c,
                                                  cors_req *q)
{
    cors_decision *d = apr_pcalloc(r->pool, sizeof(*d));
    const char *why, *allow_headers = NULL;
    cors_origin o;
    int malformed = 0;

    cors_decide_origin(r, c, q, d);
    d->vary = cors_on(c->pna) ? CORS_VARY_PREFLIGHT_PNA : CORS_VARY_PREFLIGHT;
    d->timing = cors_on(c->timing);
    if (d->acao && cors_is_star(d->acao)
        && !cors_origin_parse(q->origin, &o)) {
        /* '*' is sent on every actual response so that caches stay
         * consistent; a preflight has no such need, and an Origin no
         * browser would send is not allowed (README "CorsAllowOrigin") */
        d->acao = NULL;
        d->reason = "not a serialised origin";
    }
    if (!d->acao) {
        d->outcome = CORS_PREFLIGHT_DENIED_ORIGIN;
    }
    else if ((why = cors_check_method(c, q->method, &malformed))) {
        d->outcome = malformed ? CORS_PREFLIGHT_DENIED_MALFORMED
                               : CORS_PREFLIGHT_DENIED_METHOD;
        d->reason = why;
        d->bad = q->method;
    }
    else if ((why = cors_check_headers(r, c, q->headers, &allow_headers,
                                       &malformed, &d->bad))) {
        d->outcome = malformed ? CORS_PREFLIGHT_DENIED_MALFORMED
                               : CORS_PREFLIGHT_DENIED_HEADER;
        d->reason = why;
    }
    else {
        d->outcome = CORS_PREFLIGHT_OK;
        d->status = cors_preflight_status(c);
        d->allow_methods = q->method;
        d->allow_headers = allow_headers;
        d->max_age = c->max_age != CORS_UNSET ? c->max_age_str : NULL;
        if (cors_on(c->pna) && q->pna && !strcasecmp(q->pna, "true")) {
            if (cors_is_star(d->acao)) {
                cors_fail_safe(r, c, CORS_UNSAFE_PNA_ANY);
            }
            d->allow_pna = !cors_is_star(d->acao);
        }
        return d;
    }
    if (cors_on(c->debug) && (d->outcome == CORS_PREFLIGHT_DENIED_METHOD
                          || d->outcome == CORS_PREFLIGHT_DENIED_HEADER)
        && cors_debug_answer(r, c, q, d)) {
        d->status = cors_preflight_status(c);
        return d;
    }
    /* a refused preflight learns nothing about the policy */
    d->status = HTTP_FORBIDDEN;
    d->acao = NULL;
    d->credentials = 0;
    return d;
}

/*
 * The decision for an internal redirect (ErrorDocument) of a preflight
 * that CorsEngine ReportOnly let through, or of a write that the
 * cross-origin write check refused, taken over from the chain's request
 * that decided it; NULL for any other request, which is decided anew
 * (cors_out_filter()).
 */
static const cors_decision *cors_chain_preflight(request_rec *r)
{
    const request_rec *p;

    for (p = r->prev; p; p = p->prev) {
        const cors_decision *d = ap_get_module_config(p->request_config,
                                                      &cors_module);

        if (d) {
            if (!d->write_refused
                && (!d->report || d->outcome < CORS_PREFLIGHT_OK)) {
                return NULL;
            }
            ap_set_module_config(r->request_config, &cors_module, (void *)d);
            apr_table_setn(r->subprocess_env, "CORS_RESULT",
                           cors_outcomes[d->write ? d->write
                                                  : cors_dbd_outcome(d)]
                           .result);
            return d;
        }
    }
    return NULL;
}

/*
 * +----------------------------------------------------------------------+
 * |                                                                      |
 * |  Applying the decision: header tables and the output filter          |
 * |                                                                      |
 * +----------------------------------------------------------------------+
 */

/*
 * Take one response header table over: remove every Access-Control-*
 * field from it, and say whether a Vary line of it holds "*".
 */
static int cors_take_table(apr_table_t *t)
{
    const apr_array_header_t *a = apr_table_elts(t);
    const apr_table_entry_t *e = (const apr_table_entry_t *)a->elts;
    int i, star = 0;

    for (i = 0; i < a->nelts; i++) {
        const char *k = e[i].key;

        /* the first letter and the length before a compare: few names
         * start with these (Accept-Ranges is shorter) */
        if (!k) {
            continue;
        }
        if ((k[0] == 'a' || k[0] == 'A') && strlen(k) >= 15
            && !strncasecmp(k, "Access-Control-", 15)) {
            apr_table_unset(t, k);
            i = -1;     /* the table moved: rescan */
        }
        else if ((k[0] == 'v' || k[0] == 'V') && !strcasecmp(k, "Vary")) {
            star |= cors_list_has(e[i].val, "*", 1, 0);
        }
    }
    return star;
}

/* Take both response header tables over (the module owns the
 * Access-Control-* fields in its scope); 1 when a Vary line holds "*". */
static int cors_take_tables(request_rec *r)
{
    int star = cors_take_table(r->headers_out);

    return cors_take_table(r->err_headers_out) || star;
}

/*
 * CorsTimingAllowOrigin On: in its scope the module owns Timing-Allow-Origin
 * as it owns Access-Control-*.  Others' lines go; an actual response that
 * allows an origin carries the Access-Control-Allow-Origin value here too.
 * Preflight answers carry none: browsers expose no timing of a preflight.
 */
static void cors_apply_timing(request_rec *r, const cors_decision *d)
{
    apr_table_unset(r->headers_out, "Timing-Allow-Origin");
    apr_table_unset(r->err_headers_out, "Timing-Allow-Origin");
    if (d->acao && d->outcome < CORS_PREFLIGHT_OK) {
        apr_table_setn(r->headers_out, "Timing-Allow-Origin", d->acao);
    }
}

/* Write a decision into the response headers, replacing what others put
 * there. */
static void cors_apply(request_rec *r, const cors_decision *d)
{
    apr_table_t *t = r->headers_out;
    int star = cors_take_tables(r);

    if (d->acao) {
        apr_table_addn(t, "Access-Control-Allow-Origin", d->acao);
        if (d->credentials) {
            apr_table_addn(t, "Access-Control-Allow-Credentials", "true");
        }
        if (d->expose) {
            apr_table_addn(t, "Access-Control-Expose-Headers", d->expose);
        }
        if (d->allow_methods) {
            apr_table_addn(t, "Access-Control-Allow-Methods",
                           d->allow_methods);
        }
        if (d->allow_headers) {
            apr_table_addn(t, "Access-Control-Allow-Headers",
                           d->allow_headers);
        }
        if (d->max_age) {
            apr_table_addn(t, "Access-Control-Max-Age", d->max_age);
        }
        if (d->allow_pna) {
            apr_table_addn(t, "Access-Control-Allow-Private-Network",
                           "true");
        }
    }
    if (d->timing) {
        cors_apply_timing(r, d);
    }
    /* httpd's HTTP/1 header filter (fixup_vary) and mod_http2 join the Vary
     * lines of both tables into one and drop repeated tokens,
     * case-insensitively, so a line of our own is enough.  "Vary: *" says
     * all there is to say: it is left alone. */
    if (d->vary && !star) {
        apr_table_addn(t, "Vary", d->vary);
    }
}

/*
 * Answer a preflight completely: status, headers, empty body.  Returns
 * DONE so that nothing after header_parser (authentication, redirects,
 * handlers, backends) sees it.  The answer is a response like any other
 * for the rest of the server: every module's output filters are inserted
 * as for a handler's response (mod_headers' "Header always set
 * Strict-Transport-Security ...", mod_expires), and the module's own
 * filter, last of them, writes the Access-Control-* lines once.  With
 * CorsEngine ReportOnly the preflight is decided and goes on (DECLINED)
 * to whatever answers it without the module.
 */
static int cors_preflight(request_rec *r, const cors_dir_conf *c,
                          cors_req *q)
{
    const cors_decision *d = cors_decide_preflight(r, c, q);

    cors_publish(r, d, q);
    if (d->report) {
        return DECLINED;
    }
    r->status = d->status;
    if (r->status != HTTP_NO_CONTENT) {
        ap_set_content_length(r, 0);
    }
    ap_run_insert_filter(r);
    /* DONE: httpd finalises the response, discarding any request body
     * (ap_finalize_request_protocol), so it is not read as a request. */
    return DONE;
}

/* Defined in the section "CorsEngine ReportOnly" below. */
static void cors_report_only(request_rec *r, const cors_decision *d);

static apr_status_t cors_out_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    const cors_decision *d;

    if (APR_BRIGADE_EMPTY(bb)) {
        return APR_SUCCESS;
    }
    d = ap_get_module_config(r->request_config, &cors_module);
    if (d && d->write_only && !d->write) {
        /* a write that passed the check outside CORS scope: undecided */
        d = NULL;
    }
    if (!d && r->prev) {
        d = cors_chain_preflight(r);
    }
    if (!d) {
        /* an error response for a request that failed before
         * header_parser (the filter is only added in scope) */
        const cors_dir_conf *c = cors_conf(r);
        cors_req q;

        memset(&q, 0, sizeof(q));
        if (c) {
            q.origin = apr_table_get(r->headers_in, "Origin");
            d = cors_decide(r, c, &q, 0, 0);
        }
    }
    if (d && d->write_only) {
        /* a write check's decision outside CORS scope: no header */
    }
    else if (d && d->report) {
        cors_report_only(r, d);
    }
    else if (d) {
        cors_apply(r, d);
    }
    /* done: the headers go with this brigade */
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

/*
 * +----------------------------------------------------------------------+
 * |                                                                      |
 * |  CorsEngine ReportOnly: the response compared with the decision      |
 * |                                                                      |
 * +----------------------------------------------------------------------+
 */

/* The fields CORS_REPORT names, in its order (README "CorsEngine"). */
typedef enum {
    CORS_F_ACAO,
    CORS_F_CREDENTIALS,
    CORS_F_METHODS,
    CORS_F_HEADERS,
    CORS_F_MAX_AGE,
    CORS_F_STATUS,
    CORS_F_VARY,
    CORS_FIELDS
} cors_field;

static const char *const cors_field_names[CORS_FIELDS] = {
    "acao", "credentials", "methods", "headers", "max-age", "status", "vary"
};

/* One field compared: the response's value and the module's, as logged
 * (NULL: none), and whether they differ in meaning. */
typedef struct {
    const char *sent;
    const char *would;
    int differs;
} cors_cmp;

typedef struct {
    apr_pool_t *p;
    const char *joined;
    int n;
} cors_lines;

static int cors_lines_add(void *acc, const char *key, const char *value)
{
    cors_lines *l = acc;

    (void)key;
    l->joined = l->n++ ? apr_pstrcat(l->p, l->joined, ", ", value, NULL)
                       : value;
    return 1;
}

/* The lines called name that the response will carry, as httpd sends
 * them (err_headers_out, then headers_out), joined with ", "; NULL when
 * there are none.  *n: how many lines. */
static const char *cors_sent(request_rec *r, const char *name, int *n)
{
    cors_lines l = { NULL, NULL, 0 };

    l.p = r->pool;
    apr_table_do(cors_lines_add, &l, r->err_headers_out, name, NULL);
    apr_table_do(cors_lines_add, &l, r->headers_out, name, NULL);
    *n = l.n;
    return l.joined;
}

/*
 * Would a browser's CORS-preflight check pass the requested method m with
 * this Access-Control-Allow-Methods value (NULL: none), in an answer that
 * does (creds) or does not allow credentials?  As browsers compare:
 * case-sensitively, '*' as any method without credentials, GET, HEAD and
 * POST whatever the value.
 */
static int cors_method_passes(const char *allow, const char *m, int creds)
{
    apr_size_t n = strlen(m);

    return cors_safelisted_method(m, n) || cors_list_has(allow, m, n, 0)
           || (!creds && cors_list_has(allow, "*", 1, 0));
}

/* The items of a list, lowercased, as a hash set (in p). */
static apr_hash_t *cors_lower_set(apr_pool_t *p, const char *list)
{
    apr_hash_t *h = apr_hash_make(p);
    char *item;

    while ((item = cors_list_next_lower(p, &list))) {
        apr_hash_set(h, item, APR_HASH_KEY_STRING, item);
    }
    return h;
}

/* The same for every name of Access-Control-Request-Headers (requested,
 * NULL: none) with this Access-Control-Allow-Headers value: names compare
 * case-insensitively (by hash: a recipe may echo thousands), '*' covers
 * any but Authorization without credentials. */
static int cors_headers_pass(apr_pool_t *p, const char *allow,
                             const char *requested, int creds)
{
    apr_hash_t *allowed = cors_lower_set(p, allow);
    apr_hash_t *asked = cors_lower_set(p, requested);
    int star = !creds && apr_hash_get(allowed, "*", 1);
    apr_hash_index_t *i;

    for (i = apr_hash_first(p, asked); i; i = apr_hash_next(i)) {
        const char *name = apr_hash_this_key(i);
        apr_ssize_t n = apr_hash_this_key_len(i);

        if (!apr_hash_get(allowed, name, n)
            && !(star && strcmp(name, "authorization"))) {
            return 0;
        }
    }
    return 1;
}

/* Do an Access-Control-Max-Age the response carries (n lines, joined)
 * and the module's (NULL: none) mean the same: both absent, or one line
 * with the same whole number (leading zeros aside)? */
static int cors_same_max_age(const char *sent, int n, const char *would)
{
    if (!sent || !would) {
        return !sent && !would;
    }
    while (sent[0] == '0' && apr_isdigit(sent[1])) {
        sent++;
    }
    return n == 1 && !strcmp(sent, would);
}

/* The fields of every response: Access-Control-Allow-Origin byte-exact,
 * whether credentials are allowed (one line, exactly "true"), and, when
 * the module would add Origin to Vary, whether the response's Vary has
 * Origin or '*'.  *creds: the response allows credentials. */
static void cors_compare_origin(request_rec *r, const cors_decision *d,
                                cors_cmp *f, int *creds)
{
    int n;

    f[CORS_F_ACAO].sent = cors_sent(r, "Access-Control-Allow-Origin", &n);
    f[CORS_F_ACAO].would = d->acao;
    f[CORS_F_ACAO].differs = d->acao ? n != 1 || strcmp(f[CORS_F_ACAO].sent,
                                                        d->acao)
                                     : n != 0;
    f[CORS_F_CREDENTIALS].sent = cors_sent(r,
                                           "Access-Control-Allow-Credentials",
                                           &n);
    *creds = n == 1 && !strcmp(f[CORS_F_CREDENTIALS].sent, "true");
    f[CORS_F_CREDENTIALS].would = d->acao && d->credentials ? "true" : NULL;
    f[CORS_F_CREDENTIALS].differs = *creds != (d->acao && d->credentials);
    if (d->vary) {
        const char *v = cors_sent(r, "Vary", &n);

        f[CORS_F_VARY].sent = v;
        f[CORS_F_VARY].would = "Origin";
        f[CORS_F_VARY].differs = !cors_list_has(v, "origin", 6, 1)
                                 && !cors_list_has(v, "*", 1, 0);
    }
}

/* The fields of preflight answers: would the browser's check pass the
 * requested method and headers with the response as with the module's
 * answer; Access-Control-Max-Age by value; the status, 2xx or not. */
static void cors_compare_preflight(request_rec *r, const cors_decision *d,
                                   cors_cmp *f, int creds)
{
    const char *m = apr_table_get(r->headers_in,
                                  "Access-Control-Request-Method");
    const char *h = apr_table_get(r->headers_in,
                                  "Access-Control-Request-Headers");
    int would_creds = d->acao && d->credentials, n;
    cors_cmp *x;

    m = m ? m : "";
    x = &f[CORS_F_METHODS];
    x->sent = cors_sent(r, "Access-Control-Allow-Methods", &n);
    x->would = d->allow_methods;
    x->differs = cors_method_passes(x->sent, m, creds)
                 != cors_method_passes(x->would, m, would_creds);
    x = &f[CORS_F_HEADERS];
    x->sent = cors_sent(r, "Access-Control-Allow-Headers", &n);
    x->would = d->allow_headers;
    x->differs = cors_headers_pass(r->pool, x->sent, h, creds)
                 != cors_headers_pass(r->pool, x->would, h, would_creds);
    x = &f[CORS_F_MAX_AGE];
    x->sent = cors_sent(r, "Access-Control-Max-Age", &n);
    x->would = d->max_age;
    x->differs = !cors_same_max_age(x->sent, n, x->would);
    x = &f[CORS_F_STATUS];
    x->sent = apr_itoa(r->pool, r->status);
    x->would = apr_itoa(r->pool, d->status);
    x->differs = (r->status / 100 == 2) != (d->status / 100 == 2);
}

/* "'value'" for a log line (client input cut as cors_logitem() does), or
 * "none". */
static const char *cors_quoted(apr_pool_t *p, const char *v)
{
    return v ? apr_pstrcat(p, "'", cors_logitem(p, v), "'", NULL) : "none";
}

/*
 * CorsEngine ReportOnly, where cors_apply() would write: compare what the
 * response carries with what the module would have sent, into CORS_REPORT
 * ("same" or "differs:" and the fields), and log each differing response
 * once at info, with both values of each field.  The response is left as
 * it is.
 */
static void cors_report_only(request_rec *r, const cors_decision *d)
{
    cors_cmp f[CORS_FIELDS];
    const char *names = NULL, *details = NULL;
    const char *origin = apr_table_get(r->headers_in, "Origin");
    const char *method = d->outcome >= CORS_PREFLIGHT_OK
                         ? apr_table_get(r->headers_in,
                                         "Access-Control-Request-Method")
                         : NULL;
    int creds, i;

    memset(f, 0, sizeof(f));
    cors_compare_origin(r, d, f, &creds);
    if (d->outcome >= CORS_PREFLIGHT_OK) {
        cors_compare_preflight(r, d, f, creds);
    }
    for (i = 0; i < CORS_FIELDS; i++) {
        if (f[i].differs) {
            const char *detail = apr_pstrcat(r->pool, cors_field_names[i],
                                             ": response ",
                                             cors_quoted(r->pool, f[i].sent),
                                             ", mod_cors ",
                                             cors_quoted(r->pool, f[i].would),
                                             NULL);

            names = names ? apr_pstrcat(r->pool, names, ",",
                                        cors_field_names[i], NULL)
                          : cors_field_names[i];
            details = details ? apr_pstrcat(r->pool, details, "; ", detail,
                                            NULL) : detail;
        }
    }
    if (!names) {
        apr_table_setn(r->subprocess_env, "CORS_REPORT", "same");
        return;
    }
    apr_table_setn(r->subprocess_env, "CORS_REPORT",
                   apr_pstrcat(r->pool, "differs:", names, NULL));
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "CORS0050: ReportOnly: %s%s%s%s%s%s: the response differs "
                  "from mod_cors's answer: %s",
                  method ? "preflight for " : "",
                  method ? cors_logitem(r->pool, method) : "",
                  method ? " from " : "",
                  origin ? "origin '" : "no Origin header",
                  origin ? cors_logitem(r->pool, origin) : "",
                  origin ? "'" : "", details);
}

/*
 * +----------------------------------------------------------------------+
 * |                                                                      |
 * |  Cross-origin writes (CorsCrossOriginProtection)                     |
 * |                                                                      |
 * +----------------------------------------------------------------------+
 */

/*
 * CORS decides who may read a response; it never stops a form POST or a
 * no-cors fetch, which browsers send without a preflight, from reaching
 * the application.  The write check refuses such requests from origins the
 * policy does not trust (README "Cross-origin writes"), from the browser's
 * Sec-Fetch-Site or, from browsers that do not send it, from Origin
 * against Host.
 */

/* GET, HEAD (httpd numbers it M_GET) and OPTIONS: never refused. */
static APR_INLINE int cors_safe_method(const request_rec *r)
{
    return r->method_number == M_GET || r->method_number == M_OPTIONS;
}

/*
 * May this Origin write?  An origin the merged policy allows and would
 * allow with credentials (a write carries the user's cookies), minus the
 * denied ones: never "*", "null", an expression that matches any origin,
 * a plain-http subdomain pattern or one on a public suffix.  The origin
 * rules count whether or not CorsEngine is Off.
 */
static int cors_write_trusted(request_rec *r, const cors_dir_conf *c,
                              cors_req *q)
{
    int unsafe;

    /* (the first letter before a call: most origins start with "h") */
    if (!q->origin || (q->origin[0] == 'n' && !strcmp(q->origin, "null"))) {
        return 0;
    }
    /* (no call without a deny list) */
    if (c->denies && cors_denied(c, q->origin) == 1) {
        return 0;
    }
    return cors_match_once(r, c, q, &unsafe) && unsafe < 0;
}

/* Is the Origin's host and port the request's Host?  (Browsers omit a
 * default port from both.)  The scheme is not compared: Host has none.
 * (Out of line: only browsers without Sec-Fetch-Site get here.) */
static CORS_NOINLINE int cors_origin_is_host(const request_rec *r,
                                             const char *origin)
{
    const char *host = apr_table_get(r->headers_in, "Host");
    cors_origin o;

    return host && cors_origin_parse(origin, &o) && !o.is_null
           && !strcasecmp(origin + o.host_off, host);
}

/* The write check's debug line (cors_check_write()). */
static CORS_NOINLINE void cors_log_write(request_rec *r,
                                         const cors_dir_conf *c,
                                         const char *origin,
                                         cors_outcome refused,
                                         const char *why)
{
    const char *host = apr_table_get(r->headers_in, "Host");
    const char *site = apr_table_get(r->headers_in, "Sec-Fetch-Site");

    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "%s: cross-origin write check: %s from %s%s%s%s (%s; "
                  "Sec-Fetch-Site '%s', Host '%s')",
                  refused ? cors_outcomes[refused].tag : "CORS0040",
                  cors_logitem(r->pool, r->method),
                  origin ? "origin '" : "no Origin header",
                  origin ? cors_logitem(r->pool, origin) : "",
                  origin ? "'" : "",
                  !refused ? " passes"
                  : c->protect == CORS_FLAG_REPORT_ONLY
                    ? " would be refused (ReportOnly)"
                    : cors_outcomes[refused].verdict, why,
                  site ? cors_logitem(r->pool, site) : "",
                  host ? cors_logitem(r->pool, host) : "");
}

/*
 * The cross-origin write check for a request that is not GET, HEAD or
 * OPTIONS, under r's own configuration c, q holding its Origin: 0 when
 * the write passes, else the outcome of its refusal (CORS_WRITE_*).  One
 * debug line, CORS0040 for a write that passes, the outcome's tag for one
 * refused.
 */
static cors_outcome cors_check_write(request_rec *r, const cors_dir_conf *c,
                                     cors_req *q)
{
    const char *site = NULL, *origin = q->origin;
    cors_outcome refused = 0;
    const char *why;

    /* A trusted origin passes whatever Sec-Fetch-Site says, so the header
     * is read only when the origin is not trusted (its lookup would be
     * most of the check's cost on a trusted write). */
    if (cors_write_trusted(r, c, q)) {
        why = "a trusted origin";
    }
    else if ((site = apr_table_get(r->headers_in, "Sec-Fetch-Site"))) {
        /* what the browser says about the initiator's relationship (the
         * first letter before a call) */
        if ((site[0] == 's' && !strcmp(site, "same-origin"))
            || (site[0] == 'n' && !strcmp(site, "none"))) {
            why = "Sec-Fetch-Site says same-origin or none";
        }
        else {
            refused = CORS_WRITE_DENIED_FETCH_SITE;
            why = "Sec-Fetch-Site is not same-origin or none, and the "
                  "origin is not trusted";
        }
    }
    else if (!origin) {
        why = "neither Sec-Fetch-Site nor Origin";
    }
    else if (cors_origin_is_host(r, origin)) {
        why = "no Sec-Fetch-Site, and Origin matches Host";
    }
    else {
        refused = CORS_WRITE_DENIED_ORIGIN;
        why = "no Sec-Fetch-Site, and Origin neither matches Host nor is "
              "trusted";
    }
    if (APLOGrdebug(r)) {
        cors_log_write(r, c, origin, refused, why);
    }
    return refused;
}

/*
 * The write check's decision for a request outside CORS scope, checked
 * under c: no header to write; when refused (or ReportOnly would refuse),
 * CORS_RESULT and the counters.
 */
static void cors_publish_write(request_rec *r, const cors_dir_conf *c,
                               cors_outcome write, int refused)
{
    cors_decision *d = apr_pcalloc(r->pool, sizeof(*d));
    cors_req q;

    memset(&q, 0, sizeof(q));
    d->outcome = CORS_NO_ORIGIN;
    d->write = write;
    d->write_refused = refused;
    d->write_only = 1;
    d->write_conf = c;
    if (write) {
        cors_publish(r, d, &q);
    }
    else {
        ap_set_module_config(r->request_config, &cors_module, d);
    }
}

/*
 * +----------------------------------------------------------------------+
 * |                                                                      |
 * |  Origins from a database (CorsAllowOriginDBDQuery)                   |
 * |                                                                      |
 * +----------------------------------------------------------------------+
 */

/*
 * A multi-tenant service keeps its customers' origins in a table that
 * changes all day.  CorsAllowOriginDBDQuery asks it, through mod_dbd's
 * pooled connections and a statement prepared at start-up, about an
 * Origin that no static rule of the section allows and no deny refuses
 * (cors_match_once()); one or more rows mean allowed.  The answers,
 * allowed and refused alike, are kept in a mod_socache cache
 * (CorsAllowOriginDBDCache: shmcb by default, shared by the children;
 * memcache or redis, shared by a fleet) for a number of seconds, so that
 * an origin costs at most one query per period.  Whatever goes wrong, the
 * origin is refused (fail closed) and the request goes on as usual; the
 * error is logged once per period and per process, and the database is
 * not asked again in that process for that period (README "Origins from
 * a database").
 */

#define CORS_DBD_DEFAULT_SECONDS 60
#define CORS_DBD_MAX_SECONDS 86400
/* Cache keys: two bytes of a hash of the Origin (shmcb picks a part of its
 * memory by the first byte), the label's 8 hex digits, and the Origin, or
 * its SHA-1 when longer than this (memcache and redis write keys in hex,
 * and take up to 250 bytes). */
#define CORS_DBD_KEY_ORIGIN 92
#define CORS_DBD_KEY_MAX (2 + 8 + CORS_DBD_KEY_ORIGIN)

/* mod_dbd's functions (optional: NULL while it is not loaded). */
static APR_OPTIONAL_FN_TYPE(ap_dbd_prepare) *cors_dbd_prepare_fn = NULL;
static APR_OPTIONAL_FN_TYPE(ap_dbd_acquire) *cors_dbd_acquire_fn = NULL;

/* A CorsAllowOriginDBDQuery in this reading of the configuration. */
static int cors_dbd_used = 0;

/* The statements handed to mod_dbd in this reading, by server and label:
 * mod_dbd warns about a label it is given twice (the same statement in
 * several sections).  In pconf; NULL before the first. */
static apr_hash_t *cors_dbd_prepared = NULL;

/* The lock of the caches whose provider needs one (shmcb), or NULL. */
static apr_global_mutex_t *cors_dbd_mutex = NULL;
static const char *const cors_dbd_mutex_id = "cors-dbd-cache";

/* Per process, in seconds since the epoch: until when mod_dbd is not asked
 * for a connection again after it had none to give, and until when a
 * database or a cache error is not logged again. */
static volatile apr_uint32_t cors_dbd_down_until = 0;
static volatile apr_uint32_t cors_dbd_quiet_until = 0;
static volatile apr_uint32_t cors_dbd_cache_quiet_until = 0;

/* The debug line's reason for an answer of the database. */
static const char *cors_dbd_reason(cors_db_answer answer)
{
    switch (answer) {
    case CORS_DB_ALLOWED:
        return "CorsAllowOriginDBDQuery: a row";
    case CORS_DB_REFUSED:
        return "CorsAllowOriginDBDQuery: no row";
    case CORS_DB_UNAVAILABLE:
        return "CorsAllowOriginDBDQuery: no answer (fail closed)";
    default:
        return "";
    }
}

/* Look mod_dbd's functions up; NULL when it is not loaded. */
static APR_OPTIONAL_FN_TYPE(ap_dbd_prepare) *cors_dbd_functions(void)
{
    if (!cors_dbd_prepare_fn) {
        cors_dbd_prepare_fn = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_prepare);
        cors_dbd_acquire_fn = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_acquire);
    }
    return cors_dbd_acquire_fn ? cors_dbd_prepare_fn : NULL;
}

/*
 * CorsAllowOriginDBDQuery "SELECT 1 FROM tenants WHERE origin = %s": the
 * statement is prepared by mod_dbd on every connection of its pool, with
 * the Origin as its one parameter (never spliced into the SQL).  The label
 * comes from the statement's text, so that servers sharing a cache with
 * the same statement share its answers.
 */
static const char *cors_cmd_dbd_query(cmd_parms *cmd, void *dconf,
                                      const char *arg)
{
    cors_dir_conf *c = dconf;
    unsigned char digest[APR_SHA1_DIGESTSIZE];
    apr_sha1_ctx_t sha;
    const char *p = strchr(arg, '%'), *key;
    APR_OPTIONAL_FN_TYPE(ap_dbd_prepare) *prepare;

    if (!p || p[1] != 's' || strchr(p + 1, '%')) {
        return apr_psprintf(cmd->pool, "%s: '%s' must hold exactly one %%s "
                            "(where the request's Origin goes, as a "
                            "parameter) and no other '%%', for example "
                            "\"SELECT 1 FROM tenants WHERE origin = %%s\"",
                            cmd->cmd->name, arg);
    }
    if (!(prepare = cors_dbd_functions())) {
        return apr_psprintf(cmd->pool, "%s: mod_dbd is not loaded: load it "
                            "before this line (LoadModule dbd_module "
                            "modules/mod_dbd.so, or a2enmod dbd) and give it "
                            "DBDriver and DBDParams", cmd->cmd->name);
    }
    apr_sha1_init(&sha);
    apr_sha1_update(&sha, arg, strlen(arg));
    apr_sha1_final(digest, &sha);
    c->dbd_label = apr_psprintf(cmd->pool, "cors_dbd_%02x%02x%02x%02x",
                                digest[0], digest[1], digest[2], digest[3]);
    if (!cors_dbd_prepared) {
        cors_dbd_prepared = apr_hash_make(cmd->pool);
    }
    key = apr_psprintf(cmd->pool, "%pp %s", (void *)cmd->server,
                       c->dbd_label);
    if (!apr_hash_get(cors_dbd_prepared, key, APR_HASH_KEY_STRING)) {
        apr_hash_set(cors_dbd_prepared, key, APR_HASH_KEY_STRING, key);
        prepare(cmd->server, arg, c->dbd_label);
    }
    cors_dbd_used = 1;
    return NULL;
}

/* A socache provider by name, or the message that says what to load. */
static const char *cors_dbd_provider(cmd_parms *cmd, const char *name,
                                     const ap_socache_provider_t **provider)
{
    *provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name,
                                   AP_SOCACHE_PROVIDER_VERSION);
    return *provider ? NULL
           : apr_psprintf(cmd->pool, "CorsAllowOriginDBDCache: the socache "
                          "provider '%s' is not loaded: load "
                          "mod_socache_%s before this line (LoadModule "
                          "socache_%s_module modules/mod_socache_%s.so, or "
                          "a2enmod socache_%s)", name, name, name, name,
                          name);
}

/*
 * CorsAllowOriginDBDCache provider[:args] [seconds] (server config and
 * virtual host): the cache is made now, so that the provider checks its
 * arguments for apachectl -t, and set up in post_config.
 */
static const char *cors_cmd_dbd_cache(cmd_parms *cmd, void *dconf,
                                      const char *spec, const char *secs)
{
    cors_srv_conf *sc;
    cors_dbd_cache *k = apr_pcalloc(cmd->pool, sizeof(*k));
    const char *sep = strchr(spec, ':'), *err;
    const char *name = sep ? apr_pstrmemdup(cmd->temp_pool, spec, sep - spec)
                           : spec;
    long v = CORS_DBD_DEFAULT_SECONDS;

    (void)dconf;
    if (secs && (!cors_parse_number(secs, CORS_DBD_MAX_SECONDS, &v)
                 || v < 1)) {
        return apr_psprintf(cmd->pool, "CorsAllowOriginDBDCache: '%s' is not "
                            "a number of seconds from 1 to %d", secs,
                            CORS_DBD_MAX_SECONDS);
    }
    if ((err = cors_dbd_provider(cmd, name, &k->provider))) {
        return err;
    }
    err = k->provider->create(&k->instance, sep ? sep + 1 : NULL,
                              cmd->temp_pool, cmd->pool);
    if (err) {
        return apr_psprintf(cmd->pool, "CorsAllowOriginDBDCache: '%s': %s",
                            spec, err);
    }
    k->spec = apr_pstrdup(cmd->pool, spec);
    k->seconds = (int)v;
    k->ttl = apr_time_from_sec(v);
    sc = ap_get_module_config(cmd->server->module_config, &cors_module);
    sc->cache = k;
    return NULL;
}

/* The default cache, where a statement is used and no server says
 * CorsAllowOriginDBDCache: shmcb for 60 seconds; NULL and a message in
 * *err when mod_socache_shmcb is not loaded. */
static cors_dbd_cache *cors_dbd_default_cache(apr_pool_t *pconf,
                                              apr_pool_t *ptemp,
                                              const char **err)
{
    cors_dbd_cache *k = apr_pcalloc(pconf, sizeof(*k));

    k->provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, "shmcb",
                                     AP_SOCACHE_PROVIDER_VERSION);
    if (!k->provider) {
        *err = "CorsAllowOriginDBDQuery: no CorsAllowOriginDBDCache is set "
               "and the default, shmcb, is not loaded: load mod_socache_shmcb "
               "(LoadModule socache_shmcb_module modules/mod_socache_shmcb.so,"
               " or a2enmod socache_shmcb) or set CorsAllowOriginDBDCache";
        return NULL;
    }
    if ((*err = k->provider->create(&k->instance, NULL, ptemp, pconf))) {
        return NULL;
    }
    k->spec = "shmcb";
    k->seconds = CORS_DBD_DEFAULT_SECONDS;
    k->ttl = apr_time_from_sec(CORS_DBD_DEFAULT_SECONDS);
    return k;
}

/* apachectl -t and start-up: a statement needs a cache. */
static int cors_dbd_check_config(server_rec *s, apr_pool_t *pconf,
                                 apr_pool_t *ptemp)
{
    cors_srv_conf *sc = ap_get_module_config(s->module_config,
                                             &cors_module);
    const char *err = NULL;

    if (cors_dbd_used && !sc->cache
        && !(sc->cache = cors_dbd_default_cache(pconf, ptemp, &err))) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s,
                     "CORS0070: %s", err);
        return !OK;
    }
    return OK;
}

static apr_status_t cors_dbd_cache_destroy(void *data)
{
    cors_dbd_cache *k = data;

    k->provider->destroy(k->instance, NULL);
    return APR_SUCCESS;
}

static apr_status_t cors_dbd_mutex_remove(void *data)
{
    (void)data;
    if (cors_dbd_mutex) {
        apr_global_mutex_destroy(cors_dbd_mutex);
        cors_dbd_mutex = NULL;
    }
    return APR_SUCCESS;
}

/*
 * post_config: every cache set up (a virtual host without one of its own
 * uses the main server's), and the lock made when a provider needs one.
 * Each cache has a name of its own ("cors-dbd", "cors-dbd-2", ... in the
 * order of the virtual hosts): shmcb's file, memcache's and redis' key
 * prefix.
 */
static int cors_dbd_setup(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp, server_rec *main_server)
{
    const cors_srv_conf *msc = ap_get_module_config(
                                   main_server->module_config, &cors_module);
    struct ap_socache_hints hints = { 48, 1, 0 };
    server_rec *s;
    int n = 0, lock = 0;
    apr_status_t rv;

    cors_dbd_mutex = NULL;
    if (!cors_dbd_used) {
        return OK;
    }
    if (cors_dbd_check_config(main_server, pconf, ptemp) != OK) {
        return !OK;
    }
    for (s = main_server; s; s = s->next) {
        cors_srv_conf *sc = ap_get_module_config(s->module_config,
                                                 &cors_module);

        if (s != main_server && (!sc->cache || sc->cache == msc->cache)) {
            sc->cache = msc->cache;
            continue;
        }
        hints.expiry_interval = sc->cache->ttl;
        rv = sc->cache->provider->init(sc->cache->instance, ++n == 1
                                       ? "cors-dbd"
                                       : apr_psprintf(ptemp, "cors-dbd-%d",
                                                      n),
                                       &hints, s, pconf);
        if (rv != APR_SUCCESS) {
            ap_log_perror(APLOG_MARK, APLOG_EMERG, rv, plog,
                          "CORS0074: CorsAllowOriginDBDCache %s: the cache "
                          "could not be set up", sc->cache->spec);
            return !OK;
        }
        apr_pool_cleanup_register(pconf, sc->cache, cors_dbd_cache_destroy,
                                  apr_pool_cleanup_null);
        lock |= sc->cache->provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE;
    }
    if (lock) {
        rv = ap_global_mutex_create(&cors_dbd_mutex, NULL, cors_dbd_mutex_id,
                                    NULL, main_server, pconf, 0);
        if (rv != APR_SUCCESS) {
            ap_log_perror(APLOG_MARK, APLOG_EMERG, rv, plog,
                          "CORS0075: the lock of the origins' cache could "
                          "not be made");
            return !OK;
        }
        apr_pool_cleanup_register(pconf, NULL, cors_dbd_mutex_remove,
                                  apr_pool_cleanup_null);
    }
    return OK;
}

/* child_init: the lock in each child. */
static void cors_dbd_child_lock(apr_pool_t *p, server_rec *s)
{
    apr_status_t rv;

    if (!cors_dbd_mutex) {
        return;
    }
    rv = apr_global_mutex_child_init(&cors_dbd_mutex,
                                     apr_global_mutex_lockfile(cors_dbd_mutex),
                                     p);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "CORS0075: the lock of "
                     "the origins' cache could not be opened in a child");
    }
}

/*
 * Has the period that follows a logged error ended?  Then claim the next
 * one (*until), so that one thread of the process logs, once per period.
 */
static int cors_dbd_quiet_over(volatile apr_uint32_t *until, int seconds)
{
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now());
    apr_uint32_t old = apr_atomic_read32(until);

    return now >= old
           && apr_atomic_cas32(until, now + (apr_uint32_t)seconds, old)
              == old;
}

/* The cache key of an Origin under a statement (at most
 * CORS_DBD_KEY_MAX bytes). */
static unsigned int cors_dbd_key(const char *label, const char *origin,
                                 unsigned char *key)
{
    apr_ssize_t n = (apr_ssize_t)strlen(origin);
    unsigned int h = apr_hashfunc_default(origin, &n);
    apr_sha1_ctx_t sha;

    key[0] = (unsigned char)h;
    key[1] = (unsigned char)(h >> 8);
    memcpy(key + 2, label + sizeof("cors_dbd_") - 1, 8);
    if (n <= CORS_DBD_KEY_ORIGIN) {
        memcpy(key + 10, origin, n);
        return (unsigned int)(10 + n);
    }
    apr_sha1_init(&sha);
    apr_sha1_update(&sha, origin, (unsigned int)n);
    apr_sha1_final(key + 10, &sha);
    return 10 + APR_SHA1_DIGESTSIZE;
}

/* The cache's answer: CORS_DB_ALLOWED, CORS_DB_REFUSED, CORS_DB_NONE (not
 * there) or CORS_DB_UNAVAILABLE. */
static cors_db_answer cors_dbd_cache_get(request_rec *r,
                                         const cors_dbd_cache *k,
                                         const unsigned char *key,
                                         unsigned int klen)
{
    unsigned char val[8];
    unsigned int vlen = sizeof(val);
    apr_status_t rv;

    if (cors_dbd_mutex && (k->provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE)) {
        apr_global_mutex_lock(cors_dbd_mutex);
        rv = k->provider->retrieve(k->instance, r->server, key, klen, val,
                                   &vlen, r->pool);
        apr_global_mutex_unlock(cors_dbd_mutex);
    }
    else {
        rv = k->provider->retrieve(k->instance, r->server, key, klen, val,
                                   &vlen, r->pool);
    }
    if (rv == APR_SUCCESS && vlen == 1) {
        return val[0] == '1' ? CORS_DB_ALLOWED : CORS_DB_REFUSED;
    }
    if (rv == APR_SUCCESS || APR_STATUS_IS_NOTFOUND(rv)) {
        return CORS_DB_NONE;
    }
    if (cors_dbd_quiet_over(&cors_dbd_cache_quiet_until, k->seconds)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, "CORS0071: "
                      "CorsAllowOriginDBDCache %s could not be read: origins "
                      "it does not answer for are refused (logged once "
                      "every %d seconds)", k->spec, k->seconds);
    }
    return CORS_DB_UNAVAILABLE;
}

/* Keep the database's answer for the cache's period. */
static void cors_dbd_cache_put(request_rec *r, const cors_dbd_cache *k,
                               const unsigned char *key, unsigned int klen,
                               cors_db_answer answer)
{
    unsigned char val = answer == CORS_DB_ALLOWED ? '1' : '0';
    apr_time_t expiry = apr_time_now() + k->ttl;
    apr_status_t rv;

    if (cors_dbd_mutex && (k->provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE)) {
        apr_global_mutex_lock(cors_dbd_mutex);
        rv = k->provider->store(k->instance, r->server, key, klen, expiry,
                                &val, 1, r->pool);
        apr_global_mutex_unlock(cors_dbd_mutex);
    }
    else {
        rv = k->provider->store(k->instance, r->server, key, klen, expiry,
                                &val, 1, r->pool);
    }
    if (rv != APR_SUCCESS
        && cors_dbd_quiet_over(&cors_dbd_cache_quiet_until, k->seconds)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, "CORS0072: "
                      "CorsAllowOriginDBDCache %s could not keep an answer "
                      "(logged once every %d seconds)", k->spec, k->seconds);
    }
}

/*
 * A database error: logged once per period and process.  down: mod_dbd
 * had no connection (the server is down, or refuses): it is not asked
 * again by this process for the period, so that a flood does not become
 * a storm of connection attempts.  (A statement that fails does not stop
 * the next one: one Origin must not shut the database off for others.)
 */
static cors_db_answer cors_dbd_failed(request_rec *r, const cors_dbd_cache *k,
                                      const char *what, int down)
{
    if (down) {
        apr_atomic_set32(&cors_dbd_down_until,
                         (apr_uint32_t)apr_time_sec(apr_time_now())
                         + (apr_uint32_t)k->seconds);
    }
    if (cors_dbd_quiet_over(&cors_dbd_quiet_until, k->seconds)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "CORS0073: "
                      "CorsAllowOriginDBDQuery: %s: origins that no static "
                      "rule allows are refused%s (logged once every %d "
                      "seconds)", what, down ? ", and mod_dbd is not asked "
                      "again by this process until the time is up" : "",
                      k->seconds);
    }
    return CORS_DB_UNAVAILABLE;
}

/* Ask the database: the Origin is the statement's one parameter. */
static cors_db_answer cors_dbd_query(request_rec *r, const cors_dbd_cache *k,
                                     const char *label, const char *origin)
{
    ap_dbd_t *dbd;
    apr_dbd_prepared_t *statement;
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    int rv, rows = 0, failed = 0;

    if (apr_time_sec(apr_time_now())
        < (apr_time_t)apr_atomic_read32(&cors_dbd_down_until)) {
        return CORS_DB_UNAVAILABLE;     /* no connection in this period */
    }
    if (!(dbd = cors_dbd_acquire_fn(r))) {
        return cors_dbd_failed(r, k, "no connection from mod_dbd (see "
                               "its messages)", 1);
    }
    statement = apr_hash_get(dbd->prepared, label, APR_HASH_KEY_STRING);
    if (!statement) {
        return cors_dbd_failed(r, k, "the statement is not prepared on "
                               "this connection", 0);
    }
    rv = apr_dbd_pvselect(dbd->driver, r->pool, dbd->handle, &res, statement,
                          0, origin, NULL);
    if (rv) {
        return cors_dbd_failed(r, k, apr_dbd_error(dbd->driver,
                                                   dbd->handle, rv), 0);
    }
    /* every row is read, so that the driver finishes the statement */
    while ((rv = apr_dbd_get_row(dbd->driver, r->pool, res, &row, -1))
           != -1) {
        if (rv) {
            failed = rv;
            break;
        }
        rows++;
    }
    if (failed) {
        return cors_dbd_failed(r, k, apr_dbd_error(dbd->driver,
                                                   dbd->handle, failed), 0);
    }
    return rows ? CORS_DB_ALLOWED : CORS_DB_REFUSED;
}

/*
 * Does the database allow this Origin, which no static rule allows and no
 * deny refuses (the caller checked)?  Only a serialised origin is asked
 * about (README "Origins"), never "null"; the cache first.  Returns the
 * reason it matched, or NULL; *answer says who decided.
 */
static const char *cors_dbd_match(request_rec *r, const cors_dir_conf *c,
                                  const char *origin, cors_db_answer *answer)
{
    const cors_srv_conf *sc = ap_get_module_config(r->server->module_config,
                                                   &cors_module);
    unsigned char key[CORS_DBD_KEY_MAX];
    unsigned int klen;
    cors_origin o;

    if (!cors_origin_parse(origin, &o) || o.is_null) {
        return NULL;
    }
    if (!sc->cache || !cors_dbd_acquire_fn) {
        *answer = CORS_DB_UNAVAILABLE;
        return NULL;
    }
    klen = cors_dbd_key(c->dbd_label, origin, key);
    *answer = cors_dbd_cache_get(r, sc->cache, key, klen);
    if (*answer == CORS_DB_NONE) {
        *answer = cors_dbd_query(r, sc->cache, c->dbd_label, origin);
        if (*answer != CORS_DB_UNAVAILABLE) {
            cors_dbd_cache_put(r, sc->cache, key, klen, *answer);
        }
    }
    return *answer == CORS_DB_ALLOWED ? "CorsAllowOriginDBDQuery" : NULL;
}

/*
 * The outcome CORS_RESULT, the counters and the debug line give a
 * decision: where the database decided the origin, the outcome says so.
 */
static cors_outcome cors_dbd_outcome(const cors_decision *d)
{
    switch (d->outcome) {
    case CORS_ALLOWED:
        return d->db == CORS_DB_ALLOWED ? CORS_ALLOWED_DATABASE : d->outcome;
    case CORS_PREFLIGHT_OK:
        return d->db == CORS_DB_ALLOWED ? CORS_PREFLIGHT_OK_DATABASE
                                        : d->outcome;
    case CORS_DENIED_ORIGIN:
        return d->db == CORS_DB_REFUSED ? CORS_DENIED_DATABASE
               : d->db == CORS_DB_UNAVAILABLE
                 ? CORS_DENIED_DATABASE_UNAVAILABLE : d->outcome;
    case CORS_PREFLIGHT_DENIED_ORIGIN:
        return d->db == CORS_DB_REFUSED ? CORS_PREFLIGHT_DENIED_DATABASE
               : d->db == CORS_DB_UNAVAILABLE
                 ? CORS_PREFLIGHT_DENIED_DATABASE_UNAVAILABLE : d->outcome;
    default:
        return d->outcome;
    }
}

/*
 * +----------------------------------------------------------------------+
 * |                                                                      |
 * |  Counters: mod_status's page and the cors-metrics handler            |
 * |                                                                      |
 * +----------------------------------------------------------------------+
 */

/*
 * The decisions of every child and thread, counted by virtual host and
 * outcome (README "Counters: server-status and Prometheus"): a segment of
 * anonymous shared memory that the children inherit, a row of
 * CORS_OUTCOME_COUNT 64-bit counters for each virtual host name
 * (cors_row_name()), and a last row, "(other)", for the hosts that
 * graceful restarts added once the rest were taken.
 *
 * The segment lives as long as the scoreboard does: pre_mpm, which httpd
 * runs at start-up and at every full restart but not at a graceful one,
 * makes it anew, zeroed, with room for twice the virtual hosts there are
 * and 16 more.  It and this bookkeeping belong to a pool of the process
 * pool, which outlives restarts (pconf does not), and are found again with
 * apr_pool_userdata_get().  httpd unloads and reloads the module at every
 * restart: nothing here points into the module, and all of it is
 * allocated by APR's own functions.
 */
typedef struct {
    apr_pool_t *pool;          /* the segment's and this struct's */
    apr_uint64_t *counts;      /* rows * CORS_OUTCOME_COUNT, in the segment */
    int rows;                  /* the last one is "(other)" */
    int used;                  /* rows given to a name */
    int other_used;            /* some host counts in "(other)" */
    apr_hash_t *by_name;       /* name -> its row in counts */
    apr_array_header_t *names; /* const char *: the name of each row */
    char *shown;               /* by row: a server that can get requests
                                * has used it since the segment was made */
    apr_time_t reset;          /* when the segment was made */
} cors_counters;

#define CORS_COUNTERS_KEY "mod_cors counters"
#define CORS_OTHER_ROW "(other)"
#define CORS_TOTAL_ROW "(total)"

static cors_counters *cors_counters_get(apr_pool_t *process_pool)
{
    void *k = NULL;

    apr_pool_userdata_get(&k, CORS_COUNTERS_KEY, process_pool);
    return k;
}

/* A virtual host's name in the counters, the same across restarts:
 * ServerName and the port of ServerName, else of the first address of
 * <VirtualHost> (none for "*" or the main server without one).  Every byte
 * outside printable ASCII, and '\', '(' and ')', is written \xNN as in
 * httpd's error log: the name is ASCII (valid UTF-8 on the metrics page,
 * whatever bytes ServerName holds), two names stay two names, and none is
 * "(other)" or "(total)" (ap_escape_logitem() would keep the parentheses
 * and write '\' and '"' otherwise). */
static const char *cors_row_name(apr_pool_t *p, const server_rec *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *c = (const unsigned char *)(s->server_hostname
                                                     ? s->server_hostname
                                                     : "");
    unsigned port = s->port ? s->port
                            : s->addrs ? s->addrs->host_port : 0;
    char *name = apr_palloc(p, 4 * strlen((const char *)c) + 7), *w = name;

    for (; *c; c++) {
        if (*c < 0x20 || *c > 0x7e || *c == '\\' || *c == '(' || *c == ')') {
            *w++ = '\\';
            *w++ = 'x';
            *w++ = hex[*c >> 4];
            *w++ = hex[*c & 0xf];
        }
        else {
            *w++ = (char)*c;
        }
    }
    if (port) {
        apr_snprintf(w, 7, ":%u", port);
    }
    else {
        *w = '\0';
    }
    return name;
}

/* Whether some listener would give a connection to the main server: one
 * that no <VirtualHost> address takes, a wildcard one ('*', _default_)
 * with its port or any, or the listener's own address (server/vhost.c,
 * ap_update_vhost_given_ip()).  On a stock Debian the <VirtualHost *:80>
 * takes every connection, and the main server gets none. */
static int cors_main_server_reachable(const server_rec *main_server)
{
    const ap_listen_rec *l;

    for (l = ap_listeners; l; l = l->next) {
        const server_rec *s;
        int taken = 0;

        for (s = main_server->next; s && !taken; s = s->next) {
            const server_addr_rec *a;

            for (a = s->addrs; a && !taken; a = a->next) {
                taken = (!a->host_port || a->host_port == l->bind_addr->port)
                        && (apr_sockaddr_is_wildcard(a->host_addr)
                            || (!apr_sockaddr_is_wildcard(l->bind_addr)
                                && apr_sockaddr_equal(a->host_addr,
                                                      l->bind_addr)));
            }
        }
        if (!taken) {
            return 1;
        }
    }
    return 0;
}

/* Give each virtual host of the list its row: the one its name has, else
 * a new one while there is room, else "(other)".  A row is shown once a
 * server that can get requests uses it (every virtual host; the main
 * server only when a listener is left to it), or once it counted. */
static void cors_counters_assign(cors_counters *k, server_rec *s,
                                 apr_pool_t *ptemp)
{
    int main_reachable = cors_main_server_reachable(s);

    for (; s; s = s->next) {
        cors_srv_conf *sc = ap_get_module_config(s->module_config,
                                                 &cors_module);
        const char *name = cors_row_name(ptemp, s);
        apr_uint64_t *row = apr_hash_get(k->by_name, name,
                                         APR_HASH_KEY_STRING);

        if (!row && k->used < k->rows - 1) {
            row = k->counts + (apr_size_t)k->used++ * CORS_OUTCOME_COUNT;
            name = apr_pstrdup(k->pool, name);
            APR_ARRAY_PUSH(k->names, const char *) = name;
            apr_hash_set(k->by_name, name, APR_HASH_KEY_STRING, row);
        }
        else if (!row) {
            row = k->counts + (apr_size_t)(k->rows - 1) * CORS_OUTCOME_COUNT;
            k->other_used = 1;
        }
        if (s->is_virtual || main_reachable) {
            k->shown[(row - k->counts) / CORS_OUTCOME_COUNT] = 1;
        }
        sc->counts = row;
    }
}

/* The rows: one per name, then "(other)".  Row i's counts are read into v
 * (atomically, each) and added to total; its name is returned, or NULL
 * for a row not shown: one no server that can get requests used, and that
 * counted nothing, or "(other)" while no host counts in it. */
static int cors_counters_rows(const cors_counters *k)
{
    return k->used + 1;
}

static const char *cors_counters_read(const cors_counters *k, int i,
                                      apr_uint64_t *v, apr_uint64_t *total)
{
    int row = i < k->used ? i : k->rows - 1;
    apr_uint64_t *c = k->counts + (apr_size_t)row * CORS_OUTCOME_COUNT;
    int counted = 0;
    apr_size_t j;

    for (j = 0; j < CORS_OUTCOME_COUNT; j++) {
        v[j] = apr_atomic_read64(&c[j]);
        total[j] += v[j];
        counted |= v[j] != 0;
    }
    if (i >= k->used) {
        return k->other_used ? CORS_OTHER_ROW : NULL;
    }
    return k->shown[row] || counted ? APR_ARRAY_IDX(k->names, i, const char *)
                                    : NULL;
}

/* The ?auto key of an outcome: CORSRequests_ and the CORS_RESULT value
 * with '_' for ':' and '-' ("CORSRequests_denied_origin"). */
static const char *cors_auto_key(apr_pool_t *p, const char *result)
{
    char *key = apr_pstrcat(p, "CORSRequests_", result, NULL), *c;

    for (c = key; *c; c++) {
        if (*c == ':' || *c == '-') {
            *c = '_';
        }
    }
    return key;
}

/* mod_status's ?auto lines: the totals, per outcome and in all. */
static void cors_status_auto(request_rec *r, const apr_uint64_t *total)
{
    apr_uint64_t all = 0;
    apr_size_t j;

    for (j = 0; j < CORS_OUTCOME_COUNT; j++) {
        all += total[j];
    }
    ap_rprintf(r, "CORSRequests: %" APR_UINT64_T_FMT "\n", all);
    for (j = 0; j < CORS_OUTCOME_COUNT; j++) {
        ap_rprintf(r, "%s: %" APR_UINT64_T_FMT "\n",
                   cors_auto_key(r->pool, cors_outcomes[j].result), total[j]);
    }
}

/* One row of the HTML table: a name and its counts, then their sum. */
static void cors_status_row(request_rec *r, const char *name,
                            const apr_uint64_t *v)
{
    apr_uint64_t all = 0;
    apr_size_t j;

    ap_rvputs(r, "<tr><td>", ap_escape_html(r->pool, name), "</td>", NULL);
    for (j = 0; j < CORS_OUTCOME_COUNT; j++) {
        ap_rprintf(r, "<td>%" APR_UINT64_T_FMT "</td>", v[j]);
        all += v[j];
    }
    ap_rprintf(r, "<td>%" APR_UINT64_T_FMT "</td></tr>\n", all);
}

/* mod_status's page: a "CORS" table, a row for each virtual host and one
 * for the totals. */
static void cors_status_html(request_rec *r, const cors_counters *k)
{
    apr_uint64_t v[CORS_OUTCOME_COUNT], total[CORS_OUTCOME_COUNT] = { 0 };
    char since[APR_RFC822_DATE_LEN];
    apr_size_t j;
    int i;

    apr_rfc822_date(since, k->reset);
    ap_rvputs(r, "<hr />\n<h2>CORS</h2>\n<p>mod_cors decisions (CORS_RESULT)"
              " by virtual host since ", since, " (kept across graceful "
              "restarts)</p>\n<table border=\"1\">\n<tr><th>Virtual host"
              "</th>", NULL);
    for (j = 0; j < CORS_OUTCOME_COUNT; j++) {
        ap_rvputs(r, "<th title=\"request=", cors_outcomes[j].request,
                  " outcome=", cors_outcomes[j].outcome, " reason=",
                  cors_outcomes[j].reason, "\">", cors_outcomes[j].result,
                  "</th>", NULL);
    }
    ap_rputs("<th>all</th></tr>\n", r);
    for (i = 0; i < cors_counters_rows(k); i++) {
        const char *name = cors_counters_read(k, i, v, total);

        if (name) {
            cors_status_row(r, name, v);
        }
    }
    cors_status_row(r, CORS_TOTAL_ROW, total);
    ap_rputs("</table>\n", r);
    if (k->other_used) {
        ap_rputs("<p>" CORS_OTHER_ROW ": virtual hosts that graceful restarts "
                 "added once the room was taken (a full restart makes room)"
                 "</p>\n", r);
    }
}

/* A label value of the Prometheus text format: \, " and newline escaped. */
static const char *cors_prom_label(apr_pool_t *p, const char *s)
{
    char *o, *w;

    if (!strpbrk(s, "\\\"\n")) {
        return s;
    }
    o = w = apr_palloc(p, 2 * strlen(s) + 1);
    for (; *s; s++) {
        if (*s == '\\' || *s == '"' || *s == '\n') {
            *w++ = '\\';
            *w++ = *s == '\n' ? 'n' : *s;
        }
        else {
            *w++ = *s;
        }
    }
    *w = '\0';
    return o;
}

/* The cors-metrics page: the counters in the Prometheus text exposition
 * format, version 0.0.4, a label per dimension of the outcome (what was
 * asked, the outcome, the reason), so that sum by () needs no regular
 * expression. */
static int cors_metrics_page(request_rec *r)
{
    const cors_counters *k;
    apr_uint64_t v[CORS_OUTCOME_COUNT], total[CORS_OUTCOME_COUNT] = { 0 };
    apr_size_t j;
    int i;

    if (r->method_number != M_GET) {
        ap_allow_methods(r, REPLACE_ALLOW, "GET", "HEAD", NULL);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    ap_discard_request_body(r);
    ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
    k = cors_counters_get(r->server->process->pool);
    if (r->header_only || !k) {
        return OK;
    }
    ap_rputs("# HELP mod_cors_requests_total Requests mod_cors decided, by "
             "virtual host, what was asked, outcome and reason.\n"
             "# TYPE mod_cors_requests_total counter\n", r);
    for (i = 0; i < cors_counters_rows(k); i++) {
        const char *vhost = cors_counters_read(k, i, v, total);

        if (!vhost) {
            continue;
        }
        vhost = cors_prom_label(r->pool, vhost);
        for (j = 0; j < CORS_OUTCOME_COUNT; j++) {
            ap_rprintf(r, "mod_cors_requests_total{vhost=\"%s\",request=\"%s\","
                       "outcome=\"%s\",reason=\"%s\"} %" APR_UINT64_T_FMT "\n",
                       vhost, cors_outcomes[j].request,
                       cors_outcomes[j].outcome, cors_outcomes[j].reason, v[j]);
        }
    }
    ap_rprintf(r, "# HELP mod_cors_counters_reset_time_seconds When the "
               "counters were last set to zero (start-up or full restart), "
               "in seconds since the epoch.\n"
               "# TYPE mod_cors_counters_reset_time_seconds gauge\n"
               "mod_cors_counters_reset_time_seconds %" APR_TIME_T_FMT "\n",
               apr_time_sec(k->reset));
    ap_rputs("# HELP mod_cors_build_info The module's version, as a label "
             "of a constant 1.\n"
             "# TYPE mod_cors_build_info gauge\n"
             "mod_cors_build_info{version=\"" CORS_VERSION "\"} 1\n", r);
    return OK;
}

/*
 * +----------------------------------------------------------------------+
 * |                                                                      |
 * |  Hooks: configuration, start-up, request and handler                 |
 * |                                                                      |
 * +----------------------------------------------------------------------+
 */

static int cors_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp)
{
    (void)plog;
    cors_count_exact = 0;
    cors_count_patterns = 0;
    cors_psl_load(pconf, ptemp);
    /* Origins from a database: mod_dbd's functions looked up again (a
     * restart may load it elsewhere), and the cache's lock, named for the
     * Mutex directive */
    cors_dbd_used = 0;
    cors_dbd_prepared = NULL;
    cors_dbd_prepare_fn = NULL;
    cors_dbd_acquire_fn = NULL;
    return ap_mutex_register(pconf, cors_dbd_mutex_id, NULL,
                             APR_LOCK_DEFAULT, 0) == APR_SUCCESS ? OK : !OK;
}

/* The start-up line (CORS0001): how many origins the configuration holds. */
static void cors_log_startup(server_rec *s)
{
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "CORS0001: mod_cors/"
                 CORS_VERSION ": %d exact origins and %d patterns loaded",
                 cors_count_exact, cors_count_patterns);
}

/* apachectl -t, and the terminal at start-up: the configuration warnings
 * (the log level of the main server is final here, and its error log is
 * still stderr). */
static int cors_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp, server_rec *s)
{
    (void)plog;
    cors_log_config_warnings(s);
    /* a statement needs a cache (CORS0070) */
    return cors_dbd_check_config(s, pconf, ptemp);
}

static void cors_test_config(apr_pool_t *pconf, server_rec *s)
{
    (void)pconf;
    cors_log_startup(s);
}

static int cors_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s)
{
    cors_counters *k = cors_counters_get(s->process->pool);

    (void)plog;
    /* httpd reads its configuration twice at start-up: report once, and
     * the warnings of the first reading into the error log, now open */
    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        cors_log_startup(s);
    }
    cors_log_config_warnings(s);
    /* a restart: the virtual hosts keep their rows (at a full restart,
     * pre_mpm then makes new counters) */
    if (k) {
        cors_counters_assign(k, s, ptemp);
    }
    /* origins from a database: the caches and their lock */
    return cors_dbd_setup(pconf, plog, ptemp, s);
}

/* child_init: the lock of the origins' cache, where one is used. */
static void cors_child_init(apr_pool_t *p, server_rec *s)
{
    cors_dbd_child_lock(p, s);
    cors_hta_child_init(p);
}

/* pre_mpm (start-up and full restarts): new counters, all zero. */
static int cors_pre_mpm(apr_pool_t *p, ap_scoreboard_e sb_type)
{
    cors_counters *k = cors_counters_get(p), fresh;
    apr_pool_t *ptemp;
    apr_shm_t *shm;
    apr_size_t size;
    apr_status_t rv;
    server_rec *s;
    int hosts = 0;

    (void)sb_type;
    if (k) {
        apr_pool_destroy(k->pool);      /* the last generation's */
        apr_pool_userdata_set(NULL, CORS_COUNTERS_KEY, NULL, p);
    }
    for (s = ap_server_conf; s; s = s->next) {
        hosts++;
    }
    memset(&fresh, 0, sizeof(fresh));
    fresh.rows = 2 * hosts + 16 + 1;
    size = (apr_size_t)fresh.rows * CORS_OUTCOME_COUNT * sizeof(apr_uint64_t);
    apr_pool_create(&fresh.pool, p);
    rv = apr_shm_create(&shm, size, NULL, fresh.pool);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, ap_server_conf,
                     "CORS0060: cannot create the counters' shared memory "
                     "(%" APR_SIZE_T_FMT " bytes)", size);
        apr_pool_destroy(fresh.pool);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    fresh.counts = apr_shm_baseaddr_get(shm);
    memset(fresh.counts, 0, size);
    fresh.by_name = apr_hash_make(fresh.pool);
    fresh.names = apr_array_make(fresh.pool, hosts, sizeof(const char *));
    fresh.shown = apr_pcalloc(fresh.pool, fresh.rows);
    fresh.reset = apr_time_now();
    k = apr_pmemdup(fresh.pool, &fresh, sizeof(fresh));
    apr_pool_userdata_set(k, CORS_COUNTERS_KEY, NULL, p);
    apr_pool_create(&ptemp, fresh.pool);
    cors_counters_assign(k, ap_server_conf, ptemp);
    apr_pool_destroy(ptemp);
    return OK;
}

/*
 * header_parser (main requests only): the per-directory configuration is
 * final, nothing has authenticated, redirected or handled the request yet.
 * A cross-origin write is checked under the request's own configuration
 * and refused with a 403 (ErrorDocument 403 applies), in or outside CORS
 * scope.  Preflights are answered; actual requests are decided, so that
 * CORS_RESULT is there for mod_rewrite, mod_headers and the log.  (An
 * ErrorDocument for a preflight that ReportOnly let through, or for a
 * refused write, is a GET: it keeps that decision.)
 */
static int cors_header_parser(request_rec *r)
{
    const cors_dir_conf *own = ap_get_module_config(r->per_dir_config,
                                                    &cors_module);
    const cors_dir_conf *c;
    cors_outcome write = 0;
    int checked = cors_acts(own->protect) && !cors_safe_method(r), refuse;
    cors_req q;

    memset(&q, 0, sizeof(q));
    if (checked) {
        q.origin = apr_table_get(r->headers_in, "Origin");
        write = cors_check_write(r, own, &q);
    }
    else if (r->prev && cors_chain_preflight(r)) {
        return DECLINED;
    }
    refuse = write && cors_on(own->protect);
    if (!(c = cors_conf(r))) {
        if (checked) {
            cors_publish_write(r, own, write, refuse);
        }
        return refuse ? HTTP_FORBIDDEN : DECLINED;
    }
    cors_read_request(r, c, &q, checked);
    if (q.method) {
        return cors_preflight(r, c, &q);
    }
    cors_decide(r, c, &q, write, refuse)->write_conf = checked ? own : NULL;
    return refuse ? HTTP_FORBIDDEN : DECLINED;
}

/* cors_fixups() for a write that c protects and header_parser did not
 * check under c (d: the decision made so far, if any). */
static CORS_NOINLINE int cors_fixups_check(request_rec *r,
                                           const cors_dir_conf *c,
                                           cors_decision *d)
{
    const cors_dir_conf *sc;
    cors_req q;
    cors_outcome write;
    int refused;

    memset(&q, 0, sizeof(q));
    q.origin = apr_table_get(r->headers_in, "Origin");
    write = cors_check_write(r, c, &q);
    refused = write && cors_on(c->protect);
    if (d && (!d->write_only || d->write)) {
        /* decided (and counted) under the first configuration: a
         * refusal is what CORS_RESULT names now */
        if (write && !d->write) {
            d->write = write;
            d->write_refused = refused;
            apr_table_setn(r->subprocess_env, "CORS_RESULT",
                           cors_outcomes[write].result);
        }
    }
    else if ((sc = cors_conf(r))) {
        /* in CORS scope now: decided as header_parser would have */
        cors_read_request(r, sc, &q, 1);
        cors_decide(r, sc, &q, write, refused)->write_conf = c;
    }
    else {
        cors_publish_write(r, c, write, refused);
    }
    return refused ? HTTP_FORBIDDEN : DECLINED;
}

/*
 * fixups, after mod_dir's: DirectoryIndex and FallbackResource hand a
 * request over to another file's configuration after header_parser
 * (ap_internal_fast_redirect()).  A write that this configuration protects
 * and that was not checked under it is checked now, after authentication
 * and before the handler.
 */
static int cors_fixups(request_rec *r)
{
    const cors_dir_conf *c;
    cors_decision *d;

    if (r->main || cors_safe_method(r)) {
        return DECLINED;
    }
    c = ap_get_module_config(r->per_dir_config, &cors_module);
    d = ap_get_module_config(r->request_config, &cors_module);
    if (!cors_acts(c->protect) || (d && d->write_conf == c)) {
        return DECLINED;
    }
    return cors_fixups_check(r, c, d);
}

/*
 * Add the output filter to requests in scope: those header_parser decided
 * for, and those whose configuration is in scope although header_parser
 * did not decide (error responses for requests that failed before it, and
 * mod_dir's DirectoryIndex, which takes over the configuration of the
 * index file).  Subrequests (mod_include, mod_dir lookups) are left alone:
 * the main request writes the headers, once.
 */
static void cors_insert_filter(request_rec *r)
{
    const cors_decision *d;

    if (r->main) {
        return;
    }
    d = ap_get_module_config(r->request_config, &cors_module);
    if ((d && !d->write_only) || ((!d || !d->write) && cors_conf(r))) {
        ap_add_output_filter_handle(cors_filter_handle, NULL, r,
                                    r->connection);
    }
}

/* SetHandler cors-metrics.  httpd asks every handler about every request:
 * the first letter before the compare, and nothing else before it. */
static int cors_metrics_handler(request_rec *r)
{
    if (!r->handler || r->handler[0] != 'c'
        || strcmp(r->handler, "cors-metrics")) {
        return DECLINED;
    }
    return cors_metrics_page(r);
}

/* mod_status's optional hook: its page, or the ?auto lines. */
static int cors_status_hook(request_rec *r, int flags)
{
    const cors_counters *k = cors_counters_get(r->server->process->pool);
    apr_uint64_t v[CORS_OUTCOME_COUNT], total[CORS_OUTCOME_COUNT] = { 0 };
    int i;

    if (!k) {
        return OK;
    }
    if (!(flags & AP_STATUS_SHORT)) {
        cors_status_html(r, k);
        return OK;
    }
    for (i = 0; i < cors_counters_rows(k); i++) {
        cors_counters_read(k, i, v, total);
    }
    cors_status_auto(r, total);
    return OK;
}

static void cors_register_hooks(apr_pool_t *p)
{
    /* After mod_headers, so that our filter is added after (and runs
     * after) its FIXUP_HEADERS_* filters at the same filter type. */
    static const char *const after_headers[] = { "mod_headers.c", NULL };

    (void)p;
    cors_init_classes();
    ap_hook_pre_config(cors_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(cors_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(cors_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_test_config(cors_test_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* The per-dir config is final and nothing has authenticated,
     * redirected or handled the request yet. */
    ap_hook_header_parser(cors_header_parser, NULL, NULL, APR_HOOK_MIDDLE);
    /* After mod_dir's fixups, which can hand the request over to another
     * file's configuration (cors_fixups()). */
    ap_hook_fixups(cors_fixups, NULL, NULL, APR_HOOK_REALLY_LAST);
    ap_hook_insert_filter(cors_insert_filter, after_headers, NULL,
                          APR_HOOK_LAST);
    ap_hook_insert_error_filter(cors_insert_filter, after_headers, NULL,
                                APR_HOOK_LAST);
    /* The counters: made where the scoreboard is (pre_mpm), shown by
     * mod_status when it is loaded, and by the cors-metrics handler. */
    ap_hook_pre_mpm(cors_pre_mpm, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, cors_status_hook, NULL, NULL,
                      APR_HOOK_MIDDLE);
    ap_hook_handler(cors_metrics_handler, NULL, NULL, APR_HOOK_MIDDLE);
    /* Origins from a database: the cache's lock in each child */
    ap_hook_child_init(cors_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    cors_filter_handle = ap_register_output_filter("CORS", cors_out_filter,
                                                   NULL,
                                                   AP_FTYPE_CONTENT_SET);
}

/*
 * +----------------------------------------------------------------------+
 * |                                                                      |
 * |  The module                                                          |
 * |                                                                      |
 * +----------------------------------------------------------------------+
 */

AP_DECLARE_MODULE(cors) = {
    STANDARD20_MODULE_STUFF,
    cors_create_dir_conf,
    cors_merge_dir_conf,
    cors_create_srv_conf,
    cors_merge_srv_conf,
    cors_cmds,
    cors_register_hooks,
    AP_MODULE_FLAG_ALWAYS_MERGE
};
