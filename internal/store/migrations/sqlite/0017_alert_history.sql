-- Berth schema 18: alert history (docs/observability.md). alert_history is
-- what Alertmanager sent to a project's receivers, one row per alert (id:
-- its start and a digest of its labels), with its status and
-- acknowledgement in the body; the newest 1000 per project are kept. Rows
-- go with their project.
CREATE TABLE alert_history (
	tenant  TEXT NOT NULL,
	project TEXT NOT NULL,
	id      TEXT NOT NULL,
	rv      INTEGER NOT NULL,
	body    TEXT NOT NULL,
	PRIMARY KEY (tenant, project, id),
	FOREIGN KEY (tenant, project) REFERENCES projects (tenant, name) ON DELETE CASCADE
);
