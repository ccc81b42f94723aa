/* xmalloc: allocation that cannot fail (aborts with a log line on OOM).
 * xmalloc_fail_at(n) makes the n-th following allocation fail, for tests. */
#ifndef KUBARR_XMALLOC_H
#define KUBARR_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Test hook: the n-th allocation from now on (1 = the next one) fails; 0 disables. */
void xmalloc_fail_at(unsigned long n);

#endif
