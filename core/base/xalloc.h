/*
 * xalloc.h - allocation that succeeds or stops the process.
 *
 * Most allocations in sluiced have no way to fail gracefully where they
 * happen: a configuration half built, a header list half copied, an error
 * message that must be recorded. Unchecked, a NULL there is a segfault
 * later, far from its cause, or silent corruption (a lost idempotency key,
 * a realloc that dropped the old block). These functions instead write one
 * line, "out of memory: cannot allocate N bytes", and abort() at once.
 * That is safe because anything a client already got a 2xx for is durable
 * in the store (store.h), so a restart loses nothing that was acknowledged.
 *
 * Call sites that can fail gracefully (answer 503, refuse one request) keep
 * calling malloc and checking. None of these returns NULL, even for size 0.
 */
#ifndef SLUICE_XALLOC_H
#define SLUICE_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
/* Never fails, so p = xrealloc(p, n) cannot lose the old block. */
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* For allocators that are not these (json_dumps): log that n bytes could
 * not be had, and abort. */
__attribute__((noreturn)) void xalloc_die(size_t n);

#endif
