/* Ops 400-499: notification channels, events, user preferences, the delivery
 * log, the inbox (user_notifications) and the outbox (storaged).
 * Same conventions as proto_ops.h. */
#ifndef KUBARR_PROTO_OPS_NOTIFY_H
#define KUBARR_PROTO_OPS_NOTIFY_H

#define PROTO_OPS_NOTIFY(X)
#define PROTO_RECORDS_NOTIFY(R)

#endif
