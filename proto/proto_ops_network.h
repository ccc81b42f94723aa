/* Ops 500-599: VPN providers, app VPN configs, Cloudflare tunnels (storaged).
 * Same conventions as proto_ops.h.
 *
 * Secrets (decision 9): no LIST or GET reply carries a provider's
 * credentials_json or a tunnel's tunnel_token / api_token; records say only
 * whether one is stored (has_credentials, has_tunnel_token, has_api_token).
 * VPN_PROVIDER_SECRET and CLOUDFLARE_TUNNEL_SECRET return them for the code
 * that writes the Kubernetes secrets (storaged/authd side).  NO GATEWAY ROUTE
 * MAY CALL A *_SECRET OP, nor forward its reply.
 *
 * Errors: bad_request naming the invalid field; not_found "id" (no such
 * provider or tunnel), "app_name" (no config for the app), "vpn_provider_id"
 * (APP_VPN_SET with an unknown provider); conflict "id" when a provider still
 * used by apps is deleted without force (the detail gives the count).  A write
 * that fails writes nothing.
 *
 * Optional text fields of the UPDATE ops: absent keeps the value, "" clears a
 * nullable column (service_provider, api_token, account_id, ...). */
#ifndef KUBARR_PROTO_OPS_NETWORK_H
#define KUBARR_PROTO_OPS_NETWORK_H

#define PROTO_OPS_NETWORK(X)                                                                 \
	X(500, VPN_PROVIDER_LIST, vpn_provider_list, "storaged", "every VPN provider, by id")      \
	X(501, VPN_PROVIDER_GET, vpn_provider_get, "storaged", "one VPN provider")                 \
	X(502, VPN_PROVIDER_CREATE, vpn_provider_create, "storaged", "create a VPN provider")      \
	X(503, VPN_PROVIDER_UPDATE, vpn_provider_update, "storaged", "change a VPN provider")      \
	X(504, VPN_PROVIDER_DELETE, vpn_provider_delete, "storaged",                             \
	    "delete a VPN provider (refused while apps use it, unless forced)")                    \
	X(505, VPN_PROVIDER_SECRET, vpn_provider_secret, "storaged",                             \
	    "a provider's credentials: never through the gateway")                                 \
	X(520, APP_VPN_LIST, app_vpn_list, "storaged", "every app VPN config, by app name")        \
	X(521, APP_VPN_GET, app_vpn_get, "storaged", "one app's VPN config")                      \
	X(522, APP_VPN_SET, app_vpn_set, "storaged", "create or replace an app's VPN config")     \
	X(523, APP_VPN_DELETE, app_vpn_delete, "storaged", "remove an app's VPN config")          \
	X(540, CLOUDFLARE_TUNNEL_LIST, cloudflare_tunnel_list, "storaged", "every tunnel, by id")  \
	X(541, CLOUDFLARE_TUNNEL_GET, cloudflare_tunnel_get, "storaged", "one tunnel")            \
	X(542, CLOUDFLARE_TUNNEL_CREATE, cloudflare_tunnel_create, "storaged", "store a tunnel")  \
	X(543, CLOUDFLARE_TUNNEL_UPDATE, cloudflare_tunnel_update, "storaged",                   \
	    "change a tunnel's status, ids or tokens")                                             \
	X(544, CLOUDFLARE_TUNNEL_DELETE, cloudflare_tunnel_delete, "storaged", "delete a tunnel") \
	X(545, CLOUDFLARE_TUNNEL_SECRET, cloudflare_tunnel_secret, "storaged",                   \
	    "a tunnel's tokens: never through the gateway")

#define PROTO_RECORDS_NETWORK(R) R(vpn_provider) R(app_vpn) R(cf_tunnel)

/* ---- VPN providers ------------------------------------------------------ */

