#include "xmalloc.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static atomic_ulong xmalloc_countdown;

static void
xmalloc_check(void *p, size_t size)
{
	unsigned long left = atomic_load(&xmalloc_countdown);

	if (left != 0 && atomic_fetch_sub(&xmalloc_countdown, 1) == 1) {
		free(p);
		p = NULL;
	}
	if (p == NULL) {
		log_error("out of memory allocating %zu bytes", size);
		abort();
	}
}

void
xmalloc_fail_at(unsigned long n)
{
	atomic_store(&xmalloc_countdown, n);
}

void *
xmalloc(size_t size)
{
	void *p = malloc(size == 0 ? 1 : size);

	xmalloc_check(p, size);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb == 0 ? 1 : nmemb, size == 0 ? 1 : size);

	xmalloc_check(p, nmemb * size);
	return p;
}

void *
xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size == 0 ? 1 : size);

	xmalloc_check(p, size);
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		log_error("xasprintf: bad format");
		abort();
	}
	s = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}
