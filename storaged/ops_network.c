/* The network family (ops 500-599): VPN providers, app VPN configs, Cloudflare tunnels. */
#include "ops.h"

const struct op_family ops_family_network = {NULL, 0};
