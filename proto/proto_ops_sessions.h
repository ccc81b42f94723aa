/* Ops 200-299: sessions, the principal lookup, invites, registration, recovery
 * codes, OAuth providers and accounts, bootstrap status, server config
 * (storaged).  Same conventions as proto_ops.h.  Timestamps are RFC 3339 UTC
 * with milliseconds, 24 characters. */
#ifndef KUBARR_PROTO_OPS_SESSIONS_H
#define KUBARR_PROTO_OPS_SESSIONS_H

#define PROTO_OPS_SESSIONS(X)                                                                  \
	X(200, SESSION_CREATE, session_create, "storaged", "create a session row (id chosen by authd)") \
	X(201, PRINCIPAL_GET, principal_get, "storaged", "session validity, user, permissions, apps") \
	X(202, SESSION_GET, session_get, "storaged", "one session row")                          \
	X(203, SESSION_LIST_USER, session_list_user, "storaged", "live sessions of a user, newest first") \
	X(204, SESSION_DELETE, session_delete, "storaged", "delete one session (logout, revoke)") \
	X(205, SESSION_DELETE_USER, session_delete_user, "storaged", "delete a user's sessions, one kept") \
	X(206, SESSION_TOUCH, session_touch, "storaged", "batched last_accessed_at updates")     \
	X(207, SESSION_CLEANUP, session_cleanup, "storaged", "delete expired and old revoked sessions") \
	X(210, INVITE_CREATE, invite_create, "storaged", "create an invite (code chosen by caller)") \
	X(211, INVITE_GET_BY_CODE, invite_get_by_code, "storaged", "one invite and its status")  \
	X(212, INVITE_LIST, invite_list, "storaged", "every invite, newest first")                \
	X(213, INVITE_DELETE, invite_delete, "storaged", "delete an invite")                      \
	X(214, REGISTER_USER, register_user, "storaged", "create a user, optionally redeeming an invite")   \
	X(220, RECOVERY_CODES_REPLACE, recovery_codes_replace, "storaged", "replace a user's 2FA recovery codes") \
	X(221, RECOVERY_CODES_LIST, recovery_codes_list, "storaged", "a user's unused recovery codes") \
	X(222, RECOVERY_CODE_USE, recovery_code_use, "storaged", "consume a recovery code; the last one disables 2FA") \
	X(230, OAUTH_PROVIDER_LIST, oauth_provider_list, "storaged", "OAuth providers (no secrets)") \
	X(231, OAUTH_PROVIDER_SET, oauth_provider_set, "storaged", "create or update an OAuth provider") \
	X(232, OAUTH_ACCOUNT_LINK, oauth_account_link, "storaged", "link an external account to a user") \
	X(233, OAUTH_ACCOUNT_FIND, oauth_account_find, "storaged", "the user linked to an external account") \
	X(240, BOOTSTRAP_STATUS_LIST, bootstrap_status_list, "storaged", "bootstrap components")  \
	X(241, BOOTSTRAP_STATUS_SET, bootstrap_status_set, "storaged", "set a component's status") \
	X(242, SERVER_CONFIG_GET, server_config_get, "storaged", "the server config row")         \
	X(243, SERVER_CONFIG_SET, server_config_set, "storaged", "create or update the server config")

#define PROTO_RECORDS_SESSIONS(R)                                                              \
	R(session) R(touch_item) R(invite) R(recovery_code) R(oauth_provider) R(bootstrap_item)

/* ---- sessions ---------------------------------------------------------- */

#define PROTO_SESSION_FIELDS(F)                                                              \
	F(STR, id, "i", REQ, "session id (uuid, 36 chars)")                                      \
	F(I64, user_id, "uid", REQ, "owner")                                                     \
	F(STR, user_agent, "ua", OPT, "client user agent (at most 255 bytes)")                   \
	F(STR, ip_address, "ip", OPT, "client address")                                          \
	F(STR, created_at, "ct", REQ, "RFC 3339 UTC")                                            \
	F(STR, expires_at, "exp", REQ, "RFC 3339 UTC")                                           \
	F(STR, last_accessed_at, "la", REQ, "RFC 3339 UTC")
