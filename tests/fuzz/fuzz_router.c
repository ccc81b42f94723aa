/* Fuzz target: the gateway's route matching on hostile methods and paths
 * (the URL comes straight from the network).  Input: "METHOD\nPATH". */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "router.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *nl;
	struct gw_req r;
	char allow[128];
	enum router_result res;

	memcpy(buf, data, size);
	buf[size] = '\0';
	nl = strchr(buf, '\n');
	memset(&r, 0, sizeof(r));
	if (nl != NULL) {
		*nl = '\0';
		res = router_match(&r, buf, nl + 1, allow, sizeof(allow));
		if (res == ROUTER_FOUND) {
			if (r.route == NULL || r.nparams > GW_MAX_PARAMS)
				abort();
			for (size_t i = 0; i < r.nparams; i++)
				if (r.params[i] == NULL || strchr(r.params[i], '/') != NULL)
					abort();
		} else if (res == ROUTER_NO_METHOD && allow[0] == '\0') {
			abort();
		}
		free(r.path_params_buf);
	}
	free(buf);
	return 0;
}
