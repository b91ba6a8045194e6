-- Undoes 0009: operation summaries go back into the covering index of 0007.
--
-- 0009 cut the pages a ListOperations of a large database reads (3.56 to
-- 3.13 per call at 1M services) but made every accepted operation write one
-- more page at a random place: its summary row, and still the entry of
-- operations (service_pk, seq), which the foreign key from operations to
-- services needs when a purge deletes a service. Pause accepts fell to 0.85
-- of what they were (BENCHMARKS.md, "The 1M slowdowns"), the write target
-- with the least margin, against a read gain within the runs' noise.
--
-- A next_token of ListOperations from 0009 names an operation by its number
-- within its service; it is refused as a token of another listing, and the
-- caller lists again from the start.
DROP TRIGGER operation_summaries_on_insert;
DROP TRIGGER operation_summaries_on_update;
DROP TRIGGER operation_summaries_on_delete;
DROP TABLE operation_summaries;

DROP INDEX operations_by_service;
CREATE INDEX operations_by_service ON operations (service_pk, seq,
  operation_id, type, status, started_at, updated_at, ended_at);