#define PROTO_REC_vpn_provider(F)                                                            \
	F(I64, id, "i", REQ, "provider id")                                                      \
	F(STR, name, "n", REQ, "display name")                                                   \
	F(STR, vpn_type, "t", REQ, "wireguard or openvpn")                                       \
	F(STR, service_provider, "sp", OPT, "gluetun provider (mullvad, custom, ...)")           \
	F(BOOL, enabled, "on", REQ, "usable by apps")                                            \
	F(BOOL, kill_switch, "ks", REQ, "default kill switch of its apps")                       \
	F(STR, firewall_outbound_subnets, "fw", REQ, "comma-separated CIDRs")                    \
	F(BOOL, has_credentials, "hc", REQ, "the credentials object has at least one key")       \
	F(I64, app_count, "ac", REQ, "apps using it")                                            \
	F(STR, created_at, "ct", REQ, "RFC 3339 UTC")                                            \
	F(STR, updated_at, "ut", REQ, "RFC 3339 UTC")
#define PROTO_CTYPE_RECS_vpn_provider struct proto_recs_vpn_provider

#define PROTO_VPN_PROVIDER_LIST_REQ(F)
#define PROTO_VPN_PROVIDER_LIST_REP(F) F(RECS_vpn_provider, providers, "l", REQ, "by id")

#define PROTO_VPN_PROVIDER_GET_REQ(F) F(I64, id, "i", REQ, "provider id")
#define PROTO_VPN_PROVIDER_GET_REP(F) PROTO_REC_vpn_provider(F)

/* VPN_PROVIDER_CREATE: name 1-255 bytes; service_provider [a-z0-9_-]{1,64};
 * credentials_json a JSON object (<= 64 KiB); firewall_outbound_subnets
 * IPv4/IPv6 CIDRs separated by commas, no spaces (default the RFC 1918 list). */
#define PROTO_VPN_PROVIDER_CREATE_REQ(F)                                                     \
	F(STR, name, "n", REQ, "display name")                                                   \
	F(STR, vpn_type, "t", REQ, "wireguard or openvpn")                                       \
	F(STR, service_provider, "sp", OPT, "gluetun provider")                                  \
	F(STR, credentials_json, "cj", REQ, "JSON object (write only)")                          \
	F(BOOL, enabled, "on", OPT, "default true")                                              \
	F(BOOL, kill_switch, "ks", OPT, "default true")                                          \
	F(STR, firewall_outbound_subnets, "fw", OPT, "default 10.0.0.0/8,172.16.0.0/12,192.168.0.0/16")
#define PROTO_VPN_PROVIDER_CREATE_REP(F) PROTO_REC_vpn_provider(F)

/* VPN_PROVIDER_UPDATE: absent fields are kept; credentials_json is replaced
 * only when given; service_provider "" clears it. */
#define PROTO_VPN_PROVIDER_UPDATE_REQ(F)                                                     \
	F(I64, id, "i", REQ, "provider id")                                                      \
	F(STR, name, "n", OPT, "display name")                                                   \
	F(STR, vpn_type, "t", OPT, "wireguard or openvpn")                                       \
	F(STR, service_provider, "sp", OPT, "gluetun provider; \"\" clears")                    \
	F(STR, credentials_json, "cj", OPT, "JSON object (write only)")                          \
	F(BOOL, enabled, "on", OPT, "usable by apps")                                            \
	F(BOOL, kill_switch, "ks", OPT, "default kill switch")                                   \
	F(STR, firewall_outbound_subnets, "fw", OPT, "comma-separated CIDRs")
#define PROTO_VPN_PROVIDER_UPDATE_REP(F) PROTO_REC_vpn_provider(F)

/* VPN_PROVIDER_DELETE: conflict "id" while apps use it; with force the
 * provider and its app configs go (the schema's cascade) and `apps` names the
 * apps to redeploy without VPN. */
#define PROTO_VPN_PROVIDER_DELETE_REQ(F)                                                     \
	F(I64, id, "i", REQ, "provider id")                                                      \
	F(BOOL, force, "f", OPT, "also remove the app configs using it")
#define PROTO_VPN_PROVIDER_DELETE_REP(F)                                                     \
	F(I64, id, "i", REQ, "the deleted provider's id")                                        \
	F(STRS, apps, "a", REQ, "apps whose VPN config was removed, sorted")

