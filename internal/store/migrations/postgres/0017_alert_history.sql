-- Berth schema 18: alert history (docs/observability.md). alert_history is
-- what Alertmanager sent to a project's receivers, one row per alert (id:
-- its start and a digest of its labels), with its status and
-- acknowledgement in the body; the newest 1000 per project are kept. Rows
-- go with their project.
CREATE TABLE alert_history (
	tenant  TEXT COLLATE "C" NOT NULL,
	project TEXT COLLATE "C" NOT NULL,
	id      TEXT COLLATE "C" NOT NULL,
	rv      BIGINT NOT NULL,
	body    TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant, project, id),
	FOREIGN KEY (tenant, project) REFERENCES projects (tenant, name) ON DELETE CASCADE
);
