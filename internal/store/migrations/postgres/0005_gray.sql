-- Berth schema 5: gray plans (one per application and environment, the
-- latest; history is in the audit trail) and each tenant's org directory.
CREATE TABLE gray_plans (
	tenant      TEXT COLLATE "C" NOT NULL,
	project     TEXT COLLATE "C" NOT NULL,
	application TEXT COLLATE "C" NOT NULL,
	environment TEXT COLLATE "C" NOT NULL,
	rv          BIGINT NOT NULL,
	body        TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant, project, environment, application),
	FOREIGN KEY (tenant, project, application) REFERENCES applications (tenant, project, name) ON DELETE CASCADE,
	FOREIGN KEY (tenant, project, environment) REFERENCES environments (tenant, project, name) ON DELETE CASCADE
);
CREATE TABLE org_units (
	tenant TEXT COLLATE "C" NOT NULL REFERENCES tenants (name) ON DELETE CASCADE,
	level  TEXT COLLATE "C" NOT NULL,
	code   TEXT COLLATE "C" NOT NULL,
	body   TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant, level, code)
);
