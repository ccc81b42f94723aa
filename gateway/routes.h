/* Handlers of the route table, one file per endpoint group. */
#ifndef KUBARR_GATEWAY_ROUTES_H
#define KUBARR_GATEWAY_ROUTES_H

#include <nng/nng.h>

#include "http.h"

/* routes_system.c */
void routes_system_health_text(struct gw_req *r);
void routes_system_health(struct gw_req *r);
void routes_system_ready(struct gw_req *r);
void routes_system_version(struct gw_req *r);

/* routes_metrics.c: metricsd's rates and history, the networking WebSocket.
 * gateway_metrics_open subscribes to metrics.ipc and starts the WebSocket hub
 * (before HTTP starts); _shutdown closes every WebSocket (before HTTP stops);
 * _close frees it all (after). */
struct gateway;
struct proto_stats;
int gateway_metrics_open(struct gateway *gw, char **err_r);
void gateway_metrics_shutdown(struct gateway *gw);
void gateway_metrics_close(struct gateway *gw);
void gateway_metrics_stats(struct gateway *gw, struct proto_stats *st);
/* METRICS_SNAPSHOTs received from metricsd so far (the setup bootstrap's
 * "publishing" check). */
int64_t gateway_metrics_snapshots(struct gateway *gw);
/* A published METRICS_SNAPSHOT as the WebSocket's JSON text (malloc'd), or NULL. */
char *routes_metrics_ws_frame(nng_msg *msg);
void routes_metrics_stats(struct gw_req *r);
void routes_metrics_topology(struct gw_req *r);
void routes_metrics_ws(struct gw_req *r);
void routes_metrics_vm_cluster(struct gw_req *r);
void routes_metrics_vm_apps(struct gw_req *r);
void routes_metrics_vm_app(struct gw_req *r);
void routes_metrics_vm_network_history(struct gw_req *r);
void routes_metrics_vm_metrics_history(struct gw_req *r);
void routes_metrics_vm_available(struct gw_req *r);

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
void routes_users_me_delete(struct gw_req *r);
void routes_users_password_reset(struct gw_req *r);

/* routes_setup.c, routes_setup_bootstrap.c: /api/setup (public, sealed once
 * an admin exists).  _open reads nothing but its arguments and starts the
 * bootstrap WebSocket hub (before HTTP starts); _shutdown ends a bootstrap run
 * and closes the WebSockets (before HTTP stops); _close frees it all (after). */
int gateway_setup_open(struct gateway *gw, const char *browse_prefix, const char *backup_url,
    char **err_r);
void gateway_setup_shutdown(struct gateway *gw);
void gateway_setup_close(struct gateway *gw);
void routes_setup_required(struct gw_req *r);
void routes_setup_status(struct gw_req *r);
void routes_setup_generate_credentials(struct gw_req *r);
void routes_setup_validate_path(struct gw_req *r);
void routes_setup_browse(struct gw_req *r);
void routes_setup_server_get(struct gw_req *r);
void routes_setup_server_post(struct gw_req *r);
void routes_setup_initialize(struct gw_req *r);
void routes_setup_bootstrap_start(struct gw_req *r);
void routes_setup_bootstrap_status(struct gw_req *r);
void routes_setup_bootstrap_retry(struct gw_req *r);
void routes_setup_bootstrap_ws(struct gw_req *r);

/* routes_audit.c */
void routes_audit_list(struct gw_req *r);
void routes_audit_stats(struct gw_req *r);
void routes_audit_clear(struct gw_req *r);

/* routes_users.c: /api/users (storaged; authd hashes and resets passwords) */
void routes_users_list(struct gw_req *r);
void routes_users_create(struct gw_req *r);
void routes_users_pending(struct gw_req *r);
void routes_users_get(struct gw_req *r);
void routes_users_update(struct gw_req *r);
void routes_users_delete(struct gw_req *r);
void routes_users_approve(struct gw_req *r);
void routes_users_reject(struct gw_req *r);
void routes_users_me_update(struct gw_req *r);
void routes_users_prefs_get(struct gw_req *r);
void routes_users_prefs_set(struct gw_req *r);

/* routes_invites.c: /api/users/invites */
void routes_invites_list(struct gw_req *r);
void routes_invites_create(struct gw_req *r);
void routes_invites_delete(struct gw_req *r);

/* routes_roles.c: /api/roles */
void routes_roles_list(struct gw_req *r);
void routes_roles_create(struct gw_req *r);
void routes_roles_catalogue(struct gw_req *r);
void routes_roles_get(struct gw_req *r);
void routes_roles_update(struct gw_req *r);
void routes_roles_delete(struct gw_req *r);
void routes_roles_set_apps(struct gw_req *r);
void routes_roles_permissions_get(struct gw_req *r);
void routes_roles_set_permissions(struct gw_req *r);

/* routes_openapi.c: the spec generated from the route table, and its page */
void routes_openapi_json(struct gw_req *r);
void routes_openapi_docs(struct gw_req *r);

/* routes_settings.c: /api/settings, public keys only (decision 9) */
void routes_settings_list(struct gw_req *r);
void routes_settings_get(struct gw_req *r);
void routes_settings_set(struct gw_req *r);

/* routes_2fa.c */
void routes_2fa_setup(struct gw_req *r);
void routes_2fa_enable(struct gw_req *r);
void routes_2fa_disable(struct gw_req *r);
void routes_2fa_status(struct gw_req *r);
void routes_2fa_codes(struct gw_req *r);

/* routes_storage.c, routes_storage_io.c: the media file browser */
void routes_storage_browse(struct gw_req *r);
void routes_storage_stats(struct gw_req *r);
void routes_storage_file_info(struct gw_req *r);
void routes_storage_mkdir(struct gw_req *r);
void routes_storage_delete(struct gw_req *r);
void routes_storage_download(struct gw_req *r);
void routes_storage_upload(struct gw_req *r);

/* routes_backups.c: /api/backups (storaged's backup engine) */
struct proto_backup_status_rep;
void routes_backups_status(struct gw_req *r);
void routes_backups_points(struct gw_req *r);
void routes_backups_snapshot(struct gw_req *r);
void routes_backups_verify(struct gw_req *r);
/* The status as /api/backups/status renders it (snake_case, times RFC 3339 or
 * null, lag_seconds a number). */
json_t *routes_backups_status_json(const struct proto_backup_status_rep *s);

/* routes_prometheus.c: GET /metrics (Prometheus text, open to loopback) */
void routes_prometheus_metrics(struct gw_req *r);

/* routes_notify.c: /api/notifications (storaged's notify family) */
void routes_notify_channels(struct gw_req *r);
void routes_notify_channel_set(struct gw_req *r);
void routes_notify_channel_test(struct gw_req *r);
void routes_notify_events(struct gw_req *r);
void routes_notify_event_set(struct gw_req *r);
void routes_notify_prefs(struct gw_req *r);
void routes_notify_pref_set(struct gw_req *r);
void routes_notify_inbox(struct gw_req *r);
void routes_notify_inbox_count(struct gw_req *r);
void routes_notify_inbox_read(struct gw_req *r);
void routes_notify_inbox_read_all(struct gw_req *r);
void routes_notify_inbox_delete(struct gw_req *r);
void routes_notify_logs(struct gw_req *r);

#endif