/* VPN_PROVIDER_SECRET: storaged/authd side only, never a gateway route. */
#define PROTO_VPN_PROVIDER_SECRET_REQ(F) F(I64, id, "i", REQ, "provider id")
#define PROTO_VPN_PROVIDER_SECRET_REP(F)                                                     \
	F(I64, id, "i", REQ, "provider id")                                                      \
	F(STR, credentials_json, "cj", REQ, "the stored JSON object")

/* ---- app VPN configs ---------------------------------------------------- */

#define PROTO_REC_app_vpn(F)                                                                 \
	F(STR, app_name, "a", REQ, "app name")                                                   \
	F(I64, vpn_provider_id, "pid", REQ, "provider id")                                       \
	F(STR, provider_name, "pn", REQ, "provider's display name")                              \
	F(BOOL, kill_switch_override, "kso", OPT, "absent: the provider's kill_switch applies")  \
	F(BOOL, effective_kill_switch, "eks", REQ, "override, else the provider's kill_switch")  \
	F(BOOL, port_forwarding, "pf", REQ, "port forwarding requested")                         \
	F(STR, created_at, "ct", REQ, "RFC 3339 UTC")                                            \
	F(STR, updated_at, "ut", REQ, "RFC 3339 UTC")
#define PROTO_CTYPE_RECS_app_vpn struct proto_recs_app_vpn

#define PROTO_APP_VPN_LIST_REQ(F)
#define PROTO_APP_VPN_LIST_REP(F) F(RECS_app_vpn, configs, "l", REQ, "by app name")

#define PROTO_APP_VPN_GET_REQ(F) F(STR, app_name, "a", REQ, "app name")
#define PROTO_APP_VPN_GET_REP(F) PROTO_REC_app_vpn(F)

/* APP_VPN_SET: upsert; app_name [a-z0-9-]{1,63}; kill_switch_override is
 * always replaced (absent = NULL, follow the provider); port_forwarding absent
 * keeps the stored value (false for a new config). */
#define PROTO_APP_VPN_SET_REQ(F)                                                             \
	F(STR, app_name, "a", REQ, "app name")                                                   \
	F(I64, vpn_provider_id, "pid", REQ, "provider id")                                       \
	F(BOOL, kill_switch_override, "kso", OPT, "absent: follow the provider")                 \
	F(BOOL, port_forwarding, "pf", OPT, "absent: kept (new: false)")
#define PROTO_APP_VPN_SET_REP(F) PROTO_REC_app_vpn(F)

#define PROTO_APP_VPN_DELETE_REQ(F) F(STR, app_name, "a", REQ, "app name")
#define PROTO_APP_VPN_DELETE_REP(F)                                                          \
	F(STR, app_name, "a", REQ, "app name")                                                   \
	F(I64, vpn_provider_id, "pid", REQ, "the provider it used")

/* ---- Cloudflare tunnels ------------------------------------------------- */

#define PROTO_REC_cf_tunnel(F)                                                               \
	F(I64, id, "i", REQ, "tunnel row id")                                                    \
	F(STR, name, "n", REQ, "tunnel name")                                                    \
	F(STR, status, "st", REQ, "not_deployed, deploying, ... (free text)")                    \
	F(STR, error, "err", OPT, "why the last deployment failed")                              \
	F(STR, created_at, "ct", REQ, "RFC 3339 UTC")                                            \
	F(STR, updated_at, "ut", REQ, "RFC 3339 UTC")                                            \
	F(STR, account_id, "acc", OPT, "Cloudflare account id")                                  \
	F(STR, tunnel_id, "tid", OPT, "Cloudflare tunnel id")                                    \
	F(STR, zone_id, "zid", OPT, "DNS zone id")                                               \
	F(STR, zone_name, "zn", OPT, "DNS zone name")                                            \
	F(STR, subdomain, "sub", OPT, "subdomain of the zone")                                   \
	F(STR, dns_record_id, "dns", OPT, "the CNAME's id")                                      \
	F(STR, hostname, "host", OPT, "public hostname")                                         \
	F(BOOL, has_tunnel_token, "htt", REQ, "a tunnel token is stored")                        \
	F(BOOL, has_api_token, "hat", REQ, "an API token is stored")