#define PROTO_REC_session(F) PROTO_SESSION_FIELDS(F)
#define PROTO_CTYPE_RECS_session struct proto_recs_session

/* SESSION_CREATE: unknown user -> not_found "user_id"; duplicate id -> conflict "id". */
#define PROTO_SESSION_CREATE_REQ(F)                                                          \
	F(STR, id, "i", REQ, "session id chosen by authd (uuid text)")                           \
	F(I64, user_id, "uid", REQ, "owner")                                                     \
	F(STR, user_agent, "ua", OPT, "truncated to 255 bytes")                                  \
	F(STR, ip_address, "ip", OPT, "client address")                                          \
	F(I64, ttl_s, "ttl", OPT, "lifetime in seconds (default 604800, 7 days)")
#define PROTO_SESSION_CREATE_REP(F) PROTO_SESSION_FIELDS(F)

/* PRINCIPAL_GET: authd's cache miss.  valid=false carries `reason` (no such
 * session, expired, revoked, user disabled, user not approved) and user_id when
 * the session exists; valid=true carries every other field. */
#define PROTO_PRINCIPAL_GET_REQ(F) F(STR, session_id, "sid", REQ, "session id")
#define PROTO_PRINCIPAL_GET_REP(F)                                                           \
	F(BOOL, valid, "ok", REQ, "the session may be used")                                     \
	F(STR, reason, "why", OPT, "why not valid")                                              \
	F(I64, user_id, "uid", OPT, "the session's user")                                        \
	F(STR, username, "un", OPT, "user name")                                                 \
	F(STR, email, "em", OPT, "email")                                                        \
	F(BOOL, is_active, "act", OPT, "user is active")                                         \
	F(BOOL, is_approved, "apr", OPT, "user is approved")                                     \
	F(BOOL, totp_enabled, "totp", OPT, "user has 2FA on")                                    \
	F(STRS, permissions, "perm", OPT, "sorted, unique; app rows as app.<name>")              \
	F(STRS, allowed_apps, "apps", OPT, "[\"*\"] with app.*, else unique app names")          \
	F(BOOL, requires_2fa, "r2fa", OPT, "one of the user's roles requires 2FA")               \
	F(STR, expires_at, "exp", OPT, "session expiry")

#define PROTO_SESSION_GET_REQ(F) F(STR, id, "i", REQ, "session id")
#define PROTO_SESSION_GET_REP(F) PROTO_SESSION_FIELDS(F)

#define PROTO_SESSION_LIST_USER_REQ(F) F(I64, user_id, "uid", REQ, "owner")
#define PROTO_SESSION_LIST_USER_REP(F)                                                       \
	F(RECS_session, sessions, "s", REQ, "live sessions (not expired, not revoked), newest first")

#define PROTO_SESSION_DELETE_REQ(F) F(STR, id, "i", REQ, "session id")
#define PROTO_SESSION_DELETE_REP(F) F(I64, user_id, "uid", REQ, "the user it belonged to")

/* SESSION_DELETE_USER: log out everywhere (no except_id) or revoke the others. */
#define PROTO_SESSION_DELETE_USER_REQ(F)                                                     \
	F(I64, user_id, "uid", REQ, "owner")                                                     \
	F(STR, except_id, "keep", OPT, "the session to keep")
#define PROTO_SESSION_DELETE_USER_REP(F) F(I64, deleted, "n", REQ, "sessions deleted")

/* SESSION_TOUCH: many last_accessed_at updates in one write; unknown ids are
 * ignored and a time never moves backwards. */
#define PROTO_REC_touch_item(F)                                                              \
	F(STR, id, "i", REQ, "session id")                                                       \
	F(STR, last_accessed_at, "la", REQ, "RFC 3339 UTC")
