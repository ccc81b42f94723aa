/* Handlers of the route table, one file per endpoint group. */
#ifndef KUBARR_GATEWAY_ROUTES_H
#define KUBARR_GATEWAY_ROUTES_H

#include "http.h"

/* routes_system.c */
void routes_system_health_text(struct gw_req *r);
void routes_system_health(struct gw_req *r);
void routes_system_ready(struct gw_req *r);
void routes_system_version(struct gw_req *r);

/* routes_auth.c */
void routes_auth_login(struct gw_req *r);
void routes_auth_recover(struct gw_req *r);
void routes_auth_logout(struct gw_req *r);
void routes_auth_logout_all(struct gw_req *r);
void routes_auth_sessions(struct gw_req *r);
void routes_auth_session_revoke(struct gw_req *r);
void routes_auth_revoke_others(struct gw_req *r);
void routes_auth_switch(struct gw_req *r);
void routes_auth_accounts(struct gw_req *r);
void routes_auth_invite(struct gw_req *r);
void routes_auth_register(struct gw_req *r);
void routes_users_me(struct gw_req *r);
void routes_users_me_password(struct gw_req *r);

/* routes_audit.c */
void routes_audit_list(struct gw_req *r);

/* routes_2fa.c */
void routes_2fa_setup(struct gw_req *r);
void routes_2fa_enable(struct gw_req *r);
void routes_2fa_disable(struct gw_req *r);
void routes_2fa_status(struct gw_req *r);
void routes_2fa_codes(struct gw_req *r);

#endif
