-- The audit trail, one table per kind of record. Every row is keyed by the
-- engine that wrote it and its journal sequence number (several engines
-- share a database without colliding); `at` is when the engine's side
-- thread journaled it. Tables are range-partitioned by day on `at`
-- (partitions are created ahead by the engine; the default partition
-- catches anything outside them), so the partition key is part of each
-- primary key.

CREATE TABLE engine_runs (
    engine_id   text        NOT NULL,
    started_at  timestamptz NOT NULL,
    version     text        NOT NULL,
    first_seq   bigint      NOT NULL,
    PRIMARY KEY (engine_id, started_at)
);

-- How far each engine's journal has been copied: written in the same
-- transaction as the rows, so a batch lands whole or not at all and a
-- retry after a failure never duplicates.
CREATE TABLE persist_progress (
    engine_id  text   PRIMARY KEY,
    next_seq   bigint NOT NULL
);

-- Intents the risk gate passed or refused.
CREATE TABLE decisions (
    engine_id   text        NOT NULL,
    seq         bigint      NOT NULL,
    at          timestamptz NOT NULL,
    writer      smallint    NOT NULL,
    writer_seq  bigint      NOT NULL,
    verdict     text        NOT NULL,   -- passed | refused
    intent      text        NOT NULL,   -- new | cancel
    order_id    bigint      NOT NULL,
    instrument  integer,
    side        text,
    price       bigint,                 -- ticks
    qty         bigint,                 -- lots
    tif         text,
    reason      text,                   -- the refusal's code
    trigger     text        NOT NULL,
    event_ts    bigint      NOT NULL,   -- engine clock ticks
    decided_ts  bigint      NOT NULL,
    risk_ts     bigint      NOT NULL,
    PRIMARY KEY (engine_id, seq, at)
) PARTITION BY RANGE (at);

-- Intents handed to the venue.
CREATE TABLE orders (
    engine_id   text        NOT NULL,
    seq         bigint      NOT NULL,
    at          timestamptz NOT NULL,
    writer      smallint    NOT NULL,
    writer_seq  bigint      NOT NULL,
    intent      text        NOT NULL,
    order_id    bigint      NOT NULL,
    instrument  integer,
    side        text,
    price       bigint,
    qty         bigint,
    tif         text,
    trigger     text        NOT NULL,
    event_ts    bigint      NOT NULL,
    decided_ts  bigint      NOT NULL,
    risk_ts     bigint      NOT NULL,
    sent_ts     bigint      NOT NULL,
    PRIMARY KEY (engine_id, seq, at)
) PARTITION BY RANGE (at);

-- The venue's execution reports (and the gate's refusals told back).
CREATE TABLE executions (
    engine_id    text        NOT NULL,
    seq          bigint      NOT NULL,
    at           timestamptz NOT NULL,
    writer       smallint    NOT NULL,
    writer_seq   bigint      NOT NULL,
    order_id     bigint      NOT NULL,
    instrument   integer     NOT NULL,
    side         text        NOT NULL,
    kind         text        NOT NULL,  -- ack | partial_fill | fill | cancelled | rejected | cancel_rejected
    reason       text,
    price        bigint      NOT NULL,
    filled       bigint      NOT NULL,
    leaves       bigint      NOT NULL,
    received_ts  bigint      NOT NULL,
    PRIMARY KEY (engine_id, seq, at)
) PARTITION BY RANGE (at);

-- Trading state changes (kill switch, reduce-only, loss-limit halts).
CREATE TABLE risk_events (
    engine_id   text        NOT NULL,
    seq         bigint      NOT NULL,
    at          timestamptz NOT NULL,
    writer      smallint    NOT NULL,
    writer_seq  bigint      NOT NULL,
    from_state  text        NOT NULL,
    to_state    text        NOT NULL,
    at_ts       bigint      NOT NULL,
    PRIMARY KEY (engine_id, seq, at)
) PARTITION BY RANGE (at);

-- Operator commands as the decide stage took them, and how they ended.
CREATE TABLE admin_audit (
    engine_id   text        NOT NULL,
    seq         bigint      NOT NULL,
    at          timestamptz NOT NULL,
    writer      smallint    NOT NULL,
    writer_seq  bigint      NOT NULL,
    command_id  bigint      NOT NULL,
    event       text        NOT NULL,   -- taken | finished | rejected (refused before it was sent)
    token       text,                   -- the admin token's id; 00000000 for the engine itself
    action      text,
    outcome     text,
    reason      text,
    at_ts       bigint      NOT NULL,
    PRIMARY KEY (engine_id, seq, at)
) PARTITION BY RANGE (at);

-- Each instrument's position after the journal entry `seq`, written when
-- a batch moved it.
CREATE TABLE position_snapshots (
    engine_id   text        NOT NULL,
    seq         bigint      NOT NULL,
    at          timestamptz NOT NULL,
    instrument  integer     NOT NULL,
    position    bigint      NOT NULL,   -- lots
    PRIMARY KEY (engine_id, seq, instrument, at)
) PARTITION BY RANGE (at);

CREATE TABLE decisions_default PARTITION OF decisions DEFAULT;
CREATE TABLE orders_default PARTITION OF orders DEFAULT;
CREATE TABLE executions_default PARTITION OF executions DEFAULT;
CREATE TABLE risk_events_default PARTITION OF risk_events DEFAULT;
CREATE TABLE admin_audit_default PARTITION OF admin_audit DEFAULT;
CREATE TABLE position_snapshots_default PARTITION OF position_snapshots DEFAULT;
