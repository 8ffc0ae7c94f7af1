-- Berth schema 10: the guarded terminal. terminal_policies say what each
-- role's sessions may do per environment; terminal_sessions record every
-- session (the SHA-256 of its recording once it ends); terminal_commands
-- every submitted line, allowed or refused, with its argv, rule, exit code
-- and duration.
CREATE TABLE terminal_policies (
	name TEXT PRIMARY KEY,
	rv   INTEGER NOT NULL,
	body TEXT NOT NULL
);
CREATE TABLE terminal_sessions (
	id     TEXT PRIMARY KEY,
	tenant TEXT NOT NULL,
	usr    TEXT NOT NULL,
	rv     INTEGER NOT NULL,
	body   TEXT NOT NULL
);
CREATE INDEX terminal_sessions_tenant ON terminal_sessions (tenant, id);
CREATE TABLE terminal_commands (
	session TEXT NOT NULL REFERENCES terminal_sessions (id) ON DELETE CASCADE,
	seq     INTEGER NOT NULL,
	rv      INTEGER NOT NULL,
	body    TEXT NOT NULL,
	PRIMARY KEY (session, seq)
);
