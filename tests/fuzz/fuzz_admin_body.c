/* Fuzz target: the strict JSON body decoding of the administration routes
 * (json_body.c, routes_admin.c: what /api/users, /api/roles, /api/settings
 * and /api/audit/clear read from the network), over a fake request.
 * Invariants: a getter fails exactly when it set an answer, that answer is a
 * 400, and what it returns is well-formed (strings without NULs, ids >= 1). */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "json_body.h"
#include "routes_admin.h"

static void
fuzz_check(struct gw_req *r, int rc)
{
	if ((rc != 0) != (r->resp != NULL))
		abort();
	if (rc != 0 && r->status != MHD_HTTP_BAD_REQUEST)
		abort();
}

/* Runs one getter; false (answer dropped) when it failed. */
#define FUZZ_STEP(r, call)                                                          \
	do {                                                                            \
		int rc_ = (call);                                                           \
		fuzz_check((r), rc_);                                                       \
		if (rc_ != 0) {                                                             \
			MHD_destroy_response((r)->resp);                                        \
			(r)->resp = NULL;                                                       \
		}                                                                           \
	} while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_req r;
	json_t *b;
	const char *s = NULL;
	int64_t i64 = 0, *ids = NULL;
	size_t nids = 0;
	bool flag = false, has = false;
	struct proto_strs strs = {0};
	static const char *const fields[] = {"username", "email", "password", "name",
	    "description", "value", "theme", "new_password"};

	memset(&r, 0, sizeof(r));
	r.body = (char *)(uintptr_t)data;
	r.body_len = size;
	b = json_body_object(&r);
	fuzz_check(&r, b == NULL ? -1 : 0);
	if (b == NULL) {
		MHD_destroy_response(r.resp);
		return 0;
	}
	for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
		s = NULL;
		FUZZ_STEP(&r, json_body_str(&r, b, fields[k], k % 2 == 0, &s, &has));
		if (s != NULL && strlen(s) != json_string_length(json_object_get(b, fields[k])))
			abort();
	}
	FUZZ_STEP(&r, json_body_int(&r, b, "expires_in_days", false, &i64, &has));
	FUZZ_STEP(&r, json_body_int(&r, b, "days", true, &i64, &has));
	FUZZ_STEP(&r, json_body_bool(&r, b, "is_active", false, &flag, &has));
	FUZZ_STEP(&r, json_body_bool(&r, b, "requires_2fa", true, &flag, &has));
	FUZZ_STEP(&r, routes_admin_ids(&r, b, "role_ids", false, &ids, &nids, &has));
	for (size_t k = 0; k < nids; k++)
		if (ids[k] < 1)
			abort();
	free(ids);
	FUZZ_STEP(&r, routes_admin_strs(&r, b, "permissions", false, &strs, &has));
	for (size_t k = 0; k < strs.n; k++)
		if (strs.v[k] == NULL || strs.v[k][0] == '\0')
			abort();
	free(strs.v);
	FUZZ_STEP(&r, routes_admin_strs(&r, b, "app_names", true, &strs, &has));
	free(strs.v);
	json_decref(b);
	return 0;
}
