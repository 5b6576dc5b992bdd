-- The desks on the ledger: one row per terminal id, naming the desk that
-- holds it (its host and pid) and its heartbeat. Register takes a
-- terminal that is free, closed, stale, or whose desk's process is gone
-- from the host asking; the times that decide are the database's
-- (now()), so the desks' clocks need not agree.
CREATE TABLE terminals (
    terminal     text COLLATE "C" PRIMARY KEY,
    host         text NOT NULL,
    pid          integer NOT NULL,
    started_ns   bigint NOT NULL,             -- the desk's own clock at Register: a later process given its pid started after it
    token        text NOT NULL,               -- this registration's: a desk taken over beats no more for the terminal
    since        timestamptz NOT NULL,        -- when the desk registered
    heartbeat_at timestamptz NOT NULL,
    gone_at      timestamptz                  -- closed (Registration.Close); NULL while it runs
);
