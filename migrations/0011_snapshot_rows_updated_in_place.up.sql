-- An update of a service's own columns (its status, times, name, URL,
-- account, revision) updates its service_snapshots row in place, rather than
-- reading the whole view again and replacing the row. Pausing, resuming and
-- finishing an operation change only those, and in an ad-hoc benchmark their
-- UPDATE of services cost about half as much (BENCHMARKS.md, "What a write
-- costs the writer").
--
-- An update that sets a column the view joins on (config_version,
-- deployed_image_version, deleted_at) or the id still copies the view, from
-- the update itself: services_count_revision (0002) then changes the
-- revision in a second update, which by then changes no other column.
--
-- When services whose ids end alike share a row (0008) and another service
-- holds it, the in-place update finds no row of this service and changes
-- nothing; reads of this service already fall back to the view.
DROP TRIGGER service_snapshots_on_service_update;

CREATE TRIGGER service_snapshots_on_service_update
  AFTER UPDATE OF service_id, config_version, deployed_image_version,
    deleted_at ON services
BEGIN
  INSERT OR REPLACE INTO service_snapshots
    SELECT * FROM service_snapshot_source WHERE pk = NEW.pk;
END;

CREATE TRIGGER service_snapshots_on_service_own_update
  AFTER UPDATE ON services
  WHEN NEW.revision <> OLD.revision
BEGIN
  UPDATE service_snapshots
    SET name = NEW.name, url = NEW.url, status = NEW.status,
        created_at = NEW.created_at, updated_at = NEW.updated_at,
        revision = NEW.revision, account_id = NEW.account_id
    WHERE snapshot_key = NEW.snapshot_key AND pk = NEW.pk;
END;
