-- usermgmt schema, version 17: email search that costs the same in a
-- tenant of a million users as in one of a hundred thousand.
--
-- A search's last step used a trigram index over the whole email, which
-- finds every match of a term and leaves PostgreSQL to sort them all for a
-- page: a term that begins 25,000 emails of one tenant ("maria." where
-- emails start with the first name) cost 0.1-0.5 s. The matches of a term
-- are those that begin with it, a range of the (tenant_id, email) index in
-- email order (COLLATE "C"), and those that hold it further in. This
-- index serves only the second kind: trigrams of the email without its
-- first character, so the emails that begin with the term are not among
-- what it returns. It replaces the index over the whole email, which no
-- query uses any more.
DROP INDEX IF EXISTS {{schema}}.users_tenant_email_trgm;
CREATE INDEX IF NOT EXISTS users_tenant_email_infix_trgm ON {{schema}}.users
    USING gin (tenant_id, substr(email, 2) gin_trgm_ops);
