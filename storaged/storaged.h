/* The storaged context: one per process. */
#ifndef KUBARR_STORAGED_STORAGED_H
#define KUBARR_STORAGED_STORAGED_H

#include <stdatomic.h>

#include "daemon.h"
#include "db.h"
#include "ipc.h"
#include "jobs.h"
#include "notify_send.h"
#include "readers.h"
#include "server.h"
#include "writer.h"

struct backup;

struct storaged {
	struct daemon *d;
	struct db_config dbc;
	struct db_conn *wconn;       /* the only writing connection (writer thread) */
	struct writer *writer;
	struct readers *readers;
	struct proto_server *srv;
	struct ipc_pub *events;
	struct jobs *jobs;
	struct notify_send *sender;
	struct backup *backup;       /* NULL when KUBARR_BACKUP_URL is empty */
	atomic_bool admin_exists;
	uint64_t authd_uid;          /* the only peer allowed the secret ops */
	int schema_from, schema_to;
};

#endif
