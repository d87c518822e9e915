CREATE TABLE model_apis (
    id            TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    project_id    TEXT NOT NULL REFERENCES projects (id),
    owner_id      TEXT NOT NULL REFERENCES principals (id),
    kind          TEXT NOT NULL CHECK (kind IN ('sync', 'async')),
    visibility    TEXT NOT NULL CHECK (visibility IN ('public', 'private')),
    access_mode   TEXT NOT NULL CHECK (access_mode IN ('restricted', 'unrestricted')),
    description   TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    UNIQUE (project_id, name)
);

-- A collaborator is a user or an organization, never both.
CREATE TABLE model_api_collaborators (
    id              TEXT PRIMARY KEY NOT NULL,
    model_api_id    TEXT NOT NULL REFERENCES model_apis (id) ON DELETE CASCADE,
    user_id         TEXT REFERENCES principals (id),
    organization_id TEXT REFERENCES organizations (id) ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'owner')),
    CHECK ((user_id IS NULL) <> (organization_id IS NULL))
);
CREATE UNIQUE INDEX model_api_collaborators_user ON model_api_collaborators (model_api_id, user_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX model_api_collaborators_org ON model_api_collaborators (model_api_id, organization_id) WHERE organization_id IS NOT NULL;
