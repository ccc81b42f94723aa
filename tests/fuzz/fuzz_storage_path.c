/* Fuzz target: the gateway's storage path normaliser (the ?path= of every
 * /api/storage route comes straight from the client).  Invariants: no crash;
 * a success is relative ("" or segments joined by single '/'), has no "." or
 * ".." segment, no NUL or control byte, is no longer than the input, every
 * segment of it is a segment of the input, and normalising it again gives
 * it back unchanged; any ".." segment in the input is refused. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "storage_path.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out = malloc(size + 1), *again = malloc(size + 1);
	enum storage_path_err e = storage_path_normalise((const char *)data, size, out, size + 1);
	bool dotdot = false;

	for (size_t i = 0; i < size; i++) {
		size_t j = i;

		while (j < size && data[j] != '/')
			j++;
		if (j - i == 2 && data[i] == '.' && data[i + 1] == '.')
			dotdot = true;
		i = j;
	}
	if (dotdot && e == STORAGE_PATH_OK)
		abort();
	if (e == STORAGE_PATH_OK) {
		size_t n = strlen(out);

		if (n > size || (n > 0 && (out[0] == '/' || out[n - 1] == '/')) ||
		    strstr(out, "//") != NULL)
			abort();
		for (char *seg = out; *seg != '\0';) {
			size_t len = strcspn(seg, "/");

			if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
				abort();
			for (size_t k = 0; k < len; k++)
				if ((unsigned char)seg[k] < 0x20 || seg[k] == 0x7f)
					abort();
			if (memmem(data, size, seg, len) == NULL)
				abort();
			seg += len;
			if (*seg == '/')
				seg++;
		}
		if (storage_path_normalise(out, n, again, size + 1) != STORAGE_PATH_OK ||
		    strcmp(out, again) != 0)
			abort();
	} else if (storage_path_status(e) != 400 && storage_path_status(e) != 403) {
		abort();
	}
	free(out);
	free(again);
	return 0;
}
