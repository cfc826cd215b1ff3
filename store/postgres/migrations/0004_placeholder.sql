-- Placeholder, so that the sessions branch migrates in sequence: version 4
-- belongs to another branch of the same issue. Delete this file when
-- merging (that branch's 0004 replaces it), and its entry in undo
-- (migrate_test.go).
SELECT count(*) FROM {{schema}}.users WHERE false;
