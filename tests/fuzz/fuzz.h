/*
 * tests/fuzz/fuzz.h: what the libFuzzer harnesses share.
 *
 * Each harness compiles the module's own source (the #include below: the
 * functions under test are static, and nothing is copied), with stubs.c for
 * the httpd functions it calls.  Configuration is given to the module the
 * way httpd gives it: a directive line is looked up in the module's own
 * command table (cors_cmds) and its handler is called with a cmd_parms, as
 * httpd's invoke_cmd() does, so a new directive is fuzzed without a change
 * here.  Failed invariants abort() with a message: libFuzzer saves the
 * input as a crash.
 *
 * Alongside the module, a deliberately simple reference matcher (fz_ref_*)
 * says which origins the configured rules cover; the harnesses check that
 * the module never allows an origin the reference does not (and, for the
 * origin harness, the converse).
 */
#ifndef CORS_FUZZ_H
#define CORS_FUZZ_H

#include "../../mod_cors.c"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "stubs.h"

#define FZ_MAX_SECTIONS 4
#define FZ_MAX_RULES 1024
#define FZ_MAX_ARGS 256

#define FZ_CHECK(cond, ...)                                                  \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "\ninvariant failed: %s (%s:%d)\n", #cond,       \
                    __FILE__, __LINE__);                                     \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
            abort();                                                         \
        }                                                                    \
    } while (0)

static apr_pool_t *fz_pool;      /* everything of one input; tracked */
/* the rules of the Public Suffix List's text, "*." and "!" ones left out
 * ("*.compute.amazonaws.com" counts as "compute.amazonaws.com" and
 * something below it): the reference for suffixes below a domain */
static const char **fz_psl_rules;
static int fz_psl_nrules;
static apr_pool_t *fz_pconf;     /* the pre_config hook's: the Public
                                  * Suffix List, loaded once */
static server_rec fz_server;
/* the server's configuration: its row of the counters */
static apr_uint64_t fz_counts[CORS_OUTCOME_COUNT];
static cors_srv_conf fz_srv_conf = { fz_counts };
static void *fz_server_config[1] = { &fz_srv_conf };

/* The list's text, one rule a line, into fz_psl_rules (a wildcard rule
 * "*.d" as "d*": d and any name below it). */
static void fz_psl_read(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512];
    int size = 0;

    FZ_CHECK(f != NULL, "cannot read %s: install publicsuffix "
             "(tools/deps.sh fuzz)", path);
    while (fgets(line, sizeof(line), f)) {
        char *e = line + strcspn(line, " \t\r\n");

        *e = '\0';
        if (!line[0] || line[0] == '!' || !strncmp(line, "//", 2)) {
            continue;
        }
        if (fz_psl_nrules == size) {
            size = size ? 2 * size : 1024;
            fz_psl_rules = realloc(fz_psl_rules, size * sizeof(char *));
        }
        fz_psl_rules[fz_psl_nrules++] = strncmp(line, "*.", 2)
            ? strdup(line) : apr_pstrcat(fz_pconf, line + 2, "*", NULL);
    }
    fclose(f);
}

/* Does a rule of the list name a suffix below domain (the reference: every
 * rule, one by one)? */
static int fz_psl_below(const char *domain)
{
    size_t dl = strlen(domain);
    int i;

    for (i = 0; i < fz_psl_nrules; i++) {
        const char *r = fz_psl_rules[i];
        size_t rl = strlen(r);

        if (r[rl - 1] == '*' && rl - 1 == dl && !strncmp(r, domain, dl)) {
            return 1;
        }
        rl -= r[rl - 1] == '*';
        if (rl > dl + 1 && r[rl - dl - 1] == '.'
            && !strncmp(r + rl - dl, domain, dl)) {
            return 1;
        }
    }
    return 0;
}

/* Is a subdomain pattern's domain on a public suffix: one itself (libpsl,
 * asked directly), or with one below it? */
static int fz_ref_public_suffix(const char *domain)
{
    return psl_is_public_suffix(cors_psl, domain) || fz_psl_below(domain);
}

