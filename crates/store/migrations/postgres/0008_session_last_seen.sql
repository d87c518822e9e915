-- When a session was last used (at most a minute out of date), for the idle timeout.
ALTER TABLE web_sessions ADD COLUMN last_seen_at BIGINT;
