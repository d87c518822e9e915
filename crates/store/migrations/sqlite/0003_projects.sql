CREATE TABLE projects (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    owner_id    TEXT NOT NULL REFERENCES principals (id),
    description TEXT NOT NULL DEFAULT '',
    visibility  TEXT NOT NULL CHECK (visibility IN ('public', 'private')),
    created_at  INTEGER NOT NULL,
    UNIQUE (owner_id, name)
);

CREATE TABLE project_collaborators (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES principals (id),
    role       TEXT NOT NULL CHECK (role IN ('Owner', 'Contributor', 'ResultsConsumer', 'LauncherUser')),
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX project_collaborators_by_user ON project_collaborators (user_id);