static void fz_init(void)
{
    static int done;

    if (done) {
        return;
    }
    done = 1;
    apr_initialize();
    apr_pool_create(&fz_pool, NULL);
    apr_pool_create(&fz_pconf, NULL);
    /* the module is the only one: its config vector has one slot */
    cors_module.module_index = 0;
    fz_server.module_config = (ap_conf_vector_t *)fz_server_config;
    /* what httpd does with a module before reading the configuration */
    cors_module.register_hooks(fz_pool);
    if (fuzz_pre_config) {
        /* a pool of its own, never cleared: it keeps what the module loads
         * once per reading of the configuration (the real libpsl and the
         * system's Public Suffix List) */
        fuzz_pre_config(fz_pconf, fz_pconf, fz_pconf);
    }
    fuzz_track_pool(fz_pool);
    FZ_CHECK(cors_is_tchar('G'), "the module is not initialised as httpd "
             "would have it: see fz_init()");
    FZ_CHECK(cors_psl != NULL, "no Public Suffix List: install publicsuffix "
             "(tools/deps.sh fuzz)");
    fz_psl_read("/usr/share/publicsuffix/public_suffix_list.dat");
}

/* A NUL-terminated copy of [d, d+n) of exactly n+1 bytes (ASan-guarded). */
static char *fz_strn(const uint8_t *d, size_t n)
{
    char *s = apr_palloc(fz_pool, n + 1);

    memcpy(s, d, n);
    s[n] = '\0';
    return s;
}

/* Next line of [*p, end), or NULL at the end; *p moves past the '\n'. */
static char *fz_line(const char **p, const char *end)
{
    const char *s = *p, *nl;

    if (s >= end) {
        return NULL;
    }
    nl = memchr(s, '\n', end - s);
    if (!nl) {
        nl = end;
    }
    *p = nl < end ? nl + 1 : end;
    return fz_strn((const uint8_t *)s, nl - s);
}

/* ---- configuration, the way httpd's invoke_cmd() calls the handlers ---- */

typedef struct {
    cors_dir_conf *sec[FZ_MAX_SECTIONS];
    int nsec;
    /* every origin rule and expression accepted, in any section */
    const char *origins[FZ_MAX_RULES];
    int norigins;
    const char *regexes[FZ_MAX_RULES];
    int nregexes;
    int cleared;                 /* "CorsAllowOrigin none" was used */
    int deny_none[FZ_MAX_SECTIONS]; /* "CorsDenyOrigin none" in section i */
    /* every CorsDenyOrigin rule accepted (and "!" line of an origin file),
     * with the section's list it went into (a later "none" makes another:
     * the list a merged configuration carries has exactly its own rules) */
    const char *deny[FZ_MAX_RULES];
    const cors_origins *deny_in[FZ_MAX_RULES];
    int ndeny;
    int overflow;                /* more rules than recorded: no reference */
    const char *file;            /* the "@file" contents, lines */
    const char *file_path;
    const char *error;           /* the first directive error */
} fz_config;

/* Split a directive line into words; "double quoted" words may hold
 * spaces (as ap_getword_conf() allows).  Returns the number of words. */
static int fz_words(char *line, char **w, int max)
{
    int n = 0;
    char *s = line;

    while (*s && n < max) {
        while (*s == ' ' || *s == '\t') {
            s++;
        }
        if (!*s) {
            break;
        }
        if (*s == '"') {
            char *e = strchr(++s, '"');

            w[n++] = s;
            if (!e) {
                break;
            }
            *e = '\0';
            s = e + 1;
            continue;
        }
        w[n++] = s;
        while (*s && *s != ' ' && *s != '\t') {
            s++;
        }
        if (*s) {
            *s++ = '\0';
        }
    }
    return n;
}

/* A word as a configuration line would hold it for ap_getword_conf():
 * as it is when plain, else in double quotes with '\\' and '"' escaped. */
static const char *fz_conf_quote(const char *w)
{
    char *q, *d;

    if (*w && !strpbrk(w, " \t\n\v\f\r\"'\\")) {
        return w;
    }
    d = q = apr_palloc(fz_pool, 2 * strlen(w) + 3);
    *d++ = '"';
    for (; *w; w++) {
        if (*w == '\\' || *w == '"') {
            *d++ = '\\';
        }
        *d++ = *w;
    }
    *d++ = '"';
    *d = '\0';
    return q;
}

