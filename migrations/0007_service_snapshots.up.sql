-- A service's current state in one row, and a ListOperations page from one
-- index, so that a DescribeService or a page of operations reads about one
-- leaf page of a large database rather than four or five (BENCHMARKS.md).

-- Everything DescribeService answers: the service, the configuration it runs,
-- its deployed and latest image versions, the configuration's connection,
-- whether that configuration has environment entries (they are read apart),
-- and its endpoint. LoadService reads it by pk inside write transactions.
CREATE VIEW service_snapshot_source AS
SELECT s.pk, s.service_id, s.name, s.url, s.status, s.config_version,
       s.deployed_image_version, s.created_at, s.updated_at, s.deleted_at,
       s.revision, s.account_id,
       c.image_identifier, c.image_repository_type, c.port, c.start_command,
       c.auto_deployments_enabled, c.cpu, c.memory, c.health_protocol,
       c.health_path, c.health_interval, c.health_timeout,
       c.health_healthy_threshold, c.health_unhealthy_threshold,
       d.version AS deployed_version,
       d.image_identifier AS deployed_identifier,
       d.recorded_at AS deployed_recorded_at,
       l.version AS latest_version,
       l.image_identifier AS latest_identifier,
       l.recorded_at AS latest_recorded_at,
       cn.account_id AS connection_account_id,
       cn.name AS connection_name,
       cn.connection_id,
       CASE WHEN EXISTS (SELECT 1 FROM service_config_env e
                         WHERE e.service_pk = s.pk
                           AND e.version = s.config_version)
            THEN 1 ELSE 0 END AS has_env,
       p.address || ':' || p.port AS endpoint
FROM services s
LEFT JOIN service_configs c
  ON c.service_pk = s.pk AND c.version = s.config_version
LEFT JOIN service_config_connections cc
  ON cc.service_pk = c.service_pk AND cc.version = c.version
LEFT JOIN connections cn ON cn.pk = cc.connection_pk
LEFT JOIN service_images d
  ON d.service_pk = s.pk AND d.version = s.deployed_image_version
LEFT JOIN service_images l
  ON s.deleted_at IS NULL AND l.service_pk = s.pk
  AND l.version = (SELECT MAX(version) FROM service_images
                   WHERE service_pk = s.pk)
LEFT JOIN service_endpoints p ON p.service_pk = s.pk;

-- The view's rows, kept by the triggers below in the transaction that
-- changes their sources, keyed by the id DescribeService is called with.
CREATE TABLE service_snapshots (
  pk                         INTEGER NOT NULL,
  service_id                 TEXT    NOT NULL PRIMARY KEY,
  name                       TEXT    NOT NULL,
  url                        TEXT    NOT NULL,
  status                     TEXT    NOT NULL,
  config_version             INTEGER,
  deployed_image_version     INTEGER,
  created_at                 INTEGER NOT NULL,
  updated_at                 INTEGER NOT NULL,
  deleted_at                 INTEGER,
  revision                   INTEGER NOT NULL,
  account_id                 TEXT    NOT NULL,
  image_identifier           TEXT,
  image_repository_type      TEXT,
  port                       TEXT,
  start_command              TEXT,
  auto_deployments_enabled   INTEGER,
  cpu                        TEXT,
  memory                     TEXT,
  health_protocol            TEXT,
  health_path                TEXT,
  health_interval            INTEGER,
  health_timeout             INTEGER,
  health_healthy_threshold   INTEGER,
  health_unhealthy_threshold INTEGER,
  deployed_version           INTEGER,
  deployed_identifier        TEXT,
  deployed_recorded_at       INTEGER,
  latest_version             INTEGER,
  latest_identifier          TEXT,
  latest_recorded_at         INTEGER,
  connection_account_id      TEXT,
  connection_name            TEXT,
  connection_id              TEXT,
  has_env                    INTEGER NOT NULL,
  endpoint                   TEXT
) WITHOUT ROWID;

INSERT INTO service_snapshots SELECT * FROM service_snapshot_source;

-- Every change of a source row writes its service's row again. A change of
-- the services row itself is counted once: services_count_revision makes
-- every update change the revision, by a second update if need be.
CREATE TRIGGER service_snapshots_on_service_insert AFTER INSERT ON services
BEGIN
  INSERT OR REPLACE INTO service_snapshots
    SELECT * FROM service_snapshot_source WHERE pk = NEW.pk;
END;
CREATE TRIGGER service_snapshots_on_service_update AFTER UPDATE ON services
  WHEN NEW.revision <> OLD.revision
BEGIN
  INSERT OR REPLACE INTO service_snapshots
    SELECT * FROM service_snapshot_source WHERE pk = NEW.pk;
