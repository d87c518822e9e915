-- Single sign-on: the flows whose callback was accepted once, so that the same callback
-- (cookie, state and code) is refused on every node if it comes again. `state_hash` is the
-- SHA-256 of the flow's `state`, hex; a row outlives its flow's cookie (`expires_at`, ms since
-- the epoch) and is pruned after that, when no callback of that flow can be fresh any more.
CREATE TABLE sso_used_states (
    state_hash TEXT PRIMARY KEY NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sso_used_states_by_expiry ON sso_used_states (expires_at);