static const command_rec *fz_find_cmd(const char *name)
{
    const command_rec *c;

    for (c = cors_cmds; c->name; c++) {
        if (!strcasecmp(c->name, name)) {
            return c;
        }
    }
    return NULL;
}

static const char *fz_file_path(void)
{
    static char path[256];

    if (!path[0]) {
        const char *dir = getenv("TMPDIR");

        snprintf(path, sizeof(path), "%s/cors-fuzz-%ld.origins",
                 dir && *dir ? dir : "/tmp", (long)getpid());
    }
    return path;
}

static int fz_file_written;

/* Write the "@file" contents where "CorsAllowOriginFile @F" finds them. */
static void fz_write_file(fz_config *fc, const char *text)
{
    FILE *f = fopen(fz_file_path(), "w");

    fz_file_written = 1;
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    fc->file = text;
    fc->file_path = fz_file_path();
}

static void fz_record_deny(fz_config *fc, const cors_dir_conf *dc,
                           const char *rule)
{
    if (fc->ndeny < FZ_MAX_RULES) {
        fc->deny[fc->ndeny] = rule;
        fc->deny_in[fc->ndeny++] = dc->deny;
    }
}

/* A copy of the origin file's text, without the UTF-8 byte-order mark
 * the module skips. */
static char *fz_file_text(const fz_config *fc)
{
    const char *t = fc->file;

    return apr_pstrdup(fz_pool, strncmp(t, "\xEF\xBB\xBF", 3) ? t : t + 3);
}

/* The "!" lines of the origin file (blanks around them removed, as the
 * module does): its CorsDenyOrigin entries. */
static void fz_record_file_deny(fz_config *fc, const cors_dir_conf *dc)
{
    char *copy = fz_file_text(fc), *line, *save = NULL;

    for (line = apr_strtok(copy, "\n", &save); line;
         line = apr_strtok(NULL, "\n", &save)) {
        char *e = line + strlen(line);

        while (apr_isspace(*line)) {
            line++;
        }
        while (e > line && apr_isspace(e[-1])) {
            *--e = '\0';
        }
        if (line[0] == '!') {
            fz_record_deny(fc, dc, line + 1);
        }
    }
}

static void fz_record(fz_config *fc, const cors_dir_conf *dc,
                      const command_rec *cmd, int argc, char **argv)
{
    int i;

    if (!strcmp(cmd->name, "CorsDenyOrigin")) {
        int from = 0;

        /* "none" empties the list: the rules after the last one are in it */
        for (i = 0; i < argc; i++) {
            if (!strcasecmp(argv[i], "none")) {
                int s;

                from = i + 1;
                for (s = 0; s < fc->nsec; s++) {
                    fc->deny_none[s] |= fc->sec[s] == dc;
                }
            }
        }
        for (i = from; i < argc; i++) {
            fz_record_deny(fc, dc, argv[i]);
        }
        return;
    }
    if (!strcmp(cmd->name, "CorsAllowOriginFile") && fc->file) {
        fz_record_file_deny(fc, dc);
    }

    if (!strcmp(cmd->name, "CorsAllowOrigin")) {
        fc->overflow |= fc->norigins + argc > FZ_MAX_RULES;
        for (i = 0; i < argc && fc->norigins < FZ_MAX_RULES; i++) {
            fc->cleared |= !strcasecmp(argv[i], "none");
            fc->origins[fc->norigins++] = argv[i];
        }
    }
    else if (!strcmp(cmd->name, "CorsAllowOriginMatch") && argc == 1) {
        fc->overflow |= fc->nregexes == FZ_MAX_RULES;
        if (fc->nregexes < FZ_MAX_RULES) {
            fc->regexes[fc->nregexes++] = argv[0];
        }
    }
    else if (!strcmp(cmd->name, "CorsAllowOriginFile") && fc->file) {
        /* every word of the file: a superset of what was added */
        char *copy = fz_file_text(fc), *tok, *save = NULL;

        for (tok = apr_strtok(copy, " \t\r\n", &save); tok;
             tok = apr_strtok(NULL, " \t\r\n", &save)) {
            fc->overflow |= fc->norigins == FZ_MAX_RULES;
            if (fc->norigins < FZ_MAX_RULES) {
                fc->origins[fc->norigins++] = tok;
            }
        }
    }
}

