-- Organizations found by name ignoring case (a model API collaborator added by organization
-- name): the lookup reads this index instead of every organization (#19).
CREATE INDEX organizations_by_lower_name ON organizations (lower(name));
