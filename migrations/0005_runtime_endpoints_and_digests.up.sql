-- What a container runtime keeps in the database: the digest of each stored
-- image copy, and the host port a service's container is published on.

-- The digest of the runtime's private copy of the image version; NULL until
-- a runtime that keeps copies has made one (the simulated runtime keeps none).
ALTER TABLE service_images ADD COLUMN digest TEXT;

-- One host port per service, allocated on its first deployment, kept across
-- pause and resume, freed when the service is deleted.
CREATE TABLE service_endpoints (
  service_pk INTEGER PRIMARY KEY REFERENCES services (pk),
  address    TEXT    NOT NULL,
  port       INTEGER NOT NULL UNIQUE CHECK (port BETWEEN 1 AND 65535)
);
