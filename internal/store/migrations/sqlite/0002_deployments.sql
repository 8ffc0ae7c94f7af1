-- Berth schema 2: deployments, the desired state of an application in an
-- environment and what the controller last applied of it (in body).
CREATE TABLE deployments (
	tenant      TEXT NOT NULL,
	project     TEXT NOT NULL,
	application TEXT NOT NULL,
	environment TEXT NOT NULL,
	rv          INTEGER NOT NULL,
	body        TEXT NOT NULL,
	PRIMARY KEY (tenant, project, application, environment),
	FOREIGN KEY (tenant, project, application) REFERENCES applications (tenant, project, name),
	FOREIGN KEY (tenant, project, environment) REFERENCES environments (tenant, project, name)
);