/* Run one directive line against section dc; returns the error or NULL. */
static const char *fz_directive(fz_config *fc, cors_dir_conf *dc, char *line)
{
    char *w[FZ_MAX_ARGS];
    int n = fz_words(line, w, FZ_MAX_ARGS), nlist, i;
    const command_rec *cmd;
    cmd_parms parms;
    const char *err = NULL;

    if (n == 0 || w[0][0] == '#') {
        return NULL;
    }
    if (n == FZ_MAX_ARGS) {
        return "harness: too many arguments";   /* words may have been cut */
    }
    if (!(cmd = fz_find_cmd(w[0]))) {
        return "unknown directive";
    }
    for (i = 1; i < n; i++) {
        if (!strcmp(w[i], "@F")) {
            w[i] = (char *)fz_file_path();
        }
        else if (!strcmp(cmd->name, "CorsAllowOriginFile")) {
            return "harness: CorsAllowOriginFile reads only @F";
        }
    }
    /* httpd reads a list (ITERATE), and the module its line (RAW_ARGS), up
     * to the first empty word ("") */
    nlist = n;
    if (cmd->args_how == ITERATE || cmd->args_how == RAW_ARGS) {
        for (i = 1; i < n; i++) {
            if (!*w[i]) {
                nlist = i;
                break;
            }
        }
    }
    memset(&parms, 0, sizeof(parms));
    parms.info = cmd->cmd_data;
    parms.cmd = cmd;
    parms.pool = fz_pool;
    parms.temp_pool = fz_pool;
    parms.server = &fz_server;
    parms.path = "/fuzz/";
    parms.override = OR_ALL;
    switch (cmd->args_how) {
    case TAKE1:
        err = n == 2 ? cmd->AP_TAKE1(&parms, dc, w[1]) : "takes one argument";
        break;
    case ITERATE:
        if (nlist < 2) {
            err = "takes at least one argument";
        }
        for (i = 1; i < nlist && !err; i++) {
            err = cmd->AP_TAKE1(&parms, dc, w[i]);
        }
        break;
    case RAW_ARGS:
        /* the words again as one line, quoted as httpd reads them back */
        if (n < 2) {
            err = "takes at least one argument";
        }
        else {
            char *line = "";

            for (i = 1; i < n; i++) {
                line = apr_pstrcat(fz_pool, line, i > 1 ? " " : "",
                                   fz_conf_quote(w[i]), NULL);
            }
            err = cmd->AP_RAW_ARGS(&parms, dc, line);
        }
        break;
    case TAKE_ARGV:
        err = cmd->AP_TAKE_ARGV(&parms, dc, n - 1, w + 1);
        break;
    case FLAG:
        if (n != 2 || (strcasecmp(w[1], "on") && strcasecmp(w[1], "off"))) {
            err = "takes On or Off";
        }
        else {
            err = cmd->AP_FLAG(&parms, dc, !strcasecmp(w[1], "on"));
        }
        break;
    case NO_ARGS:
        err = n == 1 ? cmd->AP_NO_ARGS(&parms, dc) : "takes no argument";
        break;
    case TAKE2:
        err = n == 3 ? cmd->AP_TAKE2(&parms, dc, w[1], w[2])
                     : "takes two arguments";
        break;
    case TAKE12:
        err = n == 2 ? cmd->AP_TAKE2(&parms, dc, w[1], NULL)
              : n == 3 ? cmd->AP_TAKE2(&parms, dc, w[1], w[2])
              : "takes one or two arguments";
        break;
    default:
        err = "argument form not supported by the harness";
        break;
    }
    if (!err) {
        fz_record(fc, dc, cmd, nlist - 1, w + 1);
    }
    return err;
}

/*
 * Parse a configuration: directive lines; a line starting with '<' opens
 * the next section (merged over the ones before, like nested <Location>s);
 * "@file" makes the rest of the lines up to "@end" the contents of the file
 * that "CorsAllowOriginFile @F" reads.  Stops at the first error, as httpd
 * does.  Returns the number of lines consumed.
 */
