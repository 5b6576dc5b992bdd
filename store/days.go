package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"till/checkout"
	"till/ledger"
)

// What a day's report reads: the orders paid in it (orders_by_paid), the
// refunds settled in it (refunds_by_settled) with their orders, the open
// orders and refunds and the closed orders with a late check to come
// (small indexes), and the day's Z closes (day_closes/<YYYY-MM-DD>, the
// shop's, and day_closes/<YYYY-MM-DD>/<terminal>, each counter's), all
// in one transaction. meta/last_close holds
// the number of the last Z close.

// DayRecords reads what the figures of [from, to) are computed from, and
// day's Z close when day is not "".
func (s *Store) DayRecords(ctx context.Context, from, to time.Time, day string) (checkout.DayRecords, error) {
	var out checkout.DayRecords
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		out, err = dayRecords(tx, from, to, day)
		return err
	})
	return out, err
}

func dayRecords(tx *bolt.Tx, from, to time.Time, day string) (checkout.DayRecords, error) {
	rec := checkout.DayRecords{From: from, To: to, Orders: map[string]checkout.Order{}}
	if !from.Before(to) {
		return rec, nil
	}
	err := eachInRange(tx, bucketOrdersByPaid, from, to, func(no string) error {
		o, err := getOrder(tx, no)
		if err != nil {
			return fmt.Errorf("index %s: %w", bucketOrdersByPaid, err)
		}
		rec.Paid = append(rec.Paid, o)
		return nil
	})
	if err != nil {
		return rec, err
	}
	err = eachInRange(tx, bucketRefundsBySettled, from, to, func(no string) error {
		r, err := getRefund(tx, no)
		if err != nil {
			return fmt.Errorf("index %s: %w", bucketRefundsBySettled, err)
		}
		rec.Settled = append(rec.Settled, r)
		if _, ok := rec.Orders[r.OrderNo]; !ok {
			o, err := getOrder(tx, r.OrderNo)
			if err != nil {
				return fmt.Errorf("refund %s: %w", r.No, err)
			}
			rec.Orders[r.OrderNo] = o
		}
		return nil
	})
	if err != nil {
		return rec, err
	}
	err = tx.Bucket(bucketOpen).ForEach(func(k, _ []byte) error {
		o, err := getOrder(tx, string(k))
		if err != nil {
			return fmt.Errorf("index %s: %w", bucketOpen, err)
		}
		if o.CreatedAt.Before(to) {
			rec.Open = append(rec.Open, o)
		}
		return nil
	})
	if err != nil {
		return rec, err
	}
	err = tx.Bucket(bucketFollowUps).ForEach(func(k, _ []byte) error {
		o, err := getOrder(tx, string(k))
		if err != nil {
			return fmt.Errorf("index %s: %w", bucketFollowUps, err)
		}
		if !o.RecheckAt.IsZero() && o.CreatedAt.Before(to) {
			rec.Rechecks = append(rec.Rechecks, o)
		}
		return nil
	})
	if err != nil {
		return rec, err
	}
	err = tx.Bucket(bucketOpenRefunds).ForEach(func(k, _ []byte) error {
		r, err := getRefund(tx, string(k))
		if err != nil {
			return fmt.Errorf("index %s: %w", bucketOpenRefunds, err)
		}
		if r.CreatedAt.Before(to) {
			rec.OpenRefunds = append(rec.OpenRefunds, r)
		}
		return nil
	})
	if err != nil {
		return rec, err
	}
	if k, _ := tx.Bucket(bucketOrdersByCreated).Cursor().First(); len(k) >= 8 {
		rec.FirstOrder = time.Unix(0, int64(binary.BigEndian.Uint64(k[:8])))
	}
	if day != "" {
		if err := dayCloses(tx, day, &rec); err != nil {
			return rec, err
		}
	}
	return rec, nil
}

// dayCloses reads day's closes into rec: the shop's under the day's key,
// each counter's under day/terminal just after it (ledger.CloseKey).
func dayCloses(tx *bolt.Tx, day string, rec *checkout.DayRecords) error {
	prefix := []byte(ledger.CloseKey(day, "") + "/")
	c := tx.Bucket(bucketDayCloses).Cursor()
	for k, _ := c.Seek([]byte(day)); k != nil && (string(k) == day || bytes.HasPrefix(k, prefix)); k, _ = c.Next() {
		z, err := getDayClose(tx, string(k))
		if err != nil {
			return err
		}
		if string(k) == day {
			rec.Close = &z
			continue
		}
		if rec.CounterCloses == nil {
			rec.CounterCloses = map[string]checkout.DayClose{}
		}
		rec.CounterCloses[string(k[len(prefix):])] = z
	}
	return nil
}

// eachInRange calls fn with the number in each key of a time index in
// [from, to), oldest first.
func eachInRange(tx *bolt.Tx, index []byte, from, to time.Time, fn func(no string) error) error {
	hi := timeKey(to, "")
	c := tx.Bucket(index).Cursor()
	for k, _ := c.Seek(timeKey(from, "")); k != nil && bytes.Compare(k, hi) < 0; k, _ = c.Next() {
		if err := fn(string(k[8:])); err != nil {
			return err
		}
	}
	return nil
}

func getDayClose(tx *bolt.Tx, day string) (checkout.DayClose, error) {
	return getJSON[checkout.DayClose](tx, bucketDayCloses, "day close", day)
}

// CloseDay stores day's Z close: build freezes the records read in this
// same write transaction, so nothing settles between the count and the
// freeze; the close gets the next number, the transaction's time and
// actor, and an audit entry.
func (s *Store) CloseDay(ctx context.Context, from, to time.Time, day string, build func(checkout.DayRecords) (checkout.DayClose, error)) (checkout.DayClose, error) {
	if day == "" {
		return checkout.DayClose{}, errors.New("a day close needs its day")
	}
	var out checkout.DayClose
	err := s.update(ctx, func(tx *wtx) error {
		rec, err := dayRecords(tx.Tx, from, to, day)
		if err != nil {
			return err
		}
		meta := tx.Bucket(bucketMeta)
		last := 0
		if v := meta.Get(keyLastClose); v != nil {
			if last, err = strconv.Atoi(string(v)); err != nil {
				return fmt.Errorf("meta/%s: %w", keyLastClose, err)
			}
		}
		z, entry, err := ledger.CloseDay(rec, build, last, day, tx.now, tx.actor)
		if err != nil {
			return err
		}
		v, err := json.Marshal(z)
		if err != nil {
			return fmt.Errorf("day close %s: encoding: %w", day, err)
		}
		if err := tx.Bucket(bucketDayCloses).Put([]byte(ledger.CloseKey(day, z.Counter)), v); err != nil {
			return err
		}
		if err := meta.Put(keyLastClose, []byte(strconv.Itoa(z.Seq))); err != nil {
			return err
		}
		_, err = appendAudit(tx, entry)
		out = z
		return err
	})
	return out, err
}
