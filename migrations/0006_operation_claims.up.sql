-- Claims, as on PostgreSQL (migrations/postgres/0002): the worker that runs
-- an open operation, how many times it has been claimed, and until when the
-- claim holds unless renewed. One process uses a SQLite database, so a
-- restart releases every claim (RecoverOperations).
ALTER TABLE operations ADD COLUMN owner TEXT;
ALTER TABLE operations ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE operations ADD COLUMN lease_until INTEGER;
