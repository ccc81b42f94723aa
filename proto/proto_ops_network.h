/* Ops 500-599: VPN providers, app VPN configs, Cloudflare tunnels (storaged).
 * Same conventions as proto_ops.h. */
#ifndef KUBARR_PROTO_OPS_NETWORK_H
#define KUBARR_PROTO_OPS_NETWORK_H

#define PROTO_OPS_NETWORK(X)
#define PROTO_RECORDS_NETWORK(R)

#endif
