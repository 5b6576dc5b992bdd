-- The manager PIN and the operators, beside the sales they guard and
-- name, as the bbolt ledger keeps them (its meta and operators buckets):
-- one backup, and a lock (five wrong PINs) that a restart, or another
-- desk, does not lift.

-- One row, always there: UpdatePIN locks it (FOR UPDATE), so two desks
-- counting wrong PINs take turns and neither loses the other's count.
CREATE TABLE manager_pin (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    rec json NOT NULL                         -- checkout.PINState; {} until a PIN is set
);
INSERT INTO manager_pin (rec) VALUES ('{}');

CREATE TABLE operators (
    id  text COLLATE "C" PRIMARY KEY,
    rec json NOT NULL                         -- checkout.Operator
);
