-- Every metrics flush rewrites the changed rows of indicator_counts (numerator,
-- denominator, events_through, computed_at) and citizen_contributions (position, day,
-- cells): no indexed column changes, so PostgreSQL can update them in place (HOT, no new
-- index entries) if the row's page has room. Full pages made each update a new row version
-- plus an entry in every index: 19 µs a counts row during bench/stream.py's catch-up
-- (pg_stat_statements). Pages filled before this migration keep no room until rewritten.
ALTER TABLE indicator_counts SET (fillfactor = 70);
ALTER TABLE citizen_contributions SET (fillfactor = 70);
