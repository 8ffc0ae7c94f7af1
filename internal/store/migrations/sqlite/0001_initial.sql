-- Berth schema 1: tenancy, applications, identity, audit.
-- Every resource table: key columns, rv (resourceVersion), body (the domain
-- object as JSON). Times inside body are RFC 3339; audit times are Unix
-- microseconds.
CREATE TABLE tenants (
	name TEXT PRIMARY KEY,
	rv   INTEGER NOT NULL,
	body TEXT NOT NULL
);
CREATE TABLE projects (
	tenant TEXT NOT NULL REFERENCES tenants (name),
	name   TEXT NOT NULL,
	rv     INTEGER NOT NULL,
	body   TEXT NOT NULL,
	PRIMARY KEY (tenant, name)
);
CREATE TABLE clusters (
	name TEXT PRIMARY KEY,
	rv   INTEGER NOT NULL,
	body TEXT NOT NULL
);
CREATE TABLE environments (
	tenant    TEXT NOT NULL,
	project   TEXT NOT NULL,
	name      TEXT NOT NULL,
	cluster   TEXT NOT NULL REFERENCES clusters (name),
	namespace TEXT NOT NULL,
	rv        INTEGER NOT NULL,
	body      TEXT NOT NULL,
	PRIMARY KEY (tenant, project, name),
	FOREIGN KEY (tenant, project) REFERENCES projects (tenant, name),
	UNIQUE (cluster, namespace)
);
CREATE TABLE members (
	tenant  TEXT NOT NULL, -- '' at platform scope
	project TEXT NOT NULL, -- '' at platform and tenant scope
	name    TEXT NOT NULL, -- user:role
	usr     TEXT NOT NULL,
	rv      INTEGER NOT NULL,
	body    TEXT NOT NULL,
	PRIMARY KEY (tenant, project, name)
);
CREATE INDEX members_usr ON members (usr);
CREATE TABLE quotas (
	tenant  TEXT NOT NULL REFERENCES tenants (name) ON DELETE CASCADE,
	project TEXT NOT NULL, -- '' for the tenant's own quota
	rv      INTEGER NOT NULL,
	body    TEXT NOT NULL,
	PRIMARY KEY (tenant, project)
);
CREATE TABLE tiers (
	name TEXT PRIMARY KEY,
	rv   INTEGER NOT NULL,
	body TEXT NOT NULL
);
CREATE TABLE applications (
	tenant  TEXT NOT NULL,
	project TEXT NOT NULL,
	name    TEXT NOT NULL,
	rv      INTEGER NOT NULL,
	body    TEXT NOT NULL,
	PRIMARY KEY (tenant, project, name),
	FOREIGN KEY (tenant, project) REFERENCES projects (tenant, name)
);
CREATE TABLE versions (
	tenant      TEXT NOT NULL,
	project     TEXT NOT NULL,
	application TEXT NOT NULL,
	name        TEXT NOT NULL,
	tier        TEXT REFERENCES tiers (name),
	rv          INTEGER NOT NULL,
	body        TEXT NOT NULL,
	PRIMARY KEY (tenant, project, application, name),
	FOREIGN KEY (tenant, project, application) REFERENCES applications (tenant, project, name) ON DELETE CASCADE
);
CREATE INDEX versions_tier ON versions (tier);
CREATE TABLE reservations (
	tenant       TEXT NOT NULL,
	project      TEXT NOT NULL,
	application  TEXT NOT NULL,
	cpu          INTEGER NOT NULL,
	memory       INTEGER NOT NULL,
	containers   INTEGER NOT NULL,
	storage      INTEGER NOT NULL,
	config_items INTEGER NOT NULL,
	PRIMARY KEY (tenant, project, application),
	FOREIGN KEY (tenant, project, application) REFERENCES applications (tenant, project, name) ON DELETE CASCADE
);
CREATE TABLE users (
	name TEXT PRIMARY KEY,
	rv   INTEGER NOT NULL,
	body TEXT NOT NULL
);
CREATE TABLE tokens (
	usr         TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
	name        TEXT NOT NULL, -- token ID
	secret_hash TEXT NOT NULL UNIQUE,
	rv          INTEGER NOT NULL,
	body        TEXT NOT NULL,
	PRIMARY KEY (usr, name)
);
CREATE TABLE sessions (
	usr         TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
	name        TEXT NOT NULL, -- session ID
	secret_hash TEXT NOT NULL UNIQUE,
	expires_at  INTEGER NOT NULL, -- Unix microseconds
	rv          INTEGER NOT NULL,
	body        TEXT NOT NULL,
	PRIMARY KEY (usr, name)
);
CREATE TABLE audit_records (
	seq        INTEGER PRIMARY KEY,
	time       INTEGER NOT NULL, -- Unix microseconds
	actor      TEXT NOT NULL,
	roles      TEXT NOT NULL, -- JSON array
	tenant     TEXT NOT NULL,
	project    TEXT NOT NULL,
	action     TEXT NOT NULL,
	target     TEXT NOT NULL,
	outcome    TEXT NOT NULL,
	source_ip  TEXT NOT NULL,
	request_id TEXT NOT NULL,
	summary    TEXT NOT NULL,
	prev_hash  TEXT NOT NULL,
	hash       TEXT NOT NULL
);
CREATE INDEX audit_records_time ON audit_records (time);
CREATE INDEX audit_records_actor ON audit_records (actor, seq);
CREATE INDEX audit_records_tenant ON audit_records (tenant, seq);
CREATE INDEX audit_records_action ON audit_records (action, seq);
CREATE TABLE audit_chain (
	id        INTEGER PRIMARY KEY CHECK (id = 1),
	base_seq  INTEGER NOT NULL,
	base_hash TEXT NOT NULL,
	head_seq  INTEGER NOT NULL,
	head_hash TEXT NOT NULL
);
INSERT INTO audit_chain (id, base_seq, base_hash, head_seq, head_hash) VALUES
	(1, 0, '0000000000000000000000000000000000000000000000000000000000000000',
	    0, '0000000000000000000000000000000000000000000000000000000000000000');
