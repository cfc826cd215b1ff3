-- usermgmt schema, version 5: what sudo mode and the refresh reuse window
-- need.
--
-- sessions.verified_at is when the person holding the session last proved
-- who they are (a password or a TOTP or recovery code): at login, or by
-- Manager.Sudo. Sensitive operations need it recent. NULL (sessions made
-- before this version) is never, so they must confirm again.
ALTER TABLE {{schema}}.sessions ADD COLUMN verified_at timestamptz;

-- A spent refresh token keeps when it was spent and its successor (the
-- session and refresh tokens it was rotated to, sealed with AES-GCM by the
-- Manager; the store cannot read them). Within a short window a repeated
-- refresh of that token is answered with the same successor, so that two
-- tabs refreshing at once, or a client retrying after a lost answer, are
-- not taken for a stolen token. NULL for tokens spent before this version:
-- presenting them again is reuse, as before.
ALTER TABLE {{schema}}.refresh_tokens ADD COLUMN spent_at timestamptz, ADD COLUMN successor bytea;
