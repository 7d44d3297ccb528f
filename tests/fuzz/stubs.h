/* tests/fuzz/stubs.h: what stubs.c offers the harnesses beyond httpd's API */
#ifndef CORS_FUZZ_STUBS_H
#define CORS_FUZZ_STUBS_H

#include "apr_pools.h"

/* Allocations from p become separate mallocs until fuzz_release(). */
void fuzz_track_pool(apr_pool_t *p);
/* Clear the tracked pool (running its cleanups) and free its blocks. */
void fuzz_release(void);
/* Calls of ap_add_output_filter_handle() so far. */
extern int fuzz_filters_added;
/* The module's pre_config hook, as its register_hooks gave it. */
typedef int fuzz_pre_config_fn(apr_pool_t *, apr_pool_t *, apr_pool_t *);
extern fuzz_pre_config_fn *fuzz_pre_config;
/* What ap_state_query(AP_SQ_MAIN_STATE) answers: AP_SQ_MS_CREATE_CONFIG
 * (reading the server's configuration), or AP_SQ_MS_RUN_MPM (.htaccess). */
extern int fuzz_main_state;

#endif
