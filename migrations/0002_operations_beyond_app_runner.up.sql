-- Etags, operation deadlines, cancellation, error codes, client tokens and the
-- indexes the retention janitor needs.

-- Counts the changes of a service row; the etag is made from it. Every update
-- of the row counts, whichever statement makes it.
ALTER TABLE services ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
CREATE TRIGGER services_count_revision AFTER UPDATE ON services
  WHEN NEW.revision = OLD.revision
BEGIN
  UPDATE services SET revision = OLD.revision + 1 WHERE pk = NEW.pk;
END;

-- The service's status before the operation started (NULL for a create), so
-- a cancelled operation puts the service back where it was.
ALTER TABLE operations ADD COLUMN prior_status TEXT;
-- When the worker gives up on the operation; NULL once it has ended.
ALTER TABLE operations ADD COLUMN deadline_at INTEGER;
-- Why an operation did not succeed: RUNTIME_ERROR, CANCELLED or
-- DEADLINE_EXCEEDED, with error_message.
ALTER TABLE operations ADD COLUMN error_code TEXT;

-- The worker finds operations past their deadline without a scan.
CREATE INDEX operations_deadline ON operations (deadline_at)
  WHERE deadline_at IS NOT NULL;
-- The janitor finds old finished operations and old deleted services.
CREATE INDEX operations_ended ON operations (ended_at)
  WHERE ended_at IS NOT NULL;
CREATE INDEX services_deleted ON services (deleted_at)
  WHERE deleted_at IS NOT NULL;

-- Mutating calls made with a client_token: the request (method and its
-- canonical bytes without the token) and the response the first call got.
CREATE TABLE client_tokens (
  token      TEXT    PRIMARY KEY,
  request    BLOB    NOT NULL,
  response   BLOB    NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX client_tokens_created ON client_tokens (created_at);
