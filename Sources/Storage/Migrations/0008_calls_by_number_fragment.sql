-- Calls found by a fragment of the caller's number (`/calls?number=…`): a trigram index answers LIKE '%…%'
-- without reading a month of calls. pg_trgm ships with PostgreSQL and is a trusted extension (the database's
-- owner may create it).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX calls_caller_trgm_idx ON calls USING gin (caller_number gin_trgm_ops);