static void fz_parse_config(fz_config *fc, const char **p, const char *end,
                            const char *stop)
{
    char *line;

    memset(fc, 0, sizeof(*fc));
    if (fz_file_written) {
        unlink(fz_file_path());    /* no contents left from an earlier input */
        fz_file_written = 0;
    }
    fc->sec[0] = cors_create_dir_conf(fz_pool, NULL);
    fc->nsec = 1;
    while ((line = fz_line(p, end))) {
        if (stop && !strcmp(line, stop)) {
            break;
        }
        if (fc->error) {
            continue;
        }
        if (line[0] == '<') {
            if (fc->nsec < FZ_MAX_SECTIONS) {
                fc->sec[fc->nsec++] = cors_create_dir_conf(fz_pool, NULL);
            }
            continue;
        }
        if (!strcmp(line, "@file")) {
            const char *start = *p, *e = *p;
            char *l;

            while ((l = fz_line(p, end)) && strcmp(l, "@end")) {
                e = *p;
            }
            fz_write_file(fc, fz_strn((const uint8_t *)start, e - start));
            continue;
        }
        fc->error = fz_directive(fc, fc->sec[fc->nsec - 1], line);
    }
}

/* The sections merged as httpd merges them: the nested sections (all but
 * the first) with each other, in order, then the result onto the first,
 * the server's configuration. */
static cors_dir_conf *fz_merged(const fz_config *fc)
{
    cors_dir_conf *m;
    int i;

    if (fc->nsec == 1) {
        return fc->sec[0];
    }
    m = fc->sec[1];
    for (i = 2; i < fc->nsec; i++) {
        m = cors_merge_dir_conf(fz_pool, m, fc->sec[i]);
    }
    return cors_merge_dir_conf(fz_pool, fc->sec[0], m);
}

/*
 * The deny lists in force once sections 0..last are merged (README
 * "Merging"): the list of each section that has one, outermost first,
 * starting again at a section that said "CorsDenyOrigin none".  Returns how
 * many, into out.
 */
static int fz_ref_denies(const fz_config *fc, int last,
                         const cors_origins **out)
{
    int s, n = 0;

    for (s = 0; s <= last; s++) {
        if (fc->deny_none[s]) {
            n = 0;
        }
        if (fc->sec[s]->deny) {
            out[n++] = fc->sec[s]->deny;
        }
    }
    return n;
}

/* ---- the reference matcher ------------------------------------------------ */

typedef struct {
    char scheme[64];
    char host[300];        /* lowercase; ".domain" for a subdomain pattern */
    int sub;               /* "*.domain" */
    int anyport;           /* ":*" */
    long port;             /* effective port; -1: none */
    int ipv6;
    unsigned char addr[16];
} fz_rule;

static long fz_default_port(const char *scheme)
{
    if (!strcmp(scheme, "http") || !strcmp(scheme, "ws")) {
        return 80;
    }
    if (!strcmp(scheme, "https") || !strcmp(scheme, "wss")) {
        return 443;
    }
    if (!strcmp(scheme, "ftp")) {
        return 21;
    }
    return -1;
}

/* Split "scheme://host[:port]"; lower != 0 lowercases (configured rules).
 * Returns 0 if it is not of that shape. */
