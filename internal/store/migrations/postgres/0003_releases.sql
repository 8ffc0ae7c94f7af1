-- Berth schema 3: release orders, the applications they hold while they
-- run, and the notification outbox.
CREATE TABLE release_orders (
	tenant      TEXT COLLATE "C" NOT NULL,
	project     TEXT COLLATE "C" NOT NULL,
	id          TEXT COLLATE "C" NOT NULL,
	environment TEXT COLLATE "C" NOT NULL,
	state       TEXT COLLATE "C" NOT NULL,
	created     TEXT COLLATE "C" NOT NULL,
	rv          BIGINT NOT NULL,
	body        TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant, project, id),
	FOREIGN KEY (tenant, project, environment) REFERENCES environments (tenant, project, name)
);
CREATE INDEX release_orders_by_time ON release_orders (tenant, project, created DESC, id DESC);
CREATE INDEX release_orders_by_state ON release_orders (state);

-- One row per application an order holds: the primary key is what keeps two
-- orders off one application, on every dialect and isolation level.
CREATE TABLE release_locks (
	tenant      TEXT COLLATE "C" NOT NULL,
	project     TEXT COLLATE "C" NOT NULL,
	environment TEXT COLLATE "C" NOT NULL,
	application TEXT COLLATE "C" NOT NULL,
	order_id    TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant, project, environment, application),
	FOREIGN KEY (tenant, project, order_id) REFERENCES release_orders (tenant, project, id)
);

CREATE TABLE notifications (
	id   BIGSERIAL PRIMARY KEY,
	body TEXT COLLATE "C" NOT NULL
);
