/* Ops 700-799: metricsd (live rates, history rings).  Same conventions as
 * proto_ops.h.
 *
 * Numbers: the wire has no floating point, so every rate, core count and
 * percentage travels as a signed integer in thousandths ("_m" fields:
 * 1234 = 1.234); byte counts are plain integers.  Rates are per second and
 * already smoothed (5-sample window + EMA, README "Monitoring").
 *
 * METRICS_SNAPSHOT is also published on metrics.ipc once per collection cycle
 * (envelope op METRICS_SNAPSHOT, req_id 0, the reply body), for the gateway's
 * WebSocket push. */
#ifndef KUBARR_PROTO_OPS_METRICS_H
#define KUBARR_PROTO_OPS_METRICS_H

#define PROTO_OPS_METRICS(X)                                                                 \
	X(700, METRICS_SNAPSHOT, metrics_snapshot, "metricsd, published",                      \
	    "current rates per namespace, host totals, topology edges")                            \
	X(701, METRICS_HISTORY, metrics_history, "metricsd",                                   \
	    "one series' history ring (or the cluster's) over a duration")

#define PROTO_RECORDS_METRICS(R) R(metrics_ns) R(metrics_edge) R(metrics_point)

/* One series: a network namespace on bare metal (named after the app that
 * owns it; the host's is "host"), a Kubernetes namespace in a cluster. */
#define PROTO_REC_metrics_ns(F)                                                              \
	F(STR, name, "n", REQ, "series name (Kubernetes namespace or app)")                      \
	F(STR, app_name, "a", REQ, "display name of the app")                                    \
	F(I64, rx_bytes_m, "rb", REQ, "received bytes/s, thousandths")                           \
	F(I64, tx_bytes_m, "tb", REQ, "transmitted bytes/s, thousandths")                        \
	F(I64, rx_packets_m, "rp", REQ, "received packets/s, thousandths")                       \
	F(I64, tx_packets_m, "tp", REQ, "transmitted packets/s, thousandths")                    \
	F(I64, rx_errors_m, "re", REQ, "receive errors/s, thousandths")                          \
	F(I64, tx_errors_m, "te", REQ, "transmit errors/s, thousandths")                         \
	F(I64, rx_dropped_m, "rd", REQ, "received packets dropped/s, thousandths")               \
	F(I64, tx_dropped_m, "td", REQ, "transmitted packets dropped/s, thousandths")            \
	F(I64, cpu_cores_m, "c", OPT, "CPU in use, cores, thousandths (Kubernetes)")             \
	F(I64, memory_bytes, "m", OPT, "working set bytes (Kubernetes)")                         \
	F(I64, pod_count, "p", REQ, "pods (Kubernetes) or processes (bare metal)")
#define PROTO_CTYPE_RECS_metrics_ns struct proto_recs_metrics_ns

#define PROTO_REC_metrics_edge(F)                                                            \
	F(STR, source, "s", REQ, "node id (a series name or \"external\")")                      \
	F(STR, target, "t", REQ, "node id")                                                      \
	F(STR, type, "k", REQ, "ingress, egress, endpoint, ...")                                 \
	F(I64, port, "p", OPT, "port")                                                           \
	F(STR, protocol, "pr", OPT, "TCP, UDP")                                                  \
	F(STR, label, "l", REQ, "display label")
#define PROTO_CTYPE_RECS_metrics_edge struct proto_recs_metrics_edge

/* A step of a history ring: absent fields had no sample in that step.
 * A series: a rx bytes/s, b tx bytes/s, c CPU cores, d memory bytes.
 * The cluster: a rx bytes/s, b tx bytes/s, c CPU %, d memory %, e storage %,
 * f pods, g containers.  All in thousandths. */
#define PROTO_REC_metrics_point(F)                                                           \
	F(I64, t, "t", REQ, "start of the step, Unix seconds")                                   \
	F(I64, a, "a", OPT, "channel a")                                                         \
	F(I64, b, "b", OPT, "channel b")                                                         \
	F(I64, c, "c", OPT, "channel c")                                                         \
	F(I64, d, "d", OPT, "channel d")                                                         \
	F(I64, e, "e", OPT, "channel e")                                                         \
	F(I64, f, "f", OPT, "channel f")                                                         \
	F(I64, g, "g", OPT, "channel g")
#define PROTO_CTYPE_RECS_metrics_point struct proto_recs_metrics_point

#define PROTO_METRICS_SNAPSHOT_REQ(F)
#define PROTO_METRICS_SNAPSHOT_REP(F)                                                        \
	F(I64, timestamp_ms, "t", REQ, "end of the cycle, Unix ms")                              \
	F(STR, source, "src", REQ, "proc (bare metal) or kubernetes")                            \
	F(BOOL, available, "ok", REQ, "the collector produced data in its last cycle")           \
	F(STR, message, "msg", OPT, "why not, or what is collected")                             \
	F(RECS_metrics_ns, namespaces, "ns", REQ, "every live series, by name")                  \
	F(RECS_metrics_edge, edges, "e", REQ, "topology edges (Kubernetes only)")                \
	F(I64, cpu_total_m, "ct", REQ, "CPU cores, thousandths")                                 \
	F(I64, cpu_used_m, "cu", REQ, "CPU cores in use, thousandths")                           \
	F(I64, memory_total, "mt", REQ, "bytes")                                                 \
	F(I64, memory_used, "mu", REQ, "bytes")                                                  \
	F(I64, storage_total, "st", REQ, "bytes of the storage root's file system")              \
	F(I64, storage_used, "su", REQ, "bytes")                                                 \
	F(I64, pod_count, "pc", REQ, "pods (Kubernetes) or app namespaces (bare metal)")         \
	F(I64, container_count, "cc", REQ, "containers (Kubernetes) or processes (bare metal)")

/* METRICS_HISTORY: duration_s picks the ring and its step as the reference's
 * dashboards do: up to 15 min 15 s steps, up to 1 h 60 s steps, else 120 s
 * steps (at most 24 h).  Points run oldest first, one per step, up to now. */
#define PROTO_METRICS_HISTORY_REQ(F)                                                         \
	F(STR, series, "s", OPT, "a series name; absent: the cluster")                           \
	F(I64, duration_s, "d", REQ, "1..86400")
#define PROTO_METRICS_HISTORY_REP(F)                                                         \
	F(I64, step_s, "st", REQ, "seconds per point")                                           \
	F(BOOL, found, "f", REQ, "the series exists")                                            \
	F(RECS_metrics_point, points, "p", REQ, "oldest first")

#endif
