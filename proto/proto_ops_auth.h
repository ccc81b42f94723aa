/* Ops 600-699: authd, asked by the gateway.  Same conventions as proto_ops.h.
 *
 * authd owns sessions, cookies, passwords and 2FA, so these ops carry the
 * request's Cookie header, the client address (already resolved through
 * KUBARR_TRUSTED_PROXIES by the gateway) and user agent, and answer with an
 * outcome the gateway turns into HTTP: `http` is the status, `detail` the
 * {"detail"} text when http >= 400, `retry_after` goes to Retry-After (429),
 * and `set_cookies` are Set-Cookie header values (cookies are set or cleared
 * on failures too, e.g. logout with a dead session).  Transport and decoding
 * errors still use the envelope status (unavailable, bad_request...). */
#ifndef KUBARR_PROTO_OPS_AUTH_H
#define KUBARR_PROTO_OPS_AUTH_H

#define PROTO_OPS_AUTH(X)                                                                     \
	X(600, AUTH_CHECK, auth_check, "authd", "the principal of a request's cookies (cached)")  \
	X(601, AUTH_LOGIN, auth_login, "authd", "password (+TOTP) login into a cookie slot")      \
	X(602, AUTH_RECOVER, auth_recover, "authd", "login with a 2FA recovery code")             \
	X(603, AUTH_LOGOUT, auth_logout, "authd", "end the active session, or all of the user's") \
	X(604, AUTH_SESSIONS, auth_sessions, "authd", "the user's live sessions")                 \
	X(605, AUTH_SESSION_REVOKE, auth_session_revoke, "authd", "end one of the user's sessions") \
	X(606, AUTH_REVOKE_OTHERS, auth_revoke_others, "authd", "end every other session of the user") \
	X(607, AUTH_SWITCH, auth_switch, "authd", "make another cookie slot active")              \
	X(608, AUTH_ACCOUNTS, auth_accounts, "authd", "the accounts signed in in this browser")   \
	X(609, AUTH_REGISTER, auth_register, "authd", "self-registration, with or without invite") \
	X(610, AUTH_PASSWORD_CHANGE, auth_password_change, "authd", "change one's own password")  \
	X(611, AUTH_HASH, auth_hash, "authd", "hash a new password (argon2id)")                   \
	X(612, AUTH_SET_PASSWORD, auth_set_password, "authd", "admin reset of another user's password") \
	X(613, AUTH_DELETE_SELF, auth_delete_self, "authd", "delete one's own account (password required)") \
	X(620, TFA_SETUP, tfa_setup, "authd", "new TOTP secret, not yet enabled")                 \
	X(621, TFA_ENABLE, tfa_enable, "authd", "enable TOTP with a code; 8 recovery codes")      \
	X(622, TFA_DISABLE, tfa_disable, "authd", "disable TOTP (password required)")             \
	X(623, TFA_STATUS, tfa_status, "authd", "TOTP state of the user")                         \
	X(624, TFA_CODES, tfa_codes, "authd", "unused recovery codes left")

#define PROTO_RECORDS_AUTH(R) R(auth_session) R(auth_account)

#define PROTO_AUTH_CLIENT(F)                                                                  \
	F(STR, cookies, "ck", OPT, "the request's Cookie header")                                 \
	F(STR, ip_address, "ip", OPT, "client address")                                           \
	F(STR, user_agent, "ua", OPT, "client user agent")

#define PROTO_AUTH_OUTCOME(F)                                                                 \
	F(I64, http, "h", REQ, "HTTP status of the answer")                                       \
	F(STR, detail, "dt", OPT, "the {\"detail\"} text when http >= 400")                        \
	F(I64, retry_after, "ra", OPT, "seconds (Retry-After), with 429")                         \
	F(STRS, set_cookies, "sc", OPT, "Set-Cookie header values")

/* AUTH_CHECK: http 200 with the principal, or 401/503 and nothing else.
 * authd sends user_json (UserResponse, rendered once per cached principal, so
 * GET /api/users/me is a copy) and the fields the gateway checks; the other
 * user fields are for peers that want them typed. */
#define PROTO_AUTH_CHECK_REQ(F) PROTO_AUTH_CLIENT(F)
#define PROTO_AUTH_CHECK_REP(F)                                                               \
	PROTO_AUTH_OUTCOME(F)                                                                     \
	F(STR, session_id, "sid", OPT, "the session used")                                        \
	F(I64, slot, "sl", OPT, "its cookie slot (-1: the legacy cookie)")                        \
	F(BOOL, cached, "hit", OPT, "answered from the cache")                                    \
	F(I64, user_id, "i", OPT, "user id")                                                      \
	F(STR, username, "u", OPT, "username")                                                    \
	F(STR, email, "e", OPT, "email")                                                          \
	F(BOOL, is_active, "a", OPT, "may sign in")                                               \
	F(BOOL, is_approved, "ap", OPT, "approved")                                               \
	F(STR, created_at, "c", OPT, "RFC 3339 UTC")                                              \
	F(STR, updated_at, "up", OPT, "RFC 3339 UTC")                                             \
	F(STR, theme, "th", OPT, "preferences.theme")                                             \
	F(STRS, roles, "r", OPT, "role names")                                                    \
	F(STRS, permissions, "p", OPT, "sorted, unique, app.X included")                          \
	F(STRS, allowed_apps, "aa", OPT, "[*] or app names")                                      \
	F(RECS_role_ref, role_refs, "rr", OPT, "id and description of each role")                 \
	F(BOOL, requires_2fa, "r2", OPT, "a role of the user requires 2FA")                       \
	F(STR, user_json, "uj", OPT, "UserResponse as JSON text (API.md Users)")

