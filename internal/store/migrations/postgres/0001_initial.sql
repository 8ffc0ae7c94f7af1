-- Berth schema 1: tenancy, applications, identity, audit.
-- Every resource table: key columns, rv (resourceVersion), body (the domain
-- object as JSON). Times inside body are RFC 3339; audit times are Unix
-- microseconds.
CREATE TABLE tenants (
	name TEXT COLLATE "C" PRIMARY KEY,
	rv   BIGINT NOT NULL,
	body TEXT COLLATE "C" NOT NULL
);
CREATE TABLE projects (
	tenant TEXT COLLATE "C" NOT NULL REFERENCES tenants (name),
	name   TEXT COLLATE "C" NOT NULL,
	rv     BIGINT NOT NULL,
	body   TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant, name)
);
CREATE TABLE clusters (
	name TEXT COLLATE "C" PRIMARY KEY,
	rv   BIGINT NOT NULL,
	body TEXT COLLATE "C" NOT NULL
);
CREATE TABLE environments (
	tenant    TEXT COLLATE "C" NOT NULL,
	project   TEXT COLLATE "C" NOT NULL,
	name      TEXT COLLATE "C" NOT NULL,
	cluster   TEXT COLLATE "C" NOT NULL REFERENCES clusters (name),
	namespace TEXT COLLATE "C" NOT NULL,
	rv        BIGINT NOT NULL,
	body      TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant, project, name),
	FOREIGN KEY (tenant, project) REFERENCES projects (tenant, name),
	UNIQUE (cluster, namespace)
);
CREATE TABLE members (
	tenant  TEXT COLLATE "C" NOT NULL, -- '' at platform scope
	project TEXT COLLATE "C" NOT NULL, -- '' at platform and tenant scope
	name    TEXT COLLATE "C" NOT NULL, -- user:role
	usr     TEXT COLLATE "C" NOT NULL,
	rv      BIGINT NOT NULL,
	body    TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant, project, name)
);
CREATE INDEX members_usr ON members (usr);
CREATE TABLE quotas (
	tenant  TEXT COLLATE "C" NOT NULL REFERENCES tenants (name) ON DELETE CASCADE,
	project TEXT COLLATE "C" NOT NULL, -- '' for the tenant's own quota
	rv      BIGINT NOT NULL,
	body    TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant, project)
);
CREATE TABLE tiers (
	name TEXT COLLATE "C" PRIMARY KEY,
	rv   BIGINT NOT NULL,
	body TEXT COLLATE "C" NOT NULL
);
CREATE TABLE applications (
	tenant  TEXT COLLATE "C" NOT NULL,
	project TEXT COLLATE "C" NOT NULL,
	name    TEXT COLLATE "C" NOT NULL,
	rv      BIGINT NOT NULL,
	body    TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant, project, name),
	FOREIGN KEY (tenant, project) REFERENCES projects (tenant, name)
);
CREATE TABLE versions (
	tenant      TEXT COLLATE "C" NOT NULL,
	project     TEXT COLLATE "C" NOT NULL,
	application TEXT COLLATE "C" NOT NULL,
	name        TEXT COLLATE "C" NOT NULL,
	tier        TEXT COLLATE "C" REFERENCES tiers (name),
	rv          BIGINT NOT NULL,
	body        TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant, project, application, name),
	FOREIGN KEY (tenant, project, application) REFERENCES applications (tenant, project, name) ON DELETE CASCADE
);
CREATE INDEX versions_tier ON versions (tier);
CREATE TABLE reservations (
	tenant       TEXT COLLATE "C" NOT NULL,
	project      TEXT COLLATE "C" NOT NULL,
	application  TEXT COLLATE "C" NOT NULL,
	cpu          BIGINT NOT NULL,
	memory       BIGINT NOT NULL,
	containers   BIGINT NOT NULL,
	storage      BIGINT NOT NULL,
	config_items BIGINT NOT NULL,
	PRIMARY KEY (tenant, project, application),
	FOREIGN KEY (tenant, project, application) REFERENCES applications (tenant, project, name) ON DELETE CASCADE
);
CREATE TABLE users (
	name TEXT COLLATE "C" PRIMARY KEY,
	rv   BIGINT NOT NULL,
	body TEXT COLLATE "C" NOT NULL
);
CREATE TABLE tokens (
	usr         TEXT COLLATE "C" NOT NULL REFERENCES users (name) ON DELETE CASCADE,
	name        TEXT COLLATE "C" NOT NULL, -- token ID
	secret_hash TEXT COLLATE "C" NOT NULL UNIQUE,
	rv          BIGINT NOT NULL,
	body        TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (usr, name)
);
CREATE TABLE sessions (
	usr         TEXT COLLATE "C" NOT NULL REFERENCES users (name) ON DELETE CASCADE,
	name        TEXT COLLATE "C" NOT NULL, -- session ID
	secret_hash TEXT COLLATE "C" NOT NULL UNIQUE,
	expires_at  BIGINT NOT NULL, -- Unix microseconds
	rv          BIGINT NOT NULL,
	body        TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (usr, name)
);
CREATE TABLE audit_records (
	seq        BIGINT PRIMARY KEY,
	time       BIGINT NOT NULL, -- Unix microseconds
	actor      TEXT COLLATE "C" NOT NULL,
	roles      TEXT COLLATE "C" NOT NULL, -- JSON array
	tenant     TEXT COLLATE "C" NOT NULL,
	project    TEXT COLLATE "C" NOT NULL,
	action     TEXT COLLATE "C" NOT NULL,
	target     TEXT COLLATE "C" NOT NULL,
	outcome    TEXT COLLATE "C" NOT NULL,
	source_ip  TEXT COLLATE "C" NOT NULL,
	request_id TEXT COLLATE "C" NOT NULL,
	summary    TEXT COLLATE "C" NOT NULL,
	prev_hash  TEXT COLLATE "C" NOT NULL,
	hash       TEXT COLLATE "C" NOT NULL
);
CREATE INDEX audit_records_time ON audit_records (time);
CREATE INDEX audit_records_actor ON audit_records (actor, seq);
CREATE INDEX audit_records_tenant ON audit_records (tenant, seq);
CREATE INDEX audit_records_action ON audit_records (action, seq);
CREATE TABLE audit_chain (
	id        INTEGER PRIMARY KEY CHECK (id = 1),
	base_seq  BIGINT NOT NULL,
	base_hash TEXT COLLATE "C" NOT NULL,
	head_seq  BIGINT NOT NULL,
	head_hash TEXT COLLATE "C" NOT NULL
);
INSERT INTO audit_chain (id, base_seq, base_hash, head_seq, head_hash) VALUES
	(1, 0, '0000000000000000000000000000000000000000000000000000000000000000',
	    0, '0000000000000000000000000000000000000000000000000000000000000000');
