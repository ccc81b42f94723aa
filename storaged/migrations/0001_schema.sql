-- 0001_schema.sql: kubarr's initial SQLite schema and seed rows.
--
-- The 24 tables of the reference backend (API.md section 6), with the same table names, column
-- names and column order, so that a `pg_dump --data-only --inserts` of the reference database maps
-- onto them column for column; then kubarr's own tables (request_log, notification_outbox).
--
-- The migration runner wraps this file in one transaction with foreign_keys=ON; the file itself
-- holds no BEGIN, COMMIT or PRAGMA. It must run on an empty SQLite 3.40 database.
--
-- Conventions (storaged's C code relies on them):
--  * Integer ids are `id INTEGER PRIMARY KEY` (an alias of the rowid). Plain rowid tables hand
--    out max(id)+1, so an id is reused only when the highest row was deleted. AUTOINCREMENT
--    (never reuse) is used where an id outlives its row somewhere the foreign keys do not reach:
--      users, roles - authd caches principals by user and role id and storaged publishes
--                     invalidations as (kind, id): a reused id could let a stale cache entry or a
--                     late event apply to a different user or role; audit_logs.user_id keeps the
--                     id of a deleted user, which must keep naming that user only;
--      invites      - invite ids appear in audit_logs.resource_id;
--      audit_logs   - ids are the stable, monotonic key of pagination and of any exporter that
--                     tails the log; retention and POST /api/audit/clear delete the oldest rows,
--                     and clearing everything must not restart the numbering.
--    Elsewhere (join rows, recovery codes, inbox items, logs...) reuse is harmless and the
--    cheaper plain rowid is used.
--    Text keys: sessions.id (uuid, 36 chars), oauth_providers.id, system_settings.key,
--    app_vpn_configs.app_name; user_preferences.user_id is both key and foreign key.
--  * Booleans are INTEGER NOT NULL with a 0/1 default and CHECK (x IN (0,1)). A nullable
--    tri-state (app_vpn_configs.kill_switch_override) allows NULL, 0 or 1.
--  * Timestamps are TEXT, RFC 3339 in UTC with milliseconds and a fixed width of 24 characters,
--    e.g. '2026-11-23T13:12:00.123Z', so text order is time order and range scans on an index
--    work with plain string comparison. Default: strftime('%Y-%m-%dT%H:%M:%fZ','now'). Each one
--    has a cheap GLOB CHECK on its shape; the CHECK yields NULL (which passes) on a NULL value, so
--    the same form serves nullable columns. storaged writes updated_at itself (no triggers).
--  * JSON columns are TEXT with CHECK (json_valid(x)); a nullable one says `x IS NULL OR` first,
--    because json_valid(NULL) is 0, not NULL.
--  * Foreign keys cascade on delete, except where a comment says otherwise. Every foreign key
--    column is the leading column of some index (the primary key, a UNIQUE constraint or an
--    explicit index), so deleting a parent row never scans a child table.
--  * users.username and users.email are unique case-insensitively (COLLATE NOCASE: ASCII letters
--    only; storaged lowercases nothing, it relies on the collation). Lookups by username or email
--    must use `=` (the column collation applies), not LIKE, to hit the unique index.
--  * Index names are <table>_<columns>_idx; UNIQUE constraints keep SQLite's automatic names.
--  * The table that records applied migrations belongs to the runner, not to this file.

-- ---------------------------------------------------------------------------------------------
-- Users, roles, permissions
-- ---------------------------------------------------------------------------------------------

CREATE TABLE users (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    username          TEXT    NOT NULL COLLATE NOCASE UNIQUE CHECK (username <> ''),
    email             TEXT    NOT NULL COLLATE NOCASE UNIQUE CHECK (email <> ''),
    hashed_password   TEXT    NOT NULL,
    is_active         INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    is_approved       INTEGER NOT NULL DEFAULT 0 CHECK (is_approved IN (0, 1)),
    totp_secret       TEXT,
    totp_enabled      INTEGER NOT NULL DEFAULT 0 CHECK (totp_enabled IN (0, 1)),
    totp_verified_at  TEXT
        CHECK (totp_verified_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z'),
    created_at        TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z'),
    updated_at        TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z'),
    -- TOTP cannot be on without a secret.
    CHECK (totp_enabled = 0 OR totp_secret IS NOT NULL)
);

CREATE TABLE roles (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL UNIQUE CHECK (name <> ''),
    description   TEXT,
    is_system     INTEGER NOT NULL DEFAULT 0 CHECK (is_system IN (0, 1)),
    requires_2fa  INTEGER NOT NULL DEFAULT 0 CHECK (requires_2fa IN (0, 1)),
    created_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z')
);

-- A pure join table: WITHOUT ROWID stores each row once, in primary-key order.
CREATE TABLE user_roles (
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id  INTEGER NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
) WITHOUT ROWID;

-- Role deletion and "users holding role X" (setup: does an admin exist?).
CREATE INDEX user_roles_role_id_idx ON user_roles (role_id);

-- UNIQUE (role_id, permission) is also the role_id index (foreign key, permissions of a role);
-- a separate index on role_id alone would only cost writes.
CREATE TABLE role_permissions (
    id          INTEGER PRIMARY KEY,
    role_id     INTEGER NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    permission  TEXT    NOT NULL CHECK (permission <> ''),
    UNIQUE (role_id, permission)
);

-- app_name '*' is the wildcard (exposed as app.*). UNIQUE (role_id, app_name) is the role_id index.
CREATE TABLE role_app_permissions (
    id        INTEGER PRIMARY KEY,
    role_id   INTEGER NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    app_name  TEXT    NOT NULL CHECK (app_name <> ''),
    UNIQUE (role_id, app_name)
);

-- ---------------------------------------------------------------------------------------------
-- Sessions, 2FA, OAuth
-- ---------------------------------------------------------------------------------------------

CREATE TABLE sessions (
    id                TEXT    PRIMARY KEY CHECK (length(id) = 36),
    user_id           INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_agent        TEXT,
    ip_address        TEXT,
    created_at        TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z'),
    expires_at        TEXT    NOT NULL
        CHECK (expires_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z'),
    last_accessed_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        CHECK (last_accessed_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z'),
    is_revoked        INTEGER NOT NULL DEFAULT 0 CHECK (is_revoked IN (0, 1))
);

-- Sessions of a user, user deletion, "revoke all but current".
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
-- Hourly cleanup of expired sessions.
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

-- Unused: 2FA is single-step in the reference and in kubarr. Kept so that a dump of the
-- reference database imports table for table; nothing reads or writes it.
CREATE TABLE pending_2fa_challenges (
    id               INTEGER PRIMARY KEY,
    user_id          INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    challenge_token  TEXT    NOT NULL UNIQUE,
    expires_at       TEXT    NOT NULL
        CHECK (expires_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z'),
    created_at       TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z')
);

CREATE INDEX pending_2fa_challenges_user_id_idx ON pending_2fa_challenges (user_id);

CREATE TABLE two_factor_recovery_codes (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash   TEXT    NOT NULL,
    used_at     TEXT
        CHECK (used_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z'),
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z')
);

CREATE INDEX two_factor_recovery_codes_user_id_idx ON two_factor_recovery_codes (user_id);

-- provider names an oauth_providers row ('google', 'microsoft', an OIDC id) but is not a
-- foreign key, as in the reference: unlinking accounts is not a side effect of provider edits.
CREATE TABLE oauth_accounts (
    id                INTEGER PRIMARY KEY,
    user_id           INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider          TEXT    NOT NULL CHECK (provider <> ''),
    provider_user_id  TEXT    NOT NULL CHECK (provider_user_id <> ''),
    email             TEXT,
    display_name      TEXT,
    access_token      TEXT,
    refresh_token     TEXT,
    token_expires_at  TEXT
        CHECK (token_expires_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z'),
    created_at        TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z'),
    updated_at        TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z')
);

-- The OAuth callback finds the local user by (provider, provider_user_id).
CREATE UNIQUE INDEX oauth_accounts_provider_provider_user_id_idx
    ON oauth_accounts (provider, provider_user_id);
-- User deletion, "linked accounts of a user", unlinking one provider.
CREATE INDEX oauth_accounts_user_id_provider_idx ON oauth_accounts (user_id, provider);

CREATE TABLE oauth_providers (
    id             TEXT    PRIMARY KEY CHECK (id <> ''),
    name           TEXT    NOT NULL,
    enabled        INTEGER NOT NULL DEFAULT 0 CHECK (enabled IN (0, 1)),
    client_id      TEXT,
    client_secret  TEXT,
    created_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z'),
    updated_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z')
);

-- ---------------------------------------------------------------------------------------------
-- Settings, preferences, invites
-- ---------------------------------------------------------------------------------------------

-- Whether a key is public (readable by the gateway) or secret (jwt_private_key, ...: readable
-- by authd only) is decided by storaged's key list, not by a column, so that the table keeps the
-- reference's shape for the import.
CREATE TABLE system_settings (
    key          TEXT PRIMARY KEY CHECK (key <> ''),
    value        TEXT NOT NULL,
    description  TEXT,
    updated_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z')
);

CREATE TABLE user_preferences (
    user_id     INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    theme       TEXT    NOT NULL DEFAULT 'system' CHECK (theme IN ('system', 'light', 'dark')),
    updated_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z')
);

-- created_by_id and used_by_id are ON DELETE SET NULL, and created_by_id is nullable (the
-- reference has it NOT NULL): deleting an admin must not make the invites they issued vanish
-- silently - an outstanding invite stays visible in the list (creator shown as null) and can be
-- revoked; a used invite keeps its history even after the user it created is deleted.
-- expires_at NULL means "never expires" (expires_in_days <= 0).
CREATE TABLE invites (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    code           TEXT    NOT NULL UNIQUE CHECK (code <> ''),
    created_by_id  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    used_by_id     INTEGER REFERENCES users (id) ON DELETE SET NULL,
    is_used        INTEGER NOT NULL DEFAULT 0 CHECK (is_used IN (0, 1)),
    expires_at     TEXT
        CHECK (expires_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z'),
    created_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z'),
    used_at        TEXT
        CHECK (used_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z'),
    -- An unused invite has no redeemer and no redemption time.
    CHECK (is_used = 1 OR (used_by_id IS NULL AND used_at IS NULL))
);

CREATE INDEX invites_created_by_id_idx ON invites (created_by_id);
CREATE INDEX invites_used_by_id_idx ON invites (used_by_id);

-- ---------------------------------------------------------------------------------------------
-- Audit log
-- ---------------------------------------------------------------------------------------------

-- user_id is deliberately not a foreign key (nor in the reference): the audit trail outlives
-- the users it mentions, user ids are never reused (users is AUTOINCREMENT), and username keeps
-- the name as it was. Audit writes therefore never look up users, and user deletion never
-- touches this table.
CREATE TABLE audit_logs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    timestamp      TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        CHECK (timestamp GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z'),
    user_id        INTEGER,
    username       TEXT,
    action         TEXT    NOT NULL CHECK (action <> ''),
    resource_type  TEXT    NOT NULL CHECK (resource_type <> ''),
    resource_id    TEXT,
    details        TEXT    CHECK (details IS NULL OR json_valid(details)),
    ip_address     TEXT,
    user_agent     TEXT,
    success        INTEGER NOT NULL DEFAULT 1 CHECK (success IN (0, 1)),
    error_message  TEXT
);

-- Listing newest first, time-range filters, events today / this week, retention.
-- (Every index ends with the rowid, so ORDER BY timestamp DESC, id DESC is index order too.)
CREATE INDEX audit_logs_timestamp_idx ON audit_logs (timestamp);
-- Filters by user / action / resource type, newest first; GROUP BY action (top actions) walks
-- audit_logs_action_timestamp_idx in order with no temporary table.
CREATE INDEX audit_logs_user_id_timestamp_idx ON audit_logs (user_id, timestamp);
CREATE INDEX audit_logs_action_timestamp_idx ON audit_logs (action, timestamp);
CREATE INDEX audit_logs_resource_type_timestamp_idx ON audit_logs (resource_type, timestamp);
-- Success / failure counts and "last 10 failures".
CREATE INDEX audit_logs_success_timestamp_idx ON audit_logs (success, timestamp);

-- ---------------------------------------------------------------------------------------------
-- Notifications
-- ---------------------------------------------------------------------------------------------

-- channel_type is free text checked by storaged (email, telegram, messagebird, webhook, ntfy,
-- gotify), so that a new channel type needs no migration.
CREATE TABLE notification_channels (
    id            INTEGER PRIMARY KEY,
    channel_type  TEXT    NOT NULL UNIQUE CHECK (channel_type <> ''),
    enabled       INTEGER NOT NULL DEFAULT 0 CHECK (enabled IN (0, 1)),
    config        TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(config)),
    created_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z'),
    updated_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z')
);

CREATE TABLE notification_events (
    id          INTEGER PRIMARY KEY,
    event_type  TEXT    NOT NULL UNIQUE CHECK (event_type <> ''),
    enabled     INTEGER NOT NULL DEFAULT 0 CHECK (enabled IN (0, 1)),
    severity    TEXT    NOT NULL DEFAULT 'info' CHECK (severity IN ('info', 'warning', 'critical'))
);

-- UNIQUE (user_id, channel_type) is also the user_id index.
CREATE TABLE user_notification_prefs (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel_type  TEXT    NOT NULL CHECK (channel_type <> ''),
    enabled       INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    destination   TEXT,
    verified      INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
    created_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z'),
    updated_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z'),
    UNIQUE (user_id, channel_type)
);

-- The delivery log outlives the user it was sent to: ON DELETE SET NULL. status is free text
-- ('pending', 'sent', 'failed' today) so that the retry work of issue 6 needs no migration.
CREATE TABLE notification_logs (
    id             INTEGER PRIMARY KEY,
    user_id        INTEGER REFERENCES users (id) ON DELETE SET NULL,
    channel_type   TEXT    NOT NULL,
    event_type     TEXT    NOT NULL,
    recipient      TEXT,
    status         TEXT    NOT NULL DEFAULT 'pending' CHECK (status <> ''),
    error_message  TEXT,
    created_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z')
);

-- Listing newest first, retention.
CREATE INDEX notification_logs_created_at_idx ON notification_logs (created_at);
-- User deletion (SET NULL) without a scan.
CREATE INDEX notification_logs_user_id_idx ON notification_logs (user_id);

CREATE TABLE user_notifications (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title       TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    event_type  TEXT,
    severity    TEXT    NOT NULL DEFAULT 'info' CHECK (severity IN ('info', 'warning', 'critical')),
    read        INTEGER NOT NULL DEFAULT 0 CHECK (read IN (0, 1)),
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z')
);

-- Unread count, "mark all read", user deletion.
CREATE INDEX user_notifications_user_id_read_created_at_idx
    ON user_notifications (user_id, read, created_at);
-- The inbox page: one user's items newest first, read or not, without a sort.
CREATE INDEX user_notifications_user_id_created_at_idx
    ON user_notifications (user_id, created_at);

-- ---------------------------------------------------------------------------------------------
-- Setup, server, VPN, Cloudflare
-- ---------------------------------------------------------------------------------------------

-- kubarr's components are database, metrics and backup (decision 14); imported rows for the
-- reference's helm components are kept as they are. status is one of the four the API reports.
CREATE TABLE bootstrap_status (
    id            INTEGER PRIMARY KEY,
    component     TEXT    NOT NULL UNIQUE CHECK (component <> ''),
    display_name  TEXT    NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'installing', 'healthy', 'failed')),
    message       TEXT,
    started_at    TEXT
        CHECK (started_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z'),
    completed_at  TEXT
        CHECK (completed_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z'),
    error         TEXT
);

CREATE TABLE server_config (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL,
    storage_path  TEXT    NOT NULL,
    created_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z')
);

-- At most one row, whatever its id (an imported row keeps the reference's id): a unique index
-- on a constant admits a single entry.
CREATE UNIQUE INDEX server_config_single_row_idx ON server_config ((0));

CREATE TABLE vpn_providers (
    id                         INTEGER PRIMARY KEY,
    name                       TEXT    NOT NULL CHECK (name <> ''),
    vpn_type                   TEXT    NOT NULL CHECK (vpn_type IN ('wireguard', 'openvpn')),
    service_provider           TEXT,
    credentials_json           TEXT    NOT NULL CHECK (json_valid(credentials_json)),
    enabled                    INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    kill_switch                INTEGER NOT NULL DEFAULT 1 CHECK (kill_switch IN (0, 1)),
    firewall_outbound_subnets  TEXT    NOT NULL DEFAULT '10.0.0.0/8,172.16.0.0/12,192.168.0.0/16',
    created_at                 TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z'),
    updated_at                 TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z')
);

-- Deleting a provider removes the per-app configs that use it (cascade, as in the reference);
-- storaged reports the affected apps so that the gateway redeploys them.
CREATE TABLE app_vpn_configs (
    app_name              TEXT    PRIMARY KEY CHECK (app_name <> ''),
    vpn_provider_id       INTEGER NOT NULL REFERENCES vpn_providers (id) ON DELETE CASCADE,
    kill_switch_override  INTEGER CHECK (kill_switch_override IN (0, 1)),
    port_forwarding       INTEGER NOT NULL DEFAULT 0 CHECK (port_forwarding IN (0, 1)),
    created_at            TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z'),
    updated_at            TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z')
);

-- Provider deletion and app_count of the provider list.
CREATE INDEX app_vpn_configs_vpn_provider_id_idx ON app_vpn_configs (vpn_provider_id);

-- status is free text (not_deployed, deploying, ...) set by the deploy code.
CREATE TABLE cloudflare_tunnels (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL,
    tunnel_token   TEXT    NOT NULL,
    status         TEXT    NOT NULL DEFAULT 'not_deployed' CHECK (status <> ''),
    error          TEXT,
    created_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z'),
    updated_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z'),
    api_token      TEXT,
    account_id     TEXT,
    tunnel_id      TEXT,
    zone_id        TEXT,
    zone_name      TEXT,
    subdomain      TEXT,
    dns_record_id  TEXT,
    hostname       TEXT
);

-- ---------------------------------------------------------------------------------------------
-- kubarr's own tables
-- ---------------------------------------------------------------------------------------------

-- Exactly-once writes: the reply to each applied write request, keyed by the client's request
-- id, written in the same transaction as the write. A retried request id gets the stored reply
-- instead of a second application. req_id holds the 64-bit wire id bit-cast to a signed integer.
-- A periodic job prunes old rows by created_at.
CREATE TABLE request_log (
    req_id      INTEGER PRIMARY KEY,
    op          INTEGER NOT NULL,
    status      INTEGER NOT NULL,
    reply       BLOB,
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z')
);

CREATE INDEX request_log_created_at_idx ON request_log (created_at);

-- Channel deliveries waiting for their (next) attempt, retried with backoff (issue 6); a row
-- is deleted once delivered or given up, and the outcome goes to notification_logs.
-- user_id is NULL for deliveries not tied to a user; a message queued for a user who is then
-- deleted is dropped with them (CASCADE): nothing more is sent to the destinations of a deleted
-- account.
CREATE TABLE notification_outbox (
    id               INTEGER PRIMARY KEY,
    user_id          INTEGER REFERENCES users (id) ON DELETE CASCADE,
    channel_type     TEXT    NOT NULL CHECK (channel_type <> ''),
    destination      TEXT    NOT NULL CHECK (destination <> ''),
    event_type       TEXT    NOT NULL,
    title            TEXT    NOT NULL,
    message          TEXT    NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        CHECK (next_attempt_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z'),
    last_error       TEXT,
    created_at       TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
        CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z')
);

-- The sender picks the rows that are due.
CREATE INDEX notification_outbox_next_attempt_at_idx ON notification_outbox (next_attempt_at);
-- User deletion without a scan.
CREATE INDEX notification_outbox_user_id_idx ON notification_outbox (user_id);

-- ---------------------------------------------------------------------------------------------
-- Seeds
-- ---------------------------------------------------------------------------------------------

-- System roles (API.md 3.8). Inserted in this order they get ids 1, 2, 3 as in the reference.
INSERT INTO roles (name, description, is_system) VALUES
    ('admin',      'Full access to every part of kubarr',                       1),
    ('viewer',     'Watches media: read-only access to files, logs and apps',   1),
    ('downloader', 'Runs the download clients and indexers',                    1);

-- admin: every permission (kubarr decision 13 adds notifications.* and cloudflare.*), plus the
-- app wildcard as a role permission; networking.manage is kept for compatibility (no route
-- requires it).
WITH p (permission) AS (
    VALUES ('app.*'),
           ('apps.view'), ('apps.install'), ('apps.delete'), ('apps.restart'),
           ('storage.view'), ('storage.write'), ('storage.delete'), ('storage.download'),
           ('logs.view'),
           ('monitoring.view'),
           ('networking.view'), ('networking.manage'),
           ('users.view'), ('users.manage'), ('users.reset_password'),
           ('roles.view'), ('roles.manage'),
           ('settings.view'), ('settings.manage'),
           ('vpn.view'), ('vpn.manage'),
           ('audit.view'), ('audit.manage'),
           ('notifications.view'), ('notifications.manage'),
           ('cloudflare.view'), ('cloudflare.manage'))
INSERT INTO role_permissions (role_id, permission)
SELECT r.id, p.permission FROM roles AS r, p WHERE r.name = 'admin';

WITH p (permission) AS (
    VALUES ('apps.view'), ('logs.view'), ('monitoring.view'),
           ('storage.view'), ('storage.download'))
INSERT INTO role_permissions (role_id, permission)
SELECT r.id, p.permission FROM roles AS r, p WHERE r.name = 'viewer';

WITH p (permission) AS (
    VALUES ('apps.view'), ('apps.restart'),
           ('storage.view'), ('storage.download'))
INSERT INTO role_permissions (role_id, permission)
SELECT r.id, p.permission FROM roles AS r, p WHERE r.name = 'downloader';

WITH a (app_name) AS (
    VALUES ('jellyfin'), ('jellyseerr'))
INSERT INTO role_app_permissions (role_id, app_name)
SELECT r.id, a.app_name FROM roles AS r, a WHERE r.name = 'viewer';

WITH a (app_name) AS (
    VALUES ('qbittorrent'), ('transmission'), ('deluge'), ('rutorrent'),
           ('sabnzbd'), ('jackett'), ('prowlarr'))
INSERT INTO role_app_permissions (role_id, app_name)
SELECT r.id, a.app_name FROM roles AS r, a WHERE r.name = 'downloader';

-- Registration is closed by default; when an admin opens it, new accounts wait for approval.
INSERT INTO system_settings (key, value, description) VALUES
    ('registration_enabled', 'false',
     'Allow people without an invite to create an account on the login page'),
    ('registration_require_approval', 'true',
     'Accounts created without an invite cannot sign in until an administrator approves them');

INSERT INTO oauth_providers (id, name, enabled) VALUES
    ('google',    'Google',    0),
    ('microsoft', 'Microsoft', 0);

-- Every event type of API.md section 9, disabled except the security events kubarr sends to
-- administrators by default (issue 6), plus kubarr's own security and backup events.
INSERT INTO notification_events (event_type, enabled, severity) VALUES
    ('login',                  0, 'info'),
    ('login_failed',           0, 'warning'),
    ('logout',                 0, 'info'),
    ('user_created',           0, 'info'),
    ('user_updated',           0, 'info'),
    ('user_deleted',           0, 'warning'),
    ('user_approved',          0, 'info'),
    ('user_deactivated',       0, 'info'),
    ('role_created',           0, 'info'),
    ('role_updated',           0, 'info'),
    ('role_deleted',           0, 'warning'),
    ('role_assigned',          0, 'info'),
    ('role_unassigned',        0, 'info'),
    ('app_installed',          0, 'info'),
    ('app_uninstalled',        0, 'info'),
    ('app_restarted',          0, 'info'),
    ('app_accessed',           0, 'info'),
    ('2fa_enabled',            0, 'info'),
    ('2fa_disabled',           1, 'warning'),
    ('password_changed',       1, 'warning'),
    ('system_setting_changed', 0, 'info'),
    ('invite_created',         0, 'info'),
    ('invite_used',            0, 'info'),
    ('login_new_address',      1, 'warning'),
    ('backup_failed',          1, 'critical'),
    ('backup_stale',           1, 'warning');

-- kubarr's bootstrap components (decision 14).
INSERT INTO bootstrap_status (component, display_name, status) VALUES
    ('database', 'Database', 'pending'),
    ('metrics',  'Metrics',  'pending'),
    ('backup',   'Backup',   'pending');

-- ---------------------------------------------------------------------------------------------
-- Planner statistics for audit_logs
-- ---------------------------------------------------------------------------------------------

-- audit_logs is the one table that grows large before anyone runs ANALYZE. Without statistics
-- the planner answers "COUNT(*) ... WHERE timestamp >= today GROUP BY action" by reading the
-- whole action index (it avoids a sort, but costs ~50 ms per million rows). These hand-written
-- statistics describe a large log (about 32 actions, 6 resource types, a few dozen users) so
-- the planner uses a skip-scan of audit_logs_action_timestamp_idx instead (well under 1 ms),
-- and keeps the time-range, per-user and failure queries on their indexes. `ANALYZE audit_logs`
-- on the empty table only creates sqlite_stat1; a later ANALYZE or PRAGMA optimize replaces
-- these rows with measured ones. New connections read them when they load the schema.
ANALYZE audit_logs;
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('audit_logs', 'audit_logs_timestamp_idx',               '1000000 1'),
    ('audit_logs', 'audit_logs_user_id_timestamp_idx',       '1000000 20000 1'),
    ('audit_logs', 'audit_logs_action_timestamp_idx',        '1000000 31250 1'),
    ('audit_logs', 'audit_logs_resource_type_timestamp_idx', '1000000 166667 1'),
    ('audit_logs', 'audit_logs_success_timestamp_idx',       '1000000 500000 1');