static int fz_split(const char *in, fz_rule *r, int lower, int pattern)
{
    char buf[400];
    char *s, *sep, *host, *port = NULL;
    size_t i;

    memset(r, 0, sizeof(*r));
    if (strlen(in) >= sizeof(buf)) {
        return 0;
    }
    strcpy(buf, in);
    if (lower) {
        for (i = 0; buf[i]; i++) {
            buf[i] = apr_tolower(buf[i]);
        }
    }
    if (!(sep = strstr(buf, "://")) || sep == buf
        || (size_t)(sep - buf) >= sizeof(r->scheme)) {
        return 0;
    }
    *sep = '\0';
    for (s = buf; *s; s++) {
        if (!(apr_islower(*s) || (s > buf && (apr_isdigit(*s) || *s == '+'
                                              || *s == '-' || *s == '.')))) {
            return 0;
        }
    }
    strcpy(r->scheme, buf);
    host = sep + 3;
    if (pattern && !strncmp(host, "*.", 2)) {
        r->sub = 1;
        host++;
    }
    if (*host == '[') {
        char *e = strchr(host, ']');
        char a[64];

        if (!e || e - host - 1 >= 60) {
            return 0;
        }
        memcpy(a, host + 1, e - host - 1);
        a[e - host - 1] = '\0';
        if (inet_pton(AF_INET6, a, r->addr) != 1) {
            return 0;
        }
        r->ipv6 = 1;
        if (e[1] == ':') {
            port = e + 2;
        }
        else if (e[1]) {
            return 0;
        }
        e[1] = '\0';
    }
    else if ((port = strchr(host, ':'))) {
        *port++ = '\0';
    }
    if (!*host || strlen(host) >= sizeof(r->host)
        || strpbrk(host, "/?#@ \t*")) {
        return 0;
    }
    strcpy(r->host, host);
    r->port = fz_default_port(r->scheme);
    if (port) {
        char *e;
        long v;

        if (pattern && !strcmp(port, "*")) {
            r->anyport = 1;
            return 1;
        }
        if (!apr_isdigit(*port)) {
            return 0;
        }
        v = strtol(port, &e, 10);
        if (*e || v > 65535) {
            return 0;
        }
        r->port = v;
    }
    return 1;
}

static int fz_rule_match(const fz_rule *rule, const fz_rule *o)
{
    size_t hl, dl;

    if (strcmp(rule->scheme, o->scheme) || rule->ipv6 != o->ipv6) {
        return 0;
    }
    if (!rule->anyport && rule->port != o->port) {
        return 0;
    }
    if (rule->ipv6) {
        return !memcmp(rule->addr, o->addr, 16);
    }
    if (!rule->sub) {
        return !strcmp(rule->host, o->host);
    }
    hl = strlen(o->host);
    dl = strlen(rule->host);          /* ".domain" */
    return hl > dl && !strcmp(o->host + hl - dl, rule->host)
           && o->host[hl - dl - 1] != '.';
}

/* Does a configured CorsAllowOrigin rule (not '*', not a regex) cover it?
 * With credentialed != 0, only a rule that may go with credentials: not a
 * plain-http subdomain pattern, nor one on a public suffix (libpsl, asked
 * directly). */
static int fz_ref_rules(const fz_config *fc, const char *origin,
                        int credentialed)
{
    fz_rule o, rule;
    int i;

    if (fc->overflow) {
        return 1;                 /* too many to compare: no verdict */
    }
    for (i = 0; i < fc->norigins; i++) {
        if (!strcasecmp(fc->origins[i], "null") && !strcmp(origin, "null")) {
            return 1;
        }
    }
    if (!fz_split(origin, &o, 0, 0)) {
        return 0;
    }
    for (i = 0; i < fc->norigins; i++) {
        if (fz_split(fc->origins[i], &rule, 1, 1) && fz_rule_match(&rule, &o)
            && !(credentialed && rule.sub
                 && (!strcmp(rule.scheme, "http")
                     || fz_ref_public_suffix(rule.host + 1)))) {
            return 1;
        }
    }
    return 0;
}

/* Does a CorsDenyOrigin rule that went into the list deny cover it? */
static int fz_ref_denied(const fz_config *fc, const cors_origins *deny,
                         const char *origin)
{
    fz_rule o, rule;
    int i;

    for (i = 0; deny && i < fc->ndeny; i++) {
        if (fc->deny_in[i] != deny) {
            continue;
        }
        if (!strcasecmp(fc->deny[i], "null")) {
            if (!strcmp(origin, "null")) {
                return 1;
            }
        }
        else if (fz_split(origin, &o, 0, 0)
                 && fz_split(fc->deny[i], &rule, 1, 1)
                 && fz_rule_match(&rule, &o)) {
            return 1;
        }
    }
    return 0;
}

