-- usermgmt schema, version 10: SCIM's enterprise extension (issue 12).
--
-- What Entra ID sends of urn:ietf:params:scim:schemas:extension:enterprise:2.0:User
-- beyond the core profile: the employee number, the department and the
-- manager (manager.value, the SCIM id of another user, kept as sent).
-- Constant defaults take no rewrite of the table.
ALTER TABLE {{schema}}.users
    ADD COLUMN employee_number text NOT NULL DEFAULT '',
    ADD COLUMN department      text NOT NULL DEFAULT '',
    ADD COLUMN manager_id      text NOT NULL DEFAULT '';
