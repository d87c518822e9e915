-- Single sign-on: which provider account stands for which user, the attributes the provider
-- asserted (for claim mappers), and which organisation memberships a provider added (so that
-- a later sign-in removes only those, never a membership an administrator added by hand).
CREATE TABLE sso_identities (
    provider   TEXT NOT NULL,
    subject    TEXT NOT NULL,
    user_id    TEXT NOT NULL UNIQUE REFERENCES principals (id) ON DELETE CASCADE,
    PRIMARY KEY (provider, subject)
);
CREATE TABLE user_attributes (
    user_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    name    TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (user_id, name)
);
CREATE TABLE sso_memberships (
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    provider        TEXT NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);