#define PROTO_CTYPE_RECS_touch_item struct proto_recs_touch_item
#define PROTO_SESSION_TOUCH_REQ(F) F(RECS_touch_item, items, "it", REQ, "sessions to touch")
#define PROTO_SESSION_TOUCH_REP(F) F(I64, updated, "n", REQ, "rows updated")

#define PROTO_SESSION_CLEANUP_REQ(F) F(STR, now, "now", OPT, "RFC 3339 UTC; default: now")
#define PROTO_SESSION_CLEANUP_REP(F)                                                         \
	F(I64, expired, "exp", REQ, "expired sessions deleted")                                  \
	F(I64, revoked, "rev", REQ, "revoked sessions older than a day deleted")

/* ---- invites and registration ------------------------------------------ */

#define PROTO_INVITE_FIELDS(F)                                                               \
	F(I64, id, "i", REQ, "invite id")                                                        \
	F(STR, code, "c", REQ, "the code")                                                       \
	F(I64, created_by_id, "cb", OPT, "creator")                                              \
	F(STR, created_by_username, "cbn", OPT, "creator's name")                                \
	F(I64, used_by_id, "ub", OPT, "redeemer")                                                \
	F(STR, used_by_username, "ubn", OPT, "redeemer's name")                                  \
	F(BOOL, is_used, "used", REQ, "redeemed")                                                \
	F(STR, expires_at, "exp", OPT, "absent: never expires")                                  \
	F(STR, created_at, "ct", REQ, "RFC 3339 UTC")                                            \
	F(STR, used_at, "ut", OPT, "RFC 3339 UTC")                                               \
	F(STR, status, "st", REQ, "valid, used or expired")
#define PROTO_REC_invite(F) PROTO_INVITE_FIELDS(F)
#define PROTO_CTYPE_RECS_invite struct proto_recs_invite

/* INVITE_CREATE: code 8-64 chars [A-Za-z0-9_-]; duplicate -> conflict "code";
 * unknown creator -> not_found "created_by_id". */
#define PROTO_INVITE_CREATE_REQ(F)                                                           \
	F(STR, code, "c", REQ, "the code")                                                       \
	F(I64, created_by_id, "cb", OPT, "creator")                                              \
	F(STR, expires_at, "exp", OPT, "RFC 3339 UTC; absent: never")
#define PROTO_INVITE_CREATE_REP(F) PROTO_INVITE_FIELDS(F)

#define PROTO_INVITE_GET_BY_CODE_REQ(F) F(STR, code, "c", REQ, "the code")
#define PROTO_INVITE_GET_BY_CODE_REP(F) PROTO_INVITE_FIELDS(F)

#define PROTO_INVITE_LIST_REQ(F)
#define PROTO_INVITE_LIST_REP(F) F(RECS_invite, invites, "l", REQ, "newest first")

#define PROTO_INVITE_DELETE_REQ(F) F(I64, id, "i", REQ, "invite id")
#define PROTO_INVITE_DELETE_REP(F) F(I64, id, "i", REQ, "the deleted invite's id")

/* REGISTER_USER: one transaction; errors: conflict "username"/"email" (case-
 * insensitive), not_found "role", and with invite_code: not_found (no such
 * invite), conflict "invite already used", bad_request "invite expired".
 * Nothing is written when a check fails. */
#define PROTO_REGISTER_USER_REQ(F)                                                                \
	F(STR, username, "un", REQ, "user name")                                                 \
	F(STR, email, "em", REQ, "email")                                                        \
	F(STR, hashed_password, "pw", REQ, "password hash (argon2id or bcrypt)")                 \
	F(STR, invite_code, "inv", OPT, "invite to redeem")                                      \
	F(BOOL, is_approved, "apr", REQ, "approved at creation")                                 \
	F(STR, role, "role", OPT, "role name (default viewer)")
