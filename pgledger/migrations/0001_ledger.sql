-- The ledger: orders, refunds, the audit trail and its head, the Z
-- closes, and the mode stamp. doc.go draws it.
--
-- Each order and refund is kept whole as the JSON of checkout.Order /
-- checkout.Refund (rec), beside the columns the ledger queries and
-- constrains. Instants are BIGINT Unix nanoseconds (*_ns), exactly what
-- the Go value holds: timestamptz keeps microseconds and rounds, which
-- would move a sale paid in the last half-microsecond of a day into the
-- next one. Money is BIGINT fen. rec is json, not jsonb: it keeps the
-- text as written (jsonb refuses a \u0000 a provider's message might
-- hold, and would turn a write that must land into an error). Numbers
-- are compared byte by byte (COLLATE "C"), as bbolt orders its keys,
-- whatever the database's own collation.

CREATE TABLE orders (
    no           text COLLATE "C" PRIMARY KEY,
    state        text NOT NULL,
    amount_fen   bigint NOT NULL CHECK (amount_fen > 0),
    refunded_fen bigint NOT NULL DEFAULT 0 CHECK (refunded_fen >= 0),
    created_ns   bigint NOT NULL,
    paid_ns      bigint,                      -- NULL until paid
    follow_up    boolean NOT NULL DEFAULT false, -- checkout.Order.NeedsFollowUp
    rec          json NOT NULL
);
CREATE INDEX orders_created ON orders (created_ns, no);
CREATE INDEX orders_paid ON orders (paid_ns, no) WHERE paid_ns IS NOT NULL;
CREATE INDEX orders_open ON orders (created_ns, no) WHERE state IN ('created', 'awaiting');
CREATE INDEX orders_follow_ups ON orders (created_ns, no) WHERE follow_up;

CREATE TABLE refunds (
    no         text COLLATE "C" PRIMARY KEY,
    order_no   text COLLATE "C" NOT NULL REFERENCES orders (no),
    state      text NOT NULL,
    amount_fen bigint NOT NULL CHECK (amount_fen > 0),
    created_ns bigint NOT NULL,
    settled_ns bigint,                        -- succeeded: SucceededAt; failed: FailedAt
    rec        json NOT NULL
);
CREATE INDEX refunds_order ON refunds (order_no, created_ns, no);
CREATE INDEX refunds_settled ON refunds (settled_ns, no) WHERE settled_ns IS NOT NULL;
CREATE INDEX refunds_open ON refunds (created_ns, no) WHERE state = 'requested';

-- One chain for every desk: an entry is numbered and linked to the one
-- before under the row lock of audit_head, in the transaction of the
-- change it records.
CREATE TABLE audit (
    seq      bigint PRIMARY KEY CHECK (seq > 0),
    at_ns    bigint NOT NULL,
    order_no text COLLATE "C",                -- NULL for an entry of no order
    entry    json NOT NULL                    -- checkout.AuditEntry, Prev and Hash included
);
CREATE INDEX audit_at ON audit (at_ns, seq);
CREATE INDEX audit_order ON audit (order_no, seq) WHERE order_no IS NOT NULL;

CREATE TABLE audit_head (
    one  boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq  bigint NOT NULL,                     -- the last entry's number, 0 for none
    hash text NOT NULL                        -- its hash, '' for none
);
INSERT INTO audit_head (seq, hash) VALUES (0, '');

CREATE TABLE day_closes (
    day       text COLLATE "C" PRIMARY KEY,   -- YYYY-MM-DD in the shop's timezone
    seq       integer NOT NULL UNIQUE CHECK (seq > 0),
    closed_ns bigint NOT NULL,
    rec       json NOT NULL                   -- checkout.DayClose
);

CREATE TABLE meta (
    key   text PRIMARY KEY,                   -- 'mode': 'sandbox' or 'live'
    value text NOT NULL
);
