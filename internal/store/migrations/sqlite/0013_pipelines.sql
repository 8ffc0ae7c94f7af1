-- Berth schema 12: pipelines. pipelines hold each application's build and
-- delivery path (the spec's revision and its sealed webhook secret in the
-- body); pipeline_runs every run with its steps and decisions (state
-- indexed: the runner takes queued runs, the concurrency limit counts
-- running ones); pipeline_deliveries the webhook delivery IDs received, so
-- a replayed delivery is refused. Runs and deliveries go with their
-- pipeline, pipelines with their application.
CREATE TABLE pipelines (
	tenant  TEXT NOT NULL,
	project TEXT NOT NULL,
	name    TEXT NOT NULL,
	rv      INTEGER NOT NULL,
	body    TEXT NOT NULL,
	application TEXT NOT NULL,
	PRIMARY KEY (tenant, project, name),
	FOREIGN KEY (tenant, project, application) REFERENCES applications (tenant, project, name) ON DELETE CASCADE
);
CREATE TABLE pipeline_runs (
	tenant   TEXT NOT NULL,
	project  TEXT NOT NULL,
	pipeline TEXT NOT NULL,
	num      INTEGER NOT NULL,
	state    TEXT NOT NULL,
	rv       INTEGER NOT NULL,
	body     TEXT NOT NULL,
	PRIMARY KEY (tenant, project, pipeline, num),
	FOREIGN KEY (tenant, project, pipeline) REFERENCES pipelines (tenant, project, name) ON DELETE CASCADE
);
CREATE INDEX pipeline_runs_state ON pipeline_runs (state, tenant, project);
CREATE TABLE pipeline_deliveries (
	tenant   TEXT NOT NULL,
	project  TEXT NOT NULL,
	pipeline TEXT NOT NULL,
	delivery TEXT NOT NULL,
	received TEXT NOT NULL,
	PRIMARY KEY (tenant, project, pipeline, delivery),
	FOREIGN KEY (tenant, project, pipeline) REFERENCES pipelines (tenant, project, name) ON DELETE CASCADE
);