#define PROTO_REGISTER_USER_REP(F)                                                                \
	F(I64, id, "i", REQ, "the new user's id")                                                \
	F(STR, username, "un", REQ, "user name")                                                 \
	F(STR, email, "em", REQ, "email")                                                        \
	F(BOOL, is_active, "act", REQ, "always true")                                            \
	F(BOOL, is_approved, "apr", REQ, "as requested")                                         \
	F(STR, role, "role", REQ, "role given")                                                  \
	F(I64, invite_id, "inv", OPT, "invite redeemed")                                         \
	F(STR, created_at, "ct", REQ, "RFC 3339 UTC")

/* ---- 2FA recovery codes ------------------------------------------------- */

#define PROTO_REC_recovery_code(F)                                                           \
	F(I64, id, "i", REQ, "code id")                                                          \
	F(STR, code_hash, "h", REQ, "hash of the code")
#define PROTO_CTYPE_RECS_recovery_code struct proto_recs_recovery_code

#define PROTO_RECOVERY_CODES_REPLACE_REQ(F)                                                  \
	F(I64, user_id, "uid", REQ, "owner")                                                     \
	F(STRS, code_hashes, "h", REQ, "exactly 8 hashes")
#define PROTO_RECOVERY_CODES_REPLACE_REP(F) F(I64, count, "n", REQ, "codes stored")

#define PROTO_RECOVERY_CODES_LIST_REQ(F) F(I64, user_id, "uid", REQ, "owner")
#define PROTO_RECOVERY_CODES_LIST_REP(F) F(RECS_recovery_code, codes, "l", REQ, "unused codes")

/* RECOVERY_CODE_USE: not_found "id", conflict "id" when already used.  When no
 * code remains, 2FA is turned off and the codes deleted, in the same write. */
#define PROTO_RECOVERY_CODE_USE_REQ(F)                                                       \
	F(I64, id, "i", REQ, "code id")                                                          \
	F(I64, user_id, "uid", REQ, "owner")
#define PROTO_RECOVERY_CODE_USE_REP(F)                                                       \
	F(I64, remaining, "n", REQ, "unused codes left")                                         \
	F(BOOL, totp_disabled, "off", REQ, "2FA was turned off (last code)")

/* ---- OAuth -------------------------------------------------------------- */

/* Never carries the client secret (decision 9), only whether one is set. */
#define PROTO_REC_oauth_provider(F)                                                          \
	F(STR, id, "i", REQ, "provider id (google, microsoft, ...)")                             \
	F(STR, name, "n", REQ, "display name")                                                   \
	F(BOOL, enabled, "on", REQ, "usable for login")                                          \
	F(STR, client_id, "cid", OPT, "OAuth client id")                                         \
	F(BOOL, has_client_secret, "hs", REQ, "a client secret is stored")                       \
	F(STR, updated_at, "ut", REQ, "RFC 3339 UTC")
#define PROTO_CTYPE_RECS_oauth_provider struct proto_recs_oauth_provider

#define PROTO_OAUTH_PROVIDER_LIST_REQ(F)
#define PROTO_OAUTH_PROVIDER_LIST_REP(F) F(RECS_oauth_provider, providers, "l", REQ, "by id")

/* OAUTH_PROVIDER_SET: upsert; an absent field is kept, an empty client_id or
 * client_secret clears it. */
#define PROTO_OAUTH_PROVIDER_SET_REQ(F)                                                      \
	F(STR, id, "i", REQ, "provider id")                                                      \
	F(STR, name, "n", OPT, "display name (default: the id)")                                 \
	F(BOOL, enabled, "on", OPT, "usable for login")                                          \
	F(STR, client_id, "cid", OPT, "OAuth client id")                                         \
	F(STR, client_secret, "sec", OPT, "OAuth client secret (write only)")
#define PROTO_OAUTH_PROVIDER_SET_REP(F) PROTO_REC_oauth_provider(F)

/* OAUTH_ACCOUNT_LINK: conflict "provider_user_id" when linked already;
 * unknown user -> not_found "user_id". */
