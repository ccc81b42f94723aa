/* routes_openapi: GET /api/openapi.json, generated from the route table
 * (router.c, the one source: a route cannot be served and undocumented), and
 * GET /api/docs, a self-contained page that renders it (no CDN, no external
 * script: it works on an offline homelab). */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "gateway.h"
#include "router.h"
#include "routes.h"
#include "xmalloc.h"

/* "/api/users/{id}/approve" -> "users" (the tag); "/auth/login" -> "auth". */
static json_t *
openapi_tag(const char *pattern)
{
	const char *s = strncmp(pattern, "/api/", 5) == 0 ? pattern + 5 : pattern + 1;
	size_t n = strcspn(s, "/");

	return json_stringn(s, n);
}

/* One path parameter per {name} of the pattern. */
static json_t *
openapi_params(const char *pattern)
{
	json_t *a = json_array();
	const char *p = pattern;

	while ((p = strchr(p, '{')) != NULL) {
		const char *end = strchr(p, '}');
		json_t *name;
		bool id;

		if (end == NULL)
			break;
		name = json_stringn(p + 1, (size_t)(end - p - 1));
		id = strcmp(json_string_value(name), "id") == 0 ||
		    strcmp(json_string_value(name), "slot") == 0;
		json_array_append_new(a, json_pack("{s:o, s:s, s:b, s:{s:s}}", "name", name, "in",
		    "path", "required", 1, "schema", "type", id ? "integer" : "string"));
		p = end + 1;
	}
	return a;
}

static json_t *
openapi_operation(const struct route *rt)
{
	json_t *op, *resp, *params = openapi_params(rt->pattern);
	const char *m = rt->method;
	bool body = strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0;

	resp = json_pack("{s:{s:s}}", "200", "description", "OK");
	if (body || json_array_size(params) > 0)
		json_object_set_new(resp, "400", json_pack("{s:s}", "description",
		    "Bad input (decision 17): {\"detail\"} names the field"));
	if (rt->permission != ROUTE_PUBLIC)
		json_object_set_new(resp, "401", json_pack("{s:s}", "description",
		    "Not authenticated"));
	if (rt->permission != ROUTE_PUBLIC && rt->permission[0] != '\0')
		json_object_set_new(resp, "403", json_pack("{s:s}", "description",
		    "Permission denied"));
	if (json_array_size(params) > 0)
		json_object_set_new(resp, "404", json_pack("{s:s}", "description", "Not found"));
	op = json_pack("{s:s, s:[o], s:o}", "summary", rt->summary != NULL ? rt->summary : "",
	    "tags", openapi_tag(rt->pattern), "responses", resp);
	if (json_array_size(params) > 0)
		json_object_set_new(op, "parameters", params);
	else
		json_decref(params);
	if (body)
		json_object_set_new(op, "requestBody", json_pack("{s:b, s:{s:{s:{s:s}}}}",
		    "required", 0, "content", "application/json", "schema", "type", "object"));
	if (rt->permission == ROUTE_PUBLIC) {
		json_object_set_new(op, "security", json_array());
		json_object_set_new(op, "x-permission", json_null());
	} else {
		json_object_set_new(op, "x-permission", json_string(rt->permission[0] != '\0' ?
		    rt->permission : "authenticated"));
	}
	if (rt->flags & ROUTE_F_LOOPBACK_OPEN)   /* no session needed from loopback */
		json_object_set_new(op, "x-loopback-open", json_true());
	return op;
}

static char *openapi_text;
static pthread_once_t openapi_once = PTHREAD_ONCE_INIT;

static void
openapi_build(void)
{
	size_t n;
	const struct route *rt = router_table(&n);
	json_t *paths = json_object(), *doc;
	char lower[16];

	for (size_t i = 0; i < n; i++) {
		json_t *item = json_object_get(paths, rt[i].pattern);
		size_t k;

		if (item == NULL) {
			item = json_object();
			json_object_set_new(paths, rt[i].pattern, item);
		}
		for (k = 0; rt[i].method[k] != '\0' && k + 1 < sizeof(lower); k++)
			lower[k] = (char)(rt[i].method[k] | 0x20);
		lower[k] = '\0';
		json_object_set_new(item, lower, openapi_operation(&rt[i]));
	}
	doc = json_pack("{s:s, s:{s:s, s:s, s:s}, s:o, s:{s:{s:{s:s, s:s, s:s}}}, s:[{s:[]}]}",
	    "openapi", "3.0.3", "info", "title", "kubarr", "version", daemon_version,
	    "description", "Generated from the gateway's route table. x-permission names the "
	    "permission a route needs (null: public).", "paths", paths, "components",
	    "securitySchemes", "cookieAuth", "type", "apiKey", "in", "cookie", "name",
	    "kubarr_session_0", "security", "cookieAuth");
	openapi_text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(doc);
	if (openapi_text == NULL)
		openapi_text = xstrdup("{}");
}

