/* Fuzz target: the IPC envelope and every op's decoders (untrusted msgpack
 * from a peer socket).  Invariant: any input is either refused with a reason
 * or decoded; nothing crashes, leaks or reads out of bounds. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "proto.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_env env;
	const char *err = NULL;

	if (proto_env_decode(&env, data, size, &err) != 0) {
		if (err == NULL || *err == '\0')
			abort(); /* a refusal always says why */
		proto_env_fini(&env);
		return 0;
	}
#define FUZZ_X_DECODE(num, NAME, name, by, doc)                          \
	{                                                                   \
		struct proto_##name##_req rq;                                   \
		struct proto_##name##_rep rp;                                   \
		if (proto_##name##_req_decode(&env, &rq, &err) != 0 && !err)    \
			abort();                                                    \
		if (proto_##name##_rep_decode(&env, &rp, &err) != 0 && !err)    \
			abort();                                                    \
	}
	PROTO_OPS(FUZZ_X_DECODE)
#undef FUZZ_X_DECODE
	{
		struct proto_error e;
		if (proto_error_decode(&env, &e, &err) == 0 && e.detail == NULL)
			abort();
	}
	proto_env_fini(&env);
	return 0;
}
