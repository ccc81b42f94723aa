/* Fuzz target: the JWT front end and verifier (the token comes from a cookie).
 * A key pair is made once per process, so no input the fuzzer can build is
 * signed by it: any acceptance is a bug (alg confusion, "none", a parser
 * slip), and so is a crash.  The shape check alone runs too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "token.h"

static struct token_keys fuzz_keys;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *tok = malloc(size + 1), sid[TOKEN_SID_LEN + 1];
	const char *err = NULL;
	int64_t exp;

	if (fuzz_keys.public_pem == NULL) {
		char *e = NULL;

		if (token_keys_generate(&fuzz_keys, &e) != 0) {
			fprintf(stderr, "%s\n", e);
			abort();
		}
	}
	memcpy(tok, data, size);
	tok[size] = '\0';
	(void)token_check_shape(tok, &err);
	if (token_verify(&fuzz_keys, tok, 1800000000, sid, &exp, &err) == 0)
		abort();
	if (err == NULL)
		abort();
	free(tok);
	return 0;
}
