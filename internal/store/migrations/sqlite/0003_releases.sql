-- Berth schema 3: release orders, the applications they hold while they
-- run, and the notification outbox.
CREATE TABLE release_orders (
	tenant      TEXT NOT NULL,
	project     TEXT NOT NULL,
	id          TEXT NOT NULL,
	environment TEXT NOT NULL,
	state       TEXT NOT NULL,
	created     TEXT NOT NULL,
	rv          INTEGER NOT NULL,
	body        TEXT NOT NULL,
	PRIMARY KEY (tenant, project, id),
	FOREIGN KEY (tenant, project, environment) REFERENCES environments (tenant, project, name)
);
CREATE INDEX release_orders_by_time ON release_orders (tenant, project, created DESC, id DESC);
CREATE INDEX release_orders_by_state ON release_orders (state);

-- One row per application an order holds: the primary key is what keeps two
-- orders off one application, on every dialect and isolation level.
CREATE TABLE release_locks (
	tenant      TEXT NOT NULL,
	project     TEXT NOT NULL,
	environment TEXT NOT NULL,
	application TEXT NOT NULL,
	order_id    TEXT NOT NULL,
	PRIMARY KEY (tenant, project, environment, application),
	FOREIGN KEY (tenant, project, order_id) REFERENCES release_orders (tenant, project, id)
);

CREATE TABLE notifications (
	id   INTEGER PRIMARY KEY AUTOINCREMENT,
	body TEXT NOT NULL
);
