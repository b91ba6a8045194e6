-- Connections to a source code provider and custom domains with their
-- certificate records. Only new tables: existing rows are not touched.
-- Connections and certificates carry their account, and their ARNs are made
-- from it.

CREATE TABLE connections (
  pk            INTEGER PRIMARY KEY,   -- creation order, for paging
  connection_id TEXT    NOT NULL UNIQUE,
  account_id    TEXT    NOT NULL,
  name          TEXT    NOT NULL,
  provider_type TEXT    NOT NULL CHECK (provider_type IN ('GITHUB',
                  'BITBUCKET')),
  -- A deleted connection's row is removed: DELETED is only ever answered.
  status        TEXT    NOT NULL CHECK (status IN ('PENDING_HANDSHAKE',
                  'AVAILABLE', 'ERROR')),
  created_at    INTEGER NOT NULL,
  UNIQUE (account_id, name)
);

CREATE TABLE connection_tags (
  connection_pk INTEGER NOT NULL REFERENCES connections (pk)
                  ON DELETE CASCADE,
  key           TEXT    NOT NULL,
  value         TEXT    NOT NULL,
  PRIMARY KEY (connection_pk, key)
) WITHOUT ROWID;

-- The connection a configuration version uses
-- (SourceConfiguration.AuthenticationConfiguration.ConnectionArn). It goes
-- with its configuration version; a connection with rows here cannot be
-- deleted.
CREATE TABLE service_config_connections (
  service_pk    INTEGER NOT NULL,
  version       INTEGER NOT NULL,
  connection_pk INTEGER NOT NULL REFERENCES connections (pk),
  PRIMARY KEY (service_pk, version),
  FOREIGN KEY (service_pk, version)
    REFERENCES service_configs (service_pk, version) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX service_config_connections_by_connection
  ON service_config_connections (connection_pk);

-- A certificate record per account and domain. It outlives its link:
-- released_at is set when the domain is unlinked (or its service deleted),
-- and the janitor removes the record once that is older than the
-- certificate retention. Linking the domain again before reuses it.
CREATE TABLE certificates (
  pk             INTEGER PRIMARY KEY,
  certificate_id TEXT    NOT NULL UNIQUE,
  account_id     TEXT    NOT NULL,
  domain_name    TEXT    NOT NULL,
  created_at     INTEGER NOT NULL,
  released_at    INTEGER,              -- NULL while linked
  UNIQUE (account_id, domain_name)
);
CREATE INDEX certificates_released ON certificates (released_at)
  WHERE released_at IS NOT NULL;

-- A domain linked to a service: one service per domain at a time, whatever
-- the account.
CREATE TABLE custom_domains (
  domain_name          TEXT    PRIMARY KEY,
  service_pk           INTEGER NOT NULL REFERENCES services (pk),
  certificate_pk       INTEGER NOT NULL UNIQUE REFERENCES certificates (pk),
  enable_www_subdomain INTEGER NOT NULL CHECK (enable_www_subdomain IN (0, 1)),
  linked_at            INTEGER NOT NULL
);
-- DescribeCustomDomains lists a service's domains in the order they were
-- linked (rowid).
CREATE INDEX custom_domains_by_service ON custom_domains (service_pk);
