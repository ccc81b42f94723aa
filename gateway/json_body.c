/* json_body: see json_body.h. */
#include "json_body.h"

#include <stdio.h>
#include <string.h>

json_t *
json_body_object(struct gw_req *r)
{
	json_error_t e;
	json_t *o;
	char msg[300];

	if (r->body == NULL || r->body_len == 0) {
		gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, "Request body required (a JSON object)");
		return NULL;
	}
	o = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &e);
	if (o == NULL) {
		snprintf(msg, sizeof(msg), "Malformed JSON at line %d, column %d: %s", e.line,
		    e.column, e.text);
		/* jansson's text may quote the offending bytes: keep the detail valid UTF-8
		 * (else the error body itself cannot be rendered and the 400 becomes a 500) */
		for (char *p = msg; *p != '\0'; p++)
			if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
				*p = '?';
		gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, msg);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, "Request body must be a JSON object");
		return NULL;
	}
	return o;
}

static json_t *
json_body_field(struct gw_req *r, json_t *obj, const char *field, bool required, bool *has_r)
{
	json_t *v = json_object_get(obj, field);
	char msg[200];

	if (has_r != NULL)
		*has_r = false;
	if (v == NULL || json_is_null(v)) {
		if (required) {
			snprintf(msg, sizeof(msg), "Field '%s' is required", field);
			gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, msg);
		}
		return NULL;
	}
	return v;
}

static int
json_body_type_error(struct gw_req *r, const char *field, const char *type)
{
	char msg[200];

	snprintf(msg, sizeof(msg), "Field '%s' must be %s", field, type);
	gw_respond_detail(r, MHD_HTTP_BAD_REQUEST, msg);
	return -1;
}

int
json_body_str(struct gw_req *r, json_t *obj, const char *field, bool required, const char **out,
    bool *has_r)
{
	json_t *v = json_body_field(r, obj, field, required, has_r);

	if (v == NULL)
		return required ? -1 : 0;
	if (!json_is_string(v))
		return json_body_type_error(r, field, "a string");
	if (strlen(json_string_value(v)) != json_string_length(v))
		return json_body_type_error(r, field, "a string without NUL characters");
	*out = json_string_value(v);
	if (has_r != NULL)
		*has_r = true;
	return 0;
}

int
json_body_int(struct gw_req *r, json_t *obj, const char *field, bool required, int64_t *out,
    bool *has_r)
{
	json_t *v = json_body_field(r, obj, field, required, has_r);

	if (v == NULL)
		return required ? -1 : 0;
	if (!json_is_integer(v))
		return json_body_type_error(r, field, "an integer");
	*out = json_integer_value(v);
	if (has_r != NULL)
		*has_r = true;
	return 0;
}

int
json_body_bool(struct gw_req *r, json_t *obj, const char *field, bool required, bool *out,
    bool *has_r)
{
	json_t *v = json_body_field(r, obj, field, required, has_r);

	if (v == NULL)
		return required ? -1 : 0;
	if (!json_is_boolean(v))
		return json_body_type_error(r, field, "true or false");
	*out = json_is_true(v);
	if (has_r != NULL)
		*has_r = true;
	return 0;
}
