/* Handlers of the route table, one file per endpoint group. */
#ifndef KUBARR_GATEWAY_ROUTES_H
#define KUBARR_GATEWAY_ROUTES_H

#include "http.h"

/* routes_system.c */
void routes_system_health_text(struct gw_req *r);
void routes_system_health(struct gw_req *r);
void routes_system_ready(struct gw_req *r);
void routes_system_version(struct gw_req *r);

#endif
