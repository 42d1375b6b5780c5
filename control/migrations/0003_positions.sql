-- Each engine's latest position per instrument, as of the journal entry
-- `seq` (journaled at `at`): kept in the same transaction as every batch
-- that moves it. The copy resumes from it, so a retention that drops the
-- snapshots' old partitions cannot reset a position the engine has not
-- traded since; and it answers "where do we stand" in one query. Not
-- partitioned: one row per engine and instrument.
CREATE TABLE positions (
    engine_id   text        NOT NULL,
    instrument  integer     NOT NULL,
    seq         bigint      NOT NULL,
    at          timestamptz NOT NULL,
    position    bigint      NOT NULL,   -- lots
    PRIMARY KEY (engine_id, instrument)
);

INSERT INTO positions (engine_id, instrument, seq, at, position)
SELECT DISTINCT ON (engine_id, instrument) engine_id, instrument, seq, at, position
FROM position_snapshots
ORDER BY engine_id, instrument, seq DESC;
