/* Fuzz target: authd's Cookie header parser (the header comes straight from
 * the browser, through the gateway).  Invariants: no crash or leak; every
 * token found is a non-empty NUL-terminated substring value of the input;
 * the active slot is -1 or 0-4; cookies_pick agrees with the jar. */
#include <stdlib.h>
#include <string.h>

#include "cookies.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	struct cookie_jar jar;
	const char *err = NULL, *tok;
	int slot = -7;

	memcpy(buf, data, size);
	buf[size] = '\0';
	if (cookies_parse(buf, &jar, &err) == 0) {
		if (jar.active < -1 || jar.active >= COOKIES_SLOTS)
			abort();
		for (int i = 0; i < COOKIES_SLOTS; i++)
			if (jar.slot[i] != NULL &&
			    (jar.slot[i][0] == '\0' || strstr(buf, jar.slot[i]) == NULL))
				abort();
		if (jar.legacy != NULL && (jar.legacy[0] == '\0' || strstr(buf, jar.legacy) == NULL))
			abort();
		tok = cookies_pick(&jar, &slot);
		if (tok != NULL && slot == COOKIES_LEGACY && tok != jar.legacy)
			abort();
		if (tok != NULL && slot >= 0 && (slot >= COOKIES_SLOTS || tok != jar.slot[slot]))
			abort();
	} else if (err == NULL) {
		abort();
	}
	cookies_jar_fini(&jar);
	free(buf);
	return 0;
}
