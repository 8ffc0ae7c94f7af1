-- Berth schema 10: the guarded terminal. terminal_policies say what each
-- role's sessions may do per environment; terminal_sessions record every
-- session (the SHA-256 of its recording once it ends); terminal_commands
-- every submitted line, allowed or refused, with its argv, rule, exit code
-- and duration.
CREATE TABLE terminal_policies (
	name TEXT COLLATE "C" PRIMARY KEY,
	rv   BIGINT NOT NULL,
	body TEXT COLLATE "C" NOT NULL
);
CREATE TABLE terminal_sessions (
	id     TEXT COLLATE "C" PRIMARY KEY,
	tenant TEXT COLLATE "C" NOT NULL,
	usr    TEXT COLLATE "C" NOT NULL,
	rv     BIGINT NOT NULL,
	body   TEXT COLLATE "C" NOT NULL
);
CREATE INDEX terminal_sessions_tenant ON terminal_sessions (tenant, id);
CREATE TABLE terminal_commands (
	session TEXT COLLATE "C" NOT NULL REFERENCES terminal_sessions (id) ON DELETE CASCADE,
	seq     BIGINT NOT NULL,
	rv      BIGINT NOT NULL,
	body    TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (session, seq)
);
