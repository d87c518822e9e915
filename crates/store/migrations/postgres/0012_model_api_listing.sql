-- Model API listings at scale (issue 19): pages by name then id, and the rows a user may see
-- found from the user's side (the APIs they own, collaborate on directly or through an
-- organization) rather than by reading every model API.
CREATE INDEX model_apis_by_name ON model_apis (name, id);
CREATE INDEX model_apis_by_owner ON model_apis (owner_id);
CREATE INDEX model_api_collaborators_by_user ON model_api_collaborators (user_id)
    WHERE user_id IS NOT NULL;
CREATE INDEX model_api_collaborators_by_org ON model_api_collaborators (organization_id)
    WHERE organization_id IS NOT NULL;
