-- DescribeService reads one page of a large database, not two: the row of
-- service_snapshots moves into a rowid table, keyed by an integer made from
-- the service id (BENCHMARKS.md, "The 1M slowdowns"). The interior pages of a
-- rowid table hold only keys, so for a million services they are a few
-- hundred and stay in the reader's cache; those of 0007's table keyed by the
-- id held whole rows, more pages than the cache.

-- The last 15 hex digits of the id, as an integer (ids are 32 random hex
-- digits). Two services whose ids end alike share a key: whichever changed
-- last has the row, and a read that finds another service's row there reads
-- the sources instead (SnapshotKey in server/store/sqlite_store.h).
ALTER TABLE services ADD COLUMN snapshot_key INTEGER GENERATED ALWAYS AS (
    (instr('0123456789abcdef', substr(service_id, -15, 1)) - 1) * 72057594037927936
    + (instr('0123456789abcdef', substr(service_id, -14, 1)) - 1) * 4503599627370496
    + (instr('0123456789abcdef', substr(service_id, -13, 1)) - 1) * 281474976710656
    + (instr('0123456789abcdef', substr(service_id, -12, 1)) - 1) * 17592186044416
    + (instr('0123456789abcdef', substr(service_id, -11, 1)) - 1) * 1099511627776
    + (instr('0123456789abcdef', substr(service_id, -10, 1)) - 1) * 68719476736
    + (instr('0123456789abcdef', substr(service_id, -9, 1)) - 1) * 4294967296
    + (instr('0123456789abcdef', substr(service_id, -8, 1)) - 1) * 268435456
    + (instr('0123456789abcdef', substr(service_id, -7, 1)) - 1) * 16777216
    + (instr('0123456789abcdef', substr(service_id, -6, 1)) - 1) * 1048576
    + (instr('0123456789abcdef', substr(service_id, -5, 1)) - 1) * 65536
    + (instr('0123456789abcdef', substr(service_id, -4, 1)) - 1) * 4096
    + (instr('0123456789abcdef', substr(service_id, -3, 1)) - 1) * 256
    + (instr('0123456789abcdef', substr(service_id, -2, 1)) - 1) * 16
    + (instr('0123456789abcdef', substr(service_id, -1, 1)) - 1) * 1) VIRTUAL;

DROP TABLE service_snapshots;
DROP VIEW service_snapshot_source;

-- As in 0007, with the key first.
CREATE VIEW service_snapshot_source AS
SELECT s.snapshot_key,
       s.pk, s.service_id, s.name, s.url, s.status, s.config_version,
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

CREATE TABLE service_snapshots (
  snapshot_key               INTEGER PRIMARY KEY,
  pk                         INTEGER NOT NULL,
  service_id                 TEXT    NOT NULL,
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
);

-- Of services that share a key, the last created has the row.
INSERT OR REPLACE INTO service_snapshots
  SELECT * FROM service_snapshot_source ORDER BY pk;

-- 0007's triggers write `SELECT *` of the view into the table, so they keep
-- working with the key in front. The one that deletes a service's row
-- looked it up by id; it now deletes the service's own row by key.
DROP TRIGGER service_snapshots_on_service_delete;
CREATE TRIGGER service_snapshots_on_service_delete AFTER DELETE ON services
BEGIN
  DELETE FROM service_snapshots
    WHERE snapshot_key = OLD.snapshot_key AND pk = OLD.pk;
END;
