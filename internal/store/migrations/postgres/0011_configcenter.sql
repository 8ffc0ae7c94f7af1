-- Berth schema 11: the config center. config_items hold each item's current
-- content (sealed for secret items, marked by secret = 1 so a seal key rotation
-- finds them) by environment and "group/dataId"; config_revisions every revision
-- ever made, kept after the item is deleted (its history stays readable and
-- auditable). Items go with their environment.
CREATE TABLE config_items (
	tenant      TEXT COLLATE "C" NOT NULL,
	project     TEXT COLLATE "C" NOT NULL,
	environment TEXT COLLATE "C" NOT NULL,
	name        TEXT COLLATE "C" NOT NULL,
	secret      BIGINT NOT NULL,
	rv          BIGINT NOT NULL,
	body        TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant, project, environment, name),
	FOREIGN KEY (tenant, project, environment) REFERENCES environments (tenant, project, name) ON DELETE CASCADE
);
CREATE INDEX config_items_secret ON config_items (secret);
CREATE TABLE config_revisions (
	tenant      TEXT COLLATE "C" NOT NULL,
	project     TEXT COLLATE "C" NOT NULL,
	environment TEXT COLLATE "C" NOT NULL,
	name        TEXT COLLATE "C" NOT NULL,
	num         BIGINT NOT NULL,
	secret      BIGINT NOT NULL,
	rv          BIGINT NOT NULL,
	body        TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant, project, environment, name, num)
);
CREATE INDEX config_revisions_secret ON config_revisions (secret);
