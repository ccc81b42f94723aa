/* ops_network: the network family (ops 500-599), private to storaged.
 *
 *   ops_network.c       table, shared helpers, VPN providers
 *   ops_network_apps.c  per-app VPN configs
 *   ops_network_cf.c    Cloudflare tunnels
 *
 * No op publishes an event (nothing caches these rows).  Secrets stay in the
 * *_SECRET ops (see proto_ops_network.h). */
#ifndef KUBARR_STORAGED_OPS_NETWORK_H
#define KUBARR_STORAGED_OPS_NETWORK_H

#include <stdbool.h>

#include "ops.h"

/* [a-z0-9-]{1,63} */
bool ops_network_valid_app_name(const char *s);
/* Steps a statement without rows and resets it: PROTO_OK or a typed error. */
enum proto_status ops_network_step(struct op_ctx *ctx, sqlite3_stmt *st);

#define OPS_NETWORK_EXEC(name) \
	enum proto_status ops_##name(struct op_ctx *ctx, const void *req, nng_msg **reply_r);
OPS_NETWORK_EXEC(vpn_provider_list)
OPS_NETWORK_EXEC(vpn_provider_get)
OPS_NETWORK_EXEC(vpn_provider_create)
OPS_NETWORK_EXEC(vpn_provider_update)
OPS_NETWORK_EXEC(vpn_provider_delete)
OPS_NETWORK_EXEC(vpn_provider_secret)
OPS_NETWORK_EXEC(app_vpn_list)
OPS_NETWORK_EXEC(app_vpn_get)
OPS_NETWORK_EXEC(app_vpn_set)
OPS_NETWORK_EXEC(app_vpn_delete)
OPS_NETWORK_EXEC(cloudflare_tunnel_list)
OPS_NETWORK_EXEC(cloudflare_tunnel_get)
OPS_NETWORK_EXEC(cloudflare_tunnel_create)
OPS_NETWORK_EXEC(cloudflare_tunnel_update)
OPS_NETWORK_EXEC(cloudflare_tunnel_delete)
OPS_NETWORK_EXEC(cloudflare_tunnel_secret)
#undef OPS_NETWORK_EXEC

#endif
