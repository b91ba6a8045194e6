-- The execution log: one row per ending of an operation (finish, cancel,
-- expiry, give-up), written in the transaction that ends it, with the
-- replica that ended it and the attempt of the claim it ran. An audit log,
-- so no unique constraint: an operation ended twice would show as two rows.
CREATE TABLE operation_endings (
  operation_id TEXT    NOT NULL,
  status       TEXT    NOT NULL,
  replica      TEXT    NOT NULL,
  attempt      INTEGER NOT NULL,
  ended_at     BIGINT  NOT NULL
);
CREATE INDEX operation_endings_by_operation
  ON operation_endings (operation_id);