#define PROTO_CTYPE_RECS_cf_tunnel struct proto_recs_cf_tunnel

#define PROTO_CLOUDFLARE_TUNNEL_LIST_REQ(F)
#define PROTO_CLOUDFLARE_TUNNEL_LIST_REP(F) F(RECS_cf_tunnel, tunnels, "l", REQ, "by id")

#define PROTO_CLOUDFLARE_TUNNEL_GET_REQ(F) F(I64, id, "i", REQ, "tunnel row id")
#define PROTO_CLOUDFLARE_TUNNEL_GET_REP(F) PROTO_REC_cf_tunnel(F)

/* CLOUDFLARE_TUNNEL_CREATE: name and tunnel_token non-empty; status starts
 * not_deployed.  Text fields at most 1024 bytes, tokens 4096. */
#define PROTO_CLOUDFLARE_TUNNEL_CREATE_REQ(F)                                                \
	F(STR, name, "n", REQ, "tunnel name")                                                    \
	F(STR, tunnel_token, "tt", REQ, "cloudflared token (write only)")                        \
	F(STR, api_token, "at", OPT, "Cloudflare API token (write only)")                        \
	F(STR, account_id, "acc", OPT, "Cloudflare account id")                                  \
	F(STR, zone_id, "zid", OPT, "DNS zone id")                                               \
	F(STR, zone_name, "zn", OPT, "DNS zone name")                                            \
	F(STR, subdomain, "sub", OPT, "subdomain of the zone")
#define PROTO_CLOUDFLARE_TUNNEL_CREATE_REP(F) PROTO_REC_cf_tunnel(F)

/* CLOUDFLARE_TUNNEL_UPDATE: absent fields are kept, "" clears a nullable one;
 * a status change without `error` clears the error. */
#define PROTO_CLOUDFLARE_TUNNEL_UPDATE_REQ(F)                                                \
	F(I64, id, "i", REQ, "tunnel row id")                                                    \
	F(STR, name, "n", OPT, "tunnel name")                                                    \
	F(STR, status, "st", OPT, "new status")                                                  \
	F(STR, error, "err", OPT, "why it failed")                                               \
	F(STR, account_id, "acc", OPT, "Cloudflare account id")                                  \
	F(STR, tunnel_id, "tid", OPT, "Cloudflare tunnel id")                                    \
	F(STR, zone_id, "zid", OPT, "DNS zone id")                                               \
	F(STR, zone_name, "zn", OPT, "DNS zone name")                                            \
	F(STR, subdomain, "sub", OPT, "subdomain")                                               \
	F(STR, dns_record_id, "dns", OPT, "the CNAME's id")                                      \
	F(STR, hostname, "host", OPT, "public hostname")                                         \
	F(STR, tunnel_token, "tt", OPT, "cloudflared token (write only, not empty)")             \
	F(STR, api_token, "at", OPT, "API token (write only; \"\" clears)")
#define PROTO_CLOUDFLARE_TUNNEL_UPDATE_REP(F) PROTO_REC_cf_tunnel(F)

#define PROTO_CLOUDFLARE_TUNNEL_DELETE_REQ(F) F(I64, id, "i", REQ, "tunnel row id")
#define PROTO_CLOUDFLARE_TUNNEL_DELETE_REP(F) F(I64, id, "i", REQ, "the deleted tunnel's id")

/* CLOUDFLARE_TUNNEL_SECRET: storaged/authd side only, never a gateway route. */
#define PROTO_CLOUDFLARE_TUNNEL_SECRET_REQ(F) F(I64, id, "i", REQ, "tunnel row id")
#define PROTO_CLOUDFLARE_TUNNEL_SECRET_REP(F)                                                \
	F(I64, id, "i", REQ, "tunnel row id")                                                    \
	F(STR, tunnel_token, "tt", REQ, "cloudflared token")                                     \
	F(STR, api_token, "at", OPT, "Cloudflare API token")

#endif