/* Does re match all of s (some match from the first byte to the last)? */
static int fz_whole_match(const ap_regex_t *re, const char *s)
{
    ap_regmatch_t m[1];

    return !ap_regexec(re, s, 1, m, 0) && m[0].rm_so == 0
           && (size_t)m[0].rm_eo == strlen(s);
}

/* Does a configured CorsAllowOriginMatch expression match it whole?  With
 * narrow != 0, only expressions that do not also match an unrelated origin. */
static int fz_ref_regex(const fz_config *fc, const char *origin, int narrow)
{
    int i;

    if (fc->overflow) {
        return 1;
    }
    for (i = 0; i < fc->nregexes; i++) {
        ap_regex_t *re = ap_pregcomp(fz_pool, apr_pstrcat(fz_pool, "^(?:",
                                     fc->regexes[i], ")$", NULL), 0);

        if (!re || !fz_whole_match(re, origin)) {
            continue;
        }
        if (narrow && (fz_whole_match(re, "https://mod-cors-probe.invalid")
                       || fz_whole_match(re, "http://mod-cors-probe.invalid"))) {
            continue;
        }
        return 1;
    }
    return 0;
}

/* ---- requests -------------------------------------------------------------- */

static request_rec *fz_request(const cors_dir_conf *conf)
{
    request_rec *r = apr_pcalloc(fz_pool, sizeof(*r));
    void **per_dir = apr_pcalloc(fz_pool, sizeof(void *));
    void **req_conf = apr_pcalloc(fz_pool, sizeof(void *));

    per_dir[0] = (void *)conf;
    r->pool = fz_pool;
    r->server = &fz_server;
    r->connection = apr_pcalloc(fz_pool, sizeof(conn_rec));
    r->headers_in = apr_table_make(fz_pool, 4);
    r->headers_out = apr_table_make(fz_pool, 4);
    r->err_headers_out = apr_table_make(fz_pool, 2);
    r->subprocess_env = apr_table_make(fz_pool, 2);
    r->notes = apr_table_make(fz_pool, 2);
    r->per_dir_config = (ap_conf_vector_t *)per_dir;
    r->request_config = (ap_conf_vector_t *)req_conf;
    r->method = "GET";
    r->uri = "/fuzz/x";
    r->status = HTTP_OK;
    return r;
}

static int fz_count(const apr_table_t *t, const char *name)
{
    const apr_array_header_t *a = apr_table_elts(t);
    const apr_table_entry_t *e = (const apr_table_entry_t *)a->elts;
    int i, n = 0;

    for (i = 0; i < a->nelts; i++) {
        if (e[i].key && !strcasecmp(e[i].key, name)) {
            n++;
        }
    }
    return n;
}

static int fz_count_prefix(const apr_table_t *t, const char *prefix)
{
    const apr_array_header_t *a = apr_table_elts(t);
    const apr_table_entry_t *e = (const apr_table_entry_t *)a->elts;
    int i, n = 0;

    for (i = 0; i < a->nelts; i++) {
        if (e[i].key && !strncasecmp(e[i].key, prefix, strlen(prefix))) {
            n++;
        }
    }
    return n;
}

/* Header value bytes a response may carry: visible ASCII, SP, HTAB. */
static int fz_clean_value(const char *v)
{
    for (; *v; v++) {
        unsigned char c = *v;

        if ((c < 0x20 && c != '\t') || c >= 0x7f) {
            return 0;
        }
    }
    return 1;
}

/*
 * Split a comma-separated list the way the Fetch standard and RFC 9110 do
 * (elements trimmed of SP/HTAB, empty ones dropped) into w; returns the
 * count (at most max).
 */
static int fz_list(const char *v, const char **w, int max, int lower)
{
    int n = 0;

    while (*v && n < max) {
        const char *s, *e;

        while (*v == ',' || *v == ' ' || *v == '\t') {
            v++;
        }
        s = v;
        while (*v && *v != ',') {
            v++;
        }
        e = v;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t')) {
            e--;
        }
        if (e > s) {
            char *t = fz_strn((const uint8_t *)s, e - s), *q;

            if (lower) {
                for (q = t; *q; q++) {
                    *q = apr_tolower(*q);
                }
            }
            w[n++] = t;
        }
    }
    return n;
}

#endif