#define PROTO_AUTH_LOGIN_REQ(F)                                                               \
	PROTO_AUTH_CLIENT(F)                                                                      \
	F(STR, username, "un", REQ, "username or email")                                          \
	F(STR, password, "pw", REQ, "password")                                                   \
	F(STR, totp_code, "tc", OPT, "6-digit TOTP code")
#define PROTO_AUTH_LOGIN_REP(F)                                                               \
	PROTO_AUTH_OUTCOME(F)                                                                     \
	F(I64, user_id, "i", OPT, "user id")                                                      \
	F(STR, username, "u", OPT, "username")                                                    \
	F(STR, email, "e", OPT, "email")                                                          \
	F(I64, session_slot, "sl", OPT, "the cookie slot used")

#define PROTO_AUTH_RECOVER_REQ(F)                                                             \
	PROTO_AUTH_CLIENT(F)                                                                      \
	F(STR, username, "un", REQ, "username or email")                                          \
	F(STR, password, "pw", REQ, "password")                                                   \
	F(STR, recovery_code, "rc", REQ, "one unused recovery code")
#define PROTO_AUTH_RECOVER_REP(F)                                                             \
	PROTO_AUTH_LOGIN_REP(F)                                                                   \
	F(I64, remaining, "n", OPT, "unused codes left (0: 2FA was turned off)")

#define PROTO_AUTH_MESSAGE_REP(F)                                                             \
	PROTO_AUTH_OUTCOME(F)                                                                     \
	F(STR, message, "m", OPT, "what happened")

#define PROTO_AUTH_LOGOUT_REQ(F)                                                              \
	PROTO_AUTH_CLIENT(F)                                                                      \
	F(BOOL, everywhere, "all", OPT, "end every session of the user")
#define PROTO_AUTH_LOGOUT_REP(F) PROTO_AUTH_MESSAGE_REP(F)

#define PROTO_REC_auth_session(F)                                                             \
	F(STR, id, "i", REQ, "session id")                                                        \
	F(STR, user_agent, "ua", OPT, "user agent")                                               \
	F(STR, ip_address, "ip", OPT, "client address")                                           \
	F(STR, created_at, "c", REQ, "RFC 3339 UTC")                                              \
	F(STR, last_accessed_at, "la", REQ, "RFC 3339 UTC")                                       \
	F(BOOL, is_current, "cur", REQ, "the session of this request")
#define PROTO_CTYPE_RECS_auth_session struct proto_recs_auth_session
#define PROTO_AUTH_SESSIONS_REQ(F) PROTO_AUTH_CLIENT(F)
#define PROTO_AUTH_SESSIONS_REP(F)                                                            \
	PROTO_AUTH_OUTCOME(F)                                                                     \
	F(RECS_auth_session, sessions, "s", OPT, "newest first")

#define PROTO_AUTH_SESSION_REVOKE_REQ(F)                                                      \
	PROTO_AUTH_CLIENT(F)                                                                      \
	F(STR, session_id, "sid", REQ, "the session to end")
#define PROTO_AUTH_SESSION_REVOKE_REP(F) PROTO_AUTH_MESSAGE_REP(F)

#define PROTO_AUTH_REVOKE_OTHERS_REQ(F) PROTO_AUTH_CLIENT(F)
#define PROTO_AUTH_REVOKE_OTHERS_REP(F)                                                       \
	PROTO_AUTH_MESSAGE_REP(F)                                                                 \
	F(I64, revoked, "n", OPT, "sessions ended")

#define PROTO_AUTH_SWITCH_REQ(F)                                                              \
	PROTO_AUTH_CLIENT(F)                                                                      \
	F(I64, slot, "sl", REQ, "0-4")
#define PROTO_AUTH_SWITCH_REP(F)                                                              \
	PROTO_AUTH_MESSAGE_REP(F)                                                                 \
	F(I64, slot, "sl", OPT, "the active slot")

#define PROTO_REC_auth_account(F)                                                             \
	F(I64, slot, "sl", REQ, "cookie slot")                                                    \
	F(I64, user_id, "i", REQ, "user id")                                                      \
	F(STR, username, "u", REQ, "username")                                                    \
	F(STR, email, "e", REQ, "email")                                                          \
	F(BOOL, is_active, "a", REQ, "the active slot")
