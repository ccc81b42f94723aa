/* json_body: strict JSON request bodies (API.md decision 17).  Each getter
 * answers 400 with a detail naming the field and returns -1 when the body or
 * the field is wrong; the handler then just returns. */
#ifndef KUBARR_GATEWAY_JSON_BODY_H
#define KUBARR_GATEWAY_JSON_BODY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "http.h"

/* The body as a JSON object (owned by the caller), or NULL after a 400. */
json_t *json_body_object(struct gw_req *r);
/* required: absent -> 400.  Optional and absent (or null): *out unchanged, *has_r false. */
int json_body_str(struct gw_req *r, json_t *obj, const char *field, bool required,
    const char **out, bool *has_r);
int json_body_int(struct gw_req *r, json_t *obj, const char *field, bool required,
    int64_t *out, bool *has_r);
int json_body_bool(struct gw_req *r, json_t *obj, const char *field, bool required, bool *out,
    bool *has_r);

#endif
