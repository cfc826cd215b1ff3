-- Issue 13 placeholder: replaced before it lands.
COMMENT ON TABLE {{schema}}.events IS NULL;
