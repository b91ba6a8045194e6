-- A ListOperations page of a large database reads one or two pages from the
-- file, not three or four: operation summaries move from 0007's covering
-- index into a rowid table whose key orders them by service, newest last
-- (BENCHMARKS.md, "The 1M slowdowns"). The interior pages of a rowid table
-- hold only keys, so for ten million operations they stay in the reader's
-- cache; those of the covering index held whole summaries.
--
-- list_key is service_pk * 2^32 + the operation's number within its
-- service (0, 1, ...), so a service's operations are one key range in start
-- order. The triggers below refuse an operation that would not fit: a
-- service pk from 2^31 or a service's 2^32nd operation.
--
-- A next_token of ListOperations from before this migration names an
-- operation by its seq; it is refused as a token of another listing, and
-- the caller lists again from the start.
CREATE TABLE operation_summaries (
  list_key     INTEGER PRIMARY KEY,
  seq          INTEGER NOT NULL UNIQUE,  -- operations.seq
  operation_id TEXT    NOT NULL,
  type         TEXT    NOT NULL,
  status       TEXT    NOT NULL,
  started_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  ended_at     INTEGER
);

INSERT INTO operation_summaries
  SELECT service_pk * 4294967296
           + ROW_NUMBER() OVER (PARTITION BY service_pk ORDER BY seq) - 1,
         seq, operation_id, type, status, started_at, updated_at, ended_at
  FROM operations ORDER BY service_pk, seq;

CREATE TRIGGER operation_summaries_on_insert AFTER INSERT ON operations
BEGIN
  SELECT RAISE(ABORT, 'operation_summaries: service pk beyond 2^31 - 1')
    WHERE NEW.service_pk >= 2147483648 OR NEW.service_pk < 0;
  INSERT INTO operation_summaries
    SELECT COALESCE((SELECT list_key + 1 FROM operation_summaries
                     WHERE list_key >= NEW.service_pk * 4294967296
                       AND list_key < (NEW.service_pk + 1) * 4294967296
                     ORDER BY list_key DESC LIMIT 1),
                    NEW.service_pk * 4294967296) AS next_key,
           NEW.seq, NEW.operation_id, NEW.type, NEW.status, NEW.started_at,
           NEW.updated_at, NEW.ended_at
    WHERE next_key < (NEW.service_pk + 1) * 4294967296
       OR RAISE(ABORT, 'operation_summaries: 2^32 operations of one service');
END;

CREATE TRIGGER operation_summaries_on_update
  AFTER UPDATE OF operation_id, type, status, started_at, updated_at, ended_at
  ON operations
BEGIN
  UPDATE operation_summaries
    SET operation_id = NEW.operation_id, type = NEW.type,
        status = NEW.status, started_at = NEW.started_at,
        updated_at = NEW.updated_at, ended_at = NEW.ended_at
    WHERE seq = NEW.seq;
END;

CREATE TRIGGER operation_summaries_on_delete AFTER DELETE ON operations
BEGIN
  DELETE FROM operation_summaries WHERE seq = OLD.seq;
END;

-- The covering index goes; service_pk still needs one, for the rows of a
-- service that is purged.
DROP INDEX operations_by_service;
CREATE INDEX operations_by_service ON operations (service_pk, seq);