#define PROTO_CTYPE_RECS_auth_account struct proto_recs_auth_account
#define PROTO_AUTH_ACCOUNTS_REQ(F) PROTO_AUTH_CLIENT(F)
#define PROTO_AUTH_ACCOUNTS_REP(F)                                                            \
	PROTO_AUTH_OUTCOME(F)                                                                     \
	F(RECS_auth_account, accounts, "l", OPT, "by slot")

#define PROTO_AUTH_REGISTER_REQ(F)                                                            \
	PROTO_AUTH_CLIENT(F)                                                                      \
	F(STR, invite_code, "inv", OPT, "invite to redeem")                                       \
	F(STR, username, "un", REQ, "username")                                                   \
	F(STR, email, "em", REQ, "email")                                                         \
	F(STR, password, "pw", REQ, "password (8 or more characters)")
#define PROTO_AUTH_REGISTER_REP(F)                                                            \
	PROTO_AUTH_MESSAGE_REP(F)                                                                 \
	F(I64, user_id, "i", OPT, "the new user")                                                 \
	F(STR, username, "u", OPT, "username")                                                    \
	F(STR, email, "e", OPT, "email")                                                          \
	F(BOOL, is_approved, "ap", OPT, "may sign in now")

#define PROTO_AUTH_PASSWORD_CHANGE_REQ(F)                                                     \
	PROTO_AUTH_CLIENT(F)                                                                      \
	F(STR, current_password, "cur", REQ, "the password now")                                  \
	F(STR, new_password, "new", REQ, "8 or more characters")
#define PROTO_AUTH_PASSWORD_CHANGE_REP(F)                                                     \
	PROTO_AUTH_MESSAGE_REP(F)                                                                 \
	F(I64, revoked, "n", OPT, "other sessions ended")

/* AUTH_HASH: for routes that set a password for someone (setup, admin). */
#define PROTO_AUTH_HASH_REQ(F) F(STR, password, "pw", REQ, "8 or more characters")
#define PROTO_AUTH_HASH_REP(F)                                                                \
	PROTO_AUTH_OUTCOME(F)                                                                     \
	F(STR, hash, "hs", OPT, "argon2id hash")

/* AUTH_SET_PASSWORD: the caller (cookies) needs users.reset_password and may
 * not name itself; the user's sessions all end; audited password_changed with
 * the acting admin. */
#define PROTO_AUTH_SET_PASSWORD_REQ(F)                                                        \
	PROTO_AUTH_CLIENT(F)                                                                      \
	F(I64, user_id, "i", REQ, "whose password")                                               \
	F(STR, new_password, "new", REQ, "8 or more characters")
#define PROTO_AUTH_SET_PASSWORD_REP(F)                                                        \
	PROTO_AUTH_MESSAGE_REP(F)                                                                 \
	F(I64, revoked, "n", OPT, "sessions ended")

/* AUTH_DELETE_SELF: the caller's password; refused (400) for the last active
 * admin (storaged's guard); audited user_deleted. */
#define PROTO_AUTH_DELETE_SELF_REQ(F)                                                         \
	PROTO_AUTH_CLIENT(F)                                                                      \
	F(STR, password, "pw", REQ, "the caller's password")
#define PROTO_AUTH_DELETE_SELF_REP(F) PROTO_AUTH_MESSAGE_REP(F)

#define PROTO_TFA_SETUP_REQ(F) PROTO_AUTH_CLIENT(F)
#define PROTO_TFA_SETUP_REP(F)                                                                \
	PROTO_AUTH_OUTCOME(F)                                                                     \
	F(STR, secret, "s", OPT, "base32 secret (shown once)")                                    \
	F(STR, provisioning_uri, "uri", OPT, "otpauth:// URI")

#define PROTO_TFA_ENABLE_REQ(F)                                                               \
	PROTO_AUTH_CLIENT(F)                                                                      \
	F(STR, code, "c", REQ, "6-digit TOTP code")
#define PROTO_TFA_ENABLE_REP(F)                                                               \
	PROTO_AUTH_MESSAGE_REP(F)                                                                 \
	F(STRS, recovery_codes, "rc", OPT, "8 codes, shown once")

#define PROTO_TFA_DISABLE_REQ(F)                                                              \
	PROTO_AUTH_CLIENT(F)                                                                      \
	F(STR, password, "pw", REQ, "the user's password")
#define PROTO_TFA_DISABLE_REP(F) PROTO_AUTH_MESSAGE_REP(F)

#define PROTO_TFA_STATUS_REQ(F) PROTO_AUTH_CLIENT(F)
#define PROTO_TFA_STATUS_REP(F)                                                               \
	PROTO_AUTH_OUTCOME(F)                                                                     \
	F(BOOL, enabled, "on", OPT, "TOTP is on")                                                 \
	F(STR, verified_at, "va", OPT, "when it was enabled")                                     \
	F(BOOL, required_by_role, "req", OPT, "a role of the user requires it")

#define PROTO_TFA_CODES_REQ(F) PROTO_AUTH_CLIENT(F)
#define PROTO_TFA_CODES_REP(F)                                                                \
	PROTO_AUTH_OUTCOME(F)                                                                     \
	F(I64, remaining, "n", OPT, "unused recovery codes")

#endif
