-- Services belong to accounts. A service created before this migration
-- belongs to the account the server was started with
-- (temp.migration_settings, filled by the migrator from --account-id).
-- The account is not a change of the service: its revision (and so its etag)
-- stays. services_count_revision counts an update that leaves the revision
-- as it was, so the first update negates it and the second restores it.
ALTER TABLE services ADD COLUMN account_id TEXT NOT NULL DEFAULT '';
UPDATE services
  SET account_id = (SELECT account_id FROM temp.migration_settings),
      revision = -revision;
UPDATE services SET revision = -revision;

-- A name is unique among the account's services that are not deleted.
DROP INDEX services_live_name;
CREATE UNIQUE INDEX services_live_name ON services (account_id, name)
  WHERE deleted_at IS NULL;
-- ListServices of one account pages through its live services.
CREATE INDEX services_live_by_account ON services (account_id, pk)
  WHERE deleted_at IS NULL;
