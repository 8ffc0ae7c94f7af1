-- Berth schema 2: deployments, the desired state of an application in an
-- environment and what the controller last applied of it (in body).
CREATE TABLE deployments (
	tenant      TEXT COLLATE "C" NOT NULL,
	project     TEXT COLLATE "C" NOT NULL,
	application TEXT COLLATE "C" NOT NULL,
	environment TEXT COLLATE "C" NOT NULL,
	rv          BIGINT NOT NULL,
	body        TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant, project, application, environment),
	FOREIGN KEY (tenant, project, application) REFERENCES applications (tenant, project, name),
	FOREIGN KEY (tenant, project, environment) REFERENCES environments (tenant, project, name)
);
