/* backends: the gateway's IPC clients to authd, storaged and metricsd. */
#include <stdlib.h>

#include "gateway.h"

const char *const gateway_backend_names[GW_BACKEND_COUNT] = {"authd", "storaged", "metricsd"};

int
gateway_backends_open(struct gateway *gw, char **err_r)
{
	for (int i = 0; i < GW_BACKEND_COUNT; i++) {
		char *url = daemon_ipc_url(gw->d, gateway_backend_names[i]);
		int rc = ipc_client_open(&gw->backend[i], url, 0, err_r);

		free(url);
		if (rc != 0)
			return -1;
	}
	return 0;
}

void
gateway_backends_close(struct gateway *gw)
{
	for (int i = 0; i < GW_BACKEND_COUNT; i++)
		ipc_client_close(&gw->backend[i]);
}
