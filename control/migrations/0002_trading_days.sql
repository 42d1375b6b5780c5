-- Trading days: the start of each is a risk event too, with the P&L the
-- daily loss limit counts from. State changes keep their columns; a day
-- start has no states.
ALTER TABLE risk_events
    ADD COLUMN event text NOT NULL DEFAULT 'state',   -- state | day_started
    ADD COLUMN day_start_pnl bigint,                  -- nano-units, for day_started
    ALTER COLUMN from_state DROP NOT NULL,
    ALTER COLUMN to_state DROP NOT NULL;