END;
CREATE TRIGGER service_snapshots_on_service_delete AFTER DELETE ON services
BEGIN
  DELETE FROM service_snapshots WHERE service_id = OLD.service_id;
END;

CREATE TRIGGER service_snapshots_on_config_insert
  AFTER INSERT ON service_configs
BEGIN
  INSERT OR REPLACE INTO service_snapshots
    SELECT * FROM service_snapshot_source WHERE pk = NEW.service_pk;
END;
CREATE TRIGGER service_snapshots_on_config_update
  AFTER UPDATE ON service_configs
BEGIN
  INSERT OR REPLACE INTO service_snapshots
    SELECT * FROM service_snapshot_source WHERE pk = NEW.service_pk;
END;
CREATE TRIGGER service_snapshots_on_config_delete
  AFTER DELETE ON service_configs
BEGIN
  INSERT OR REPLACE INTO service_snapshots
    SELECT * FROM service_snapshot_source WHERE pk = OLD.service_pk;
END;

CREATE TRIGGER service_snapshots_on_image_insert
  AFTER INSERT ON service_images
BEGIN
  INSERT OR REPLACE INTO service_snapshots
    SELECT * FROM service_snapshot_source WHERE pk = NEW.service_pk;
END;
CREATE TRIGGER service_snapshots_on_image_update
  AFTER UPDATE ON service_images
BEGIN
  INSERT OR REPLACE INTO service_snapshots
    SELECT * FROM service_snapshot_source WHERE pk = NEW.service_pk;
END;
CREATE TRIGGER service_snapshots_on_image_delete
  AFTER DELETE ON service_images
BEGIN
  INSERT OR REPLACE INTO service_snapshots
    SELECT * FROM service_snapshot_source WHERE pk = OLD.service_pk;
END;

CREATE TRIGGER service_snapshots_on_env_insert
  AFTER INSERT ON service_config_env
BEGIN
  INSERT OR REPLACE INTO service_snapshots
    SELECT * FROM service_snapshot_source WHERE pk = NEW.service_pk;
END;
CREATE TRIGGER service_snapshots_on_env_update
  AFTER UPDATE ON service_config_env
BEGIN
  INSERT OR REPLACE INTO service_snapshots
    SELECT * FROM service_snapshot_source WHERE pk = NEW.service_pk;
END;
CREATE TRIGGER service_snapshots_on_env_delete
  AFTER DELETE ON service_config_env
BEGIN
  INSERT OR REPLACE INTO service_snapshots
    SELECT * FROM service_snapshot_source WHERE pk = OLD.service_pk;
END;

CREATE TRIGGER service_snapshots_on_config_connection_insert
  AFTER INSERT ON service_config_connections
BEGIN
  INSERT OR REPLACE INTO service_snapshots
    SELECT * FROM service_snapshot_source WHERE pk = NEW.service_pk;
END;
CREATE TRIGGER service_snapshots_on_config_connection_update
  AFTER UPDATE ON service_config_connections
BEGIN
  INSERT OR REPLACE INTO service_snapshots
    SELECT * FROM service_snapshot_source WHERE pk = NEW.service_pk;
END;
CREATE TRIGGER service_snapshots_on_config_connection_delete
  AFTER DELETE ON service_config_connections
BEGIN
  INSERT OR REPLACE INTO service_snapshots
    SELECT * FROM service_snapshot_source WHERE pk = OLD.service_pk;
END;

CREATE TRIGGER service_snapshots_on_connection_update
  AFTER UPDATE ON connections
BEGIN
  INSERT OR REPLACE INTO service_snapshots
    SELECT * FROM service_snapshot_source WHERE pk IN (
      SELECT service_pk FROM service_config_connections
      WHERE connection_pk = NEW.pk);
END;

CREATE TRIGGER service_snapshots_on_endpoint_insert
  AFTER INSERT ON service_endpoints
BEGIN
  INSERT OR REPLACE INTO service_snapshots
    SELECT * FROM service_snapshot_source WHERE pk = NEW.service_pk;
END;
CREATE TRIGGER service_snapshots_on_endpoint_update
  AFTER UPDATE ON service_endpoints
BEGIN
  INSERT OR REPLACE INTO service_snapshots
    SELECT * FROM service_snapshot_source WHERE pk = NEW.service_pk;
END;
CREATE TRIGGER service_snapshots_on_endpoint_delete
  AFTER DELETE ON service_endpoints
BEGIN
  INSERT OR REPLACE INTO service_snapshots
    SELECT * FROM service_snapshot_source WHERE pk = OLD.service_pk;
END;

-- ListOperations reads a page from the index alone: it holds every column
-- of an operation's summary. It replaces the (service_pk, seq) index.
DROP INDEX operations_by_service;
CREATE INDEX operations_by_service ON operations (service_pk, seq,
  operation_id, type, status, started_at, updated_at, ended_at);
