-- Berth schema 12: pipelines. pipelines hold each application's build and
-- delivery path (the spec's revision and its sealed webhook secret in the
-- body); pipeline_runs every run with its steps and decisions (state
-- indexed: the runner takes queued runs, the concurrency limit counts
-- running ones); pipeline_deliveries the webhook delivery IDs received, so
-- a replayed delivery is refused. Runs and deliveries go with their
-- pipeline, pipelines with their application.
CREATE TABLE pipelines (
	tenant  TEXT COLLATE "C" NOT NULL,
	project TEXT COLLATE "C" NOT NULL,
	name    TEXT COLLATE "C" NOT NULL,
	rv      BIGINT NOT NULL,
	body    TEXT COLLATE "C" NOT NULL,
	application TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant, project, name),
	FOREIGN KEY (tenant, project, application) REFERENCES applications (tenant, project, name) ON DELETE CASCADE
);
CREATE TABLE pipeline_runs (
	tenant   TEXT COLLATE "C" NOT NULL,
	project  TEXT COLLATE "C" NOT NULL,
	pipeline TEXT COLLATE "C" NOT NULL,
	num      BIGINT NOT NULL,
	state    TEXT COLLATE "C" NOT NULL,
	rv       BIGINT NOT NULL,
	body     TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant, project, pipeline, num),
	FOREIGN KEY (tenant, project, pipeline) REFERENCES pipelines (tenant, project, name) ON DELETE CASCADE
);
CREATE INDEX pipeline_runs_state ON pipeline_runs (state, tenant, project);
CREATE TABLE pipeline_deliveries (
	tenant   TEXT COLLATE "C" NOT NULL,
	project  TEXT COLLATE "C" NOT NULL,
	pipeline TEXT COLLATE "C" NOT NULL,
	delivery TEXT COLLATE "C" NOT NULL,
	received TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant, project, pipeline, delivery),
	FOREIGN KEY (tenant, project, pipeline) REFERENCES pipelines (tenant, project, name) ON DELETE CASCADE
);
