/* Ops 100-199: users, roles, permissions, preferences (storaged).
 * Same conventions as proto_ops.h. */
#ifndef KUBARR_PROTO_OPS_USERS_H
#define KUBARR_PROTO_OPS_USERS_H

#define PROTO_OPS_USERS(X)
#define PROTO_RECORDS_USERS(R)

#endif