#define PROTO_OAUTH_ACCOUNT_LINK_REQ(F)                                                      \
	F(I64, user_id, "uid", REQ, "local user")                                                \
	F(STR, provider, "p", REQ, "provider id")                                                \
	F(STR, provider_user_id, "pu", REQ, "the user's id at the provider")                     \
	F(STR, email, "em", OPT, "email at the provider")                                        \
	F(STR, display_name, "dn", OPT, "name at the provider")
#define PROTO_OAUTH_ACCOUNT_LINK_REP(F)                                                      \
	F(I64, id, "i", REQ, "link id")                                                          \
	F(STR, created_at, "ct", REQ, "RFC 3339 UTC")

#define PROTO_OAUTH_ACCOUNT_FIND_REQ(F)                                                      \
	F(STR, provider, "p", REQ, "provider id")                                                \
	F(STR, provider_user_id, "pu", REQ, "the user's id at the provider")
#define PROTO_OAUTH_ACCOUNT_FIND_REP(F)                                                      \
	F(I64, user_id, "uid", REQ, "local user")                                                \
	F(STR, email, "em", OPT, "email at the provider")                                        \
	F(STR, display_name, "dn", OPT, "name at the provider")

/* ---- setup -------------------------------------------------------------- */

/* Statuses are the API's: pending, installing, healthy, failed (the aliases
 * in_progress and completed are accepted on SET). */
#define PROTO_REC_bootstrap_item(F)                                                          \
	F(STR, component, "c", REQ, "database, metrics, backup")                                 \
	F(STR, display_name, "dn", REQ, "shown in the wizard")                                   \
	F(STR, status, "st", REQ, "pending, installing, healthy, failed")                        \
	F(STR, message, "m", OPT, "progress text")                                               \
	F(STR, started_at, "sa", OPT, "RFC 3339 UTC")                                            \
	F(STR, completed_at, "ca", OPT, "RFC 3339 UTC")                                          \
	F(STR, error, "err", OPT, "why it failed")
#define PROTO_CTYPE_RECS_bootstrap_item struct proto_recs_bootstrap_item

#define PROTO_BOOTSTRAP_STATUS_LIST_REQ(F)
#define PROTO_BOOTSTRAP_STATUS_LIST_REP(F) F(RECS_bootstrap_item, components, "l", REQ, "by id")

/* BOOTSTRAP_STATUS_SET: unknown component -> not_found "component". */
#define PROTO_BOOTSTRAP_STATUS_SET_REQ(F)                                                    \
	F(STR, component, "c", REQ, "component")                                                 \
	F(STR, status, "st", REQ, "pending, installing (in_progress), healthy (completed), failed") \
	F(STR, message, "m", OPT, "progress text (kept when absent)")                            \
	F(STR, error, "err", OPT, "why it failed (cleared when absent)")
#define PROTO_BOOTSTRAP_STATUS_SET_REP(F) PROTO_REC_bootstrap_item(F)

#define PROTO_SERVER_CONFIG_FIELDS(F)                                                        \
	F(STR, name, "n", REQ, "server name")                                                    \
	F(STR, storage_path, "p", REQ, "absolute path of the media storage")                     \
	F(STR, created_at, "ct", REQ, "RFC 3339 UTC")
/* SERVER_CONFIG_GET: not_found when setup has not stored one yet. */
#define PROTO_SERVER_CONFIG_GET_REQ(F)
#define PROTO_SERVER_CONFIG_GET_REP(F) PROTO_SERVER_CONFIG_FIELDS(F)
#define PROTO_SERVER_CONFIG_SET_REQ(F)                                                       \
	F(STR, name, "n", REQ, "server name")                                                    \
	F(STR, storage_path, "p", REQ, "absolute path")
#define PROTO_SERVER_CONFIG_SET_REP(F) PROTO_SERVER_CONFIG_FIELDS(F)

#endif
