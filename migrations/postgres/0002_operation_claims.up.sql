-- Claims: the replica running an open operation, how many times it has been
-- claimed, and until when the claim holds unless its owner renews it.
-- An operation whose owner is NULL, or whose lease has run out, is free to
-- claim; a finish counts only WHERE owner = the finisher AND attempt = the
-- attempt it ran.
ALTER TABLE operations
  ADD COLUMN owner       TEXT,
  ADD COLUMN attempt     INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN lease_until BIGINT;
