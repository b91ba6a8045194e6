-- A service's current state as one row: what DescribeService answers, read
-- by id or pk. The same view as SQLite's (migrations/0007), where a table
-- kept by triggers also holds its rows; here the planner joins the sources
-- for each read.
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
