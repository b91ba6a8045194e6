-- Services, their configuration and image versions, operations and tags.
-- Times are microseconds since the Unix epoch (UTC). Statuses and types are
-- App Runner's own strings.

CREATE TABLE services (
  pk                     INTEGER PRIMARY KEY,   -- creation order, for paging
  service_id             TEXT    NOT NULL UNIQUE,
  name                   TEXT    NOT NULL,
  url                    TEXT    NOT NULL UNIQUE,
  status                 TEXT    NOT NULL CHECK (status IN ('CREATE_FAILED',
                           'RUNNING', 'DELETED', 'DELETE_FAILED', 'PAUSED',
                           'OPERATION_IN_PROGRESS')),
  -- The configuration the service runs (or will run once its operation
  -- succeeds); NULL once deleted.
  config_version         INTEGER,
  -- The image version that runs, or ran before a pause; NULL before the first
  -- deployment and once deleted.
  deployed_image_version INTEGER,
  created_at             INTEGER NOT NULL,
  updated_at             INTEGER NOT NULL,
  deleted_at             INTEGER,
  CHECK ((status = 'DELETED') = (deleted_at IS NOT NULL))
);
-- A name is unique among services that are not deleted; a deleted service's
-- name is free at once.
CREATE UNIQUE INDEX services_live_name ON services (name)
  WHERE deleted_at IS NULL;
-- ListServices pages through live services in creation order.
CREATE INDEX services_live_by_pk ON services (pk) WHERE deleted_at IS NULL;

-- Configuration versions. An update writes a new version; the previous one is
-- kept until the update succeeds, so a failed update rolls back to it.
CREATE TABLE service_configs (
  service_pk               INTEGER NOT NULL REFERENCES services (pk),
  version                  INTEGER NOT NULL,
  image_identifier         TEXT    NOT NULL,
  image_repository_type    TEXT    NOT NULL CHECK (image_repository_type IN
                             ('ECR', 'ECR_PUBLIC')),
  port                     TEXT    NOT NULL,
  start_command            TEXT    NOT NULL,
  auto_deployments_enabled INTEGER NOT NULL CHECK (auto_deployments_enabled
                             IN (0, 1)),
  cpu                      TEXT    NOT NULL,
  memory                   TEXT    NOT NULL,
  health_protocol          TEXT    NOT NULL CHECK (health_protocol IN
                             ('TCP', 'HTTP')),
  health_path              TEXT    NOT NULL,
  health_interval          INTEGER NOT NULL,
  health_timeout           INTEGER NOT NULL,
  health_healthy_threshold INTEGER NOT NULL,
  health_unhealthy_threshold INTEGER NOT NULL,
  PRIMARY KEY (service_pk, version)
) WITHOUT ROWID;

-- Environment variables and secrets of a configuration version.
CREATE TABLE service_config_env (
  service_pk INTEGER NOT NULL,
  version    INTEGER NOT NULL,
  kind       TEXT    NOT NULL CHECK (kind IN ('variable', 'secret')),
  name       TEXT    NOT NULL,
  value      TEXT    NOT NULL,
  PRIMARY KEY (service_pk, version, kind, name),
  FOREIGN KEY (service_pk, version)
    REFERENCES service_configs (service_pk, version) ON DELETE CASCADE
) WITHOUT ROWID;

-- The service's stored image versions (App Runner keeps a private copy of the
-- image it deploys). Version 1 is the image the service was created with; a
-- push or an update of the image identifier adds the next version.
CREATE TABLE service_images (
  service_pk       INTEGER NOT NULL REFERENCES services (pk),
  version          INTEGER NOT NULL,
  image_identifier TEXT    NOT NULL,
  recorded_at      INTEGER NOT NULL,
  PRIMARY KEY (service_pk, version)
) WITHOUT ROWID;

CREATE TABLE operations (
  seq                  INTEGER PRIMARY KEY,  -- start order
  operation_id         TEXT    NOT NULL UNIQUE,
  service_pk           INTEGER NOT NULL REFERENCES services (pk),
  type                 TEXT    NOT NULL CHECK (type IN ('START_DEPLOYMENT',
                         'CREATE_SERVICE', 'PAUSE_SERVICE', 'RESUME_SERVICE',
                         'DELETE_SERVICE', 'UPDATE_SERVICE')),
  status               TEXT    NOT NULL CHECK (status IN ('PENDING',
                         'IN_PROGRESS', 'FAILED', 'SUCCEEDED',
                         'ROLLBACK_IN_PROGRESS', 'ROLLBACK_FAILED',
                         'ROLLBACK_SUCCEEDED')),
  -- Where the service ends on success and on failure.
  success_status       TEXT    NOT NULL,
  failure_status       TEXT    NOT NULL,
  -- The operation's own status if it fails.
  failure_op_status    TEXT    NOT NULL,
  -- The configuration and image version the operation deploys, and the
  -- configuration to go back to if it fails.
  target_config_version INTEGER,
  prior_config_version  INTEGER,
  target_image_version  INTEGER,
  -- When the worker should next look at it; NULL once ended.
  due_at               INTEGER,
  started_at           INTEGER NOT NULL,
  updated_at           INTEGER NOT NULL,
  ended_at             INTEGER,
  error_message        TEXT,
  CHECK ((ended_at IS NULL) = (due_at IS NOT NULL))
);
-- One unfinished operation per service, whatever raced.
CREATE UNIQUE INDEX operations_open_per_service ON operations (service_pk)
  WHERE ended_at IS NULL;
-- The worker finds due operations without scanning finished ones.
CREATE INDEX operations_due ON operations (due_at) WHERE due_at IS NOT NULL;
-- ListOperations pages newest first.
CREATE INDEX operations_by_service ON operations (service_pk, seq);

CREATE TABLE tags (
  service_pk INTEGER NOT NULL REFERENCES services (pk),
  key        TEXT    NOT NULL,
  value      TEXT    NOT NULL,
  PRIMARY KEY (service_pk, key)
) WITHOUT ROWID;