void
routes_openapi_json(struct gw_req *r)
{
	pthread_once(&openapi_once, openapi_build);
	gw_respond_json_text(r, MHD_HTTP_OK, openapi_text);
}

static const char openapi_docs_html[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>kubarr API</title>\n<style>\n"
    "body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:70em;padding:0 1em;"
    "color:#222}\n"
    "h1{font-size:1.6em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}\n"
    "table{border-collapse:collapse;width:100%}td{padding:.25em .5em;vertical-align:top;"
    "border-bottom:1px solid #eee}\n"
    ".m{font:bold 12px monospace;width:5em}.p{font-family:monospace}.perm{color:#666;"
    "width:12em}\n"
    ".GET{color:#1565c0}.POST{color:#2e7d32}.PUT{color:#ef6c00}.PATCH{color:#6a1b9a}"
    ".DELETE{color:#c62828}\n"
    "</style></head><body>\n<h1>kubarr API <small id=\"v\"></small></h1>\n"
    "<p>Generated from <a href=\"/api/openapi.json\">/api/openapi.json</a>. "
    "Permission: the one a route needs; <em>public</em> needs no session.</p>\n"
    "<input id=\"q\" placeholder=\"filter\" style=\"width:20em\">\n<div id=\"out\">Loading"
    "&hellip;</div>\n<script>\n"
    "'use strict';\n"
    "function el(t,c,x){const e=document.createElement(t);if(c)e.className=c;"
    "if(x!==undefined)e.textContent=x;return e;}\n"
    "function render(doc,q){const out=document.getElementById('out');out.textContent='';"
    "const groups={};\n"
    "for(const [path,item] of Object.entries(doc.paths))for(const [m,op] of "
    "Object.entries(item)){\n"
    "const tag=(op.tags||['other'])[0];const line=m+' '+path+' '+(op.summary||'');\n"
    "if(q&&line.toLowerCase().indexOf(q)<0)continue;(groups[tag]=groups[tag]||[]).push("
    "[m.toUpperCase(),path,op]);}\n"
    "for(const tag of Object.keys(groups).sort()){out.appendChild(el('h2','',tag));"
    "const tb=el('table');\n"
    "for(const [m,path,op] of groups[tag]){const tr=el('tr');tr.appendChild(el('td','m '+m,m));"
    "tr.appendChild(el('td','p',path));\n"
    "tr.appendChild(el('td','perm',op['x-permission']===null?'public':op['x-permission']));"
    "tr.appendChild(el('td','',op.summary||''));tb.appendChild(tr);}\n"
    "out.appendChild(tb);}}\n"
    "fetch('/api/openapi.json').then(r=>r.json()).then(doc=>{"
    "document.getElementById('v').textContent=doc.info.version;render(doc,'');\n"
    "document.getElementById('q').addEventListener('input',e=>render(doc,"
    "e.target.value.toLowerCase()));})\n"
    ".catch(e=>{document.getElementById('out').textContent='Cannot load the spec: '+e;});\n"
    "</script></body></html>\n";

void
routes_openapi_docs(struct gw_req *r)
{
	size_t len = sizeof(openapi_docs_html) - 1;
	struct MHD_Response *resp = MHD_create_response_from_buffer(len,
	    (void *)(uintptr_t)openapi_docs_html, MHD_RESPMEM_PERSISTENT);

	if (resp == NULL) {
		gw_respond_detail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal error");
		return;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
	MHD_add_response_header(resp, "Content-Security-Policy",
	    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
	    "connect-src 'self'");
	gw_respond(r, MHD_HTTP_OK, resp, len);
}
