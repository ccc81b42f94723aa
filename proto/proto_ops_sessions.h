/* Ops 200-299: sessions, the principal lookup, invites, recovery codes,
 * OAuth providers and accounts, bootstrap status, server config (storaged).
 * Same conventions as proto_ops.h. */
#ifndef KUBARR_PROTO_OPS_SESSIONS_H
#define KUBARR_PROTO_OPS_SESSIONS_H

#define PROTO_OPS_SESSIONS(X)
#define PROTO_RECORDS_SESSIONS(R)

#endif
