-- Berth schema 5: gray plans (one per application and environment, the
-- latest; history is in the audit trail) and each tenant's org directory.
CREATE TABLE gray_plans (
	tenant      TEXT NOT NULL,
	project     TEXT NOT NULL,
	application TEXT NOT NULL,
	environment TEXT NOT NULL,
	rv          INTEGER NOT NULL,
	body        TEXT NOT NULL,
	PRIMARY KEY (tenant, project, environment, application),
	FOREIGN KEY (tenant, project, application) REFERENCES applications (tenant, project, name) ON DELETE CASCADE,
	FOREIGN KEY (tenant, project, environment) REFERENCES environments (tenant, project, name) ON DELETE CASCADE
);
CREATE TABLE org_units (
	tenant TEXT NOT NULL REFERENCES tenants (name) ON DELETE CASCADE,
	level  TEXT NOT NULL,
	code   TEXT NOT NULL,
	body   TEXT NOT NULL,
	PRIMARY KEY (tenant, level, code)
);
