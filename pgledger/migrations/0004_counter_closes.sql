-- A counter's own close of a day beside the shop's (till close-day
-- --for-terminal): a close is keyed by its day and the counter it covers,
-- '' for the whole shop. The Z numbers stay one series (seq unique).
ALTER TABLE day_closes ADD COLUMN counter text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE day_closes DROP CONSTRAINT day_closes_pkey;
ALTER TABLE day_closes ADD PRIMARY KEY (day, counter);
