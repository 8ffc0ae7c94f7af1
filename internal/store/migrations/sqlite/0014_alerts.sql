-- Berth schema 12: alerting (docs/observability.md). alert_rules are a
-- project's alert rules (by name; the environment is in the body),
-- alert_receivers where its alerts are sent (the body holds the receiver's
-- URL and the token Alertmanager presents). Both go with their project.
CREATE TABLE alert_rules (
	tenant  TEXT NOT NULL,
	project TEXT NOT NULL,
	name    TEXT NOT NULL,
	rv      INTEGER NOT NULL,
	body    TEXT NOT NULL,
	PRIMARY KEY (tenant, project, name),
	FOREIGN KEY (tenant, project) REFERENCES projects (tenant, name) ON DELETE CASCADE
);
CREATE TABLE alert_receivers (
	tenant  TEXT NOT NULL,
	project TEXT NOT NULL,
	name    TEXT NOT NULL,
	rv      INTEGER NOT NULL,
	body    TEXT NOT NULL,
	PRIMARY KEY (tenant, project, name),
	FOREIGN KEY (tenant, project) REFERENCES projects (tenant, name) ON DELETE CASCADE
);
