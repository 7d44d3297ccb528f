/*
 * tests/sanitize/pool_shim.h: force-included (gcc -include) into the
 * sanitizer build of mod_cors.c by `make test-asan`; never in a release build.
 *
 * APR pools hand out memory from large blocks, so AddressSanitizer cannot see
 * an overflow from one pool allocation into the next.  This shim turns every
 * apr_palloc()/apr_pcalloc() that mod_cors.c itself calls into a separate
 * malloc(), freed by a cleanup on the same pool: ASan then puts red zones
 * around each of the module's buffers (the ones whose sizes the module
 * computes: cors_check_headers' output, cors_vary_merge's, the configuration
 * structs) and reports a use after the pool is cleared.  Allocations made
 * inside APR and httpd (apr_pstrcat, tables, ...) stay in pool blocks.
 *
 * Lifetime is the pool's, as with APR; the only difference is that a block
 * is freed when its cleanup runs (cleanups run in reverse order of
 * registration) rather than after all cleanups.
 */
#ifndef CORS_POOL_SHIM_H
#define CORS_POOL_SHIM_H

#include <stdlib.h>
#include "apr_pools.h"

static apr_status_t cors_shim_free(void *block)
{
    free(block);
    return APR_SUCCESS;
}

static __attribute__((unused)) void *cors_shim_palloc(apr_pool_t *p,
                                                      apr_size_t size)
{
    void *block = malloc(size ? size : 1);

    if (!block) {
        abort();
    }
    /* gcc 12 takes passing fresh memory as a const void * for a read */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
    apr_pool_cleanup_register(p, block, cors_shim_free,
                              apr_pool_cleanup_null);
#pragma GCC diagnostic pop
    return block;
}

/* apr_pcalloc() is memset(apr_palloc()) in apr_pools.h: covered too. */
#undef apr_palloc
#define apr_palloc(p, size) cors_shim_palloc((p), (size))

#endif
