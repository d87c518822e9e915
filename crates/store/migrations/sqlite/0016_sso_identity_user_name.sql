-- Single sign-on: the person's user name at the provider (the value of the provider's
-- `username_claim` at their last sign-in), shown to administrators beside the provider and the
-- subject (the admin user API's `federatedIdentities`). NULL for links made before it was kept;
-- the next sign-in fills it.
ALTER TABLE sso_identities ADD COLUMN user_name TEXT;
