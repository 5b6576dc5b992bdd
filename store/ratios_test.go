package store_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"
)

// TestStoreRatios runs the suite's benchmarks, each pair next to each
// other and interleaved, several rounds (TILL_BENCH_ROUNDS, default 5; each
// run lasts -test.benchtime, 1s by default, plus its setup), and prints
// one table: what, till, the floor or the alternative, their ratio of the
// medians, the target and whether it is met. On a noisy machine only the
// medians of interleaved runs say anything. It also prints the commits a
// sale, a settlement and an unchanged start make, and the file size per
// order. It asserts nothing about time. Skipped unless TILL_BENCH_RATIOS=1:
//
//	TILL_BENCH_RATIOS=1 go test ./store -run '^TestStoreRatios$' -count 1 -v -timeout 30m
func TestStoreRatios(t *testing.T) {
	if os.Getenv("TILL_BENCH_RATIOS") != "1" {
		t.Skip("set TILL_BENCH_RATIOS=1 to run the store benchmarks and print their ratios (a few minutes)")
	}
	rounds := 5
	if s := os.Getenv("TILL_BENCH_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("TILL_BENCH_ROUNDS=%q: want a whole number of at least 1", s)
		}
		rounds = n
	}
	ledgerFixture(t) // built before the clock matters
	size, delay := tillBatchSettings(t)

	// The measurements, in groups run back to back (each group in the
	// other direction every other round).
	type measure struct {
		name string
		run  func(*testing.B)
		runs []testing.BenchmarkResult
	}
	m := func(name string, run func(*testing.B)) *measure { return &measure{name: name, run: run} }
	var (
		sale      = m("SaleWrites", BenchmarkSaleWrites)
		floorUpd  = m("FloorUpdate", BenchmarkFloorUpdate)
		sql3      = m("SQLiteSale3", BenchmarkSQLiteSale3)
		sql2      = m("SQLiteSale2", BenchmarkSQLiteSale2)
		settle    = m("Settle64/notified", func(b *testing.B) { benchSettle(b, false) })
		settleP   = m("Settle64/poll", func(b *testing.B) { benchSettle(b, true) })
		floorB64  = m("FloorBatch64/till", func(b *testing.B) { benchBareBatch(b, settleWriters, size, delay) })
		floorB1   = m("FloorBatch1", func(b *testing.B) { benchBareBatch(b, 1, size, delay) })
		sqlSet64  = m("SQLiteSettle64/conns=64", func(b *testing.B) { benchSQLiteSettle(b, settleWriters) })
		sqlSet1   = m("SQLiteSettle64/conns=1", func(b *testing.B) { benchSQLiteSettle(b, 1) })
		today     = m("TodayList", BenchmarkTodayList)
		sqlToday  = m("SQLiteTodayList", BenchmarkSQLiteTodayList)
		report    = m("Report", BenchmarkReport)
		sqlReport = m("SQLiteReport", BenchmarkSQLiteReport)
		openBind  = m("OpenUnchanged/open+bind", func(b *testing.B) { benchOpen(b, true) })
		open      = m("OpenUnchanged/open", func(b *testing.B) { benchOpen(b, false) })
	)
	groups := [][]*measure{
		{sale, floorUpd, sql3, sql2},
		{settle, floorB64, sqlSet64, settleP, sqlSet1, floorB1},
		{today, sqlToday, report, sqlReport},
		{openBind, open},
	}
	began := time.Now()
	for r := range rounds {
		for _, g := range groups {
			g = slices.Clone(g)
			if r%2 == 1 {
				slices.Reverse(g)
			}
			for _, x := range g {
				res := testing.Benchmark(x.run)
				if res.N == 0 {
					t.Fatalf("%s failed (run it as a benchmark to see why)", x.name)
				}
				x.runs = append(x.runs, res)
			}
		}
		t.Logf("round %d of %d done after %s", r+1, rounds, time.Since(began).Round(time.Second))
	}

	median := func(x *measure, metric string) float64 {
		var v []float64
		for _, res := range x.runs {
			if metric == "ns/op" {
				v = append(v, float64(res.T.Nanoseconds())/float64(res.N))
			} else {
				v = append(v, res.Extra[metric])
			}
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	var raw strings.Builder
	for _, g := range groups {
		for _, x := range g {
			fmt.Fprintf(&raw, "\n  %-24s", x.name)
			for _, res := range x.runs {
				if _, ok := res.Extra["orders/s"]; ok {
					fmt.Fprintf(&raw, " %8.0f/s", res.Extra["orders/s"])
				} else {
					fmt.Fprintf(&raw, " %9.3fms", float64(res.T.Nanoseconds())/float64(res.N)/1e6)
				}
			}
		}
	}
	t.Logf("each run (%d rounds):%s", rounds, raw.String())

	ms := func(x *measure) string { return fmt.Sprintf("%.3f ms", median(x, "ns/op")/1e6) }
	perSec := func(x *measure) string { return fmt.Sprintf("%.0f/s", median(x, "orders/s")) }
	met := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "no"
	}
	var tab strings.Builder
	w := tabwriter.NewWriter(&tab, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "what\ttill\tfloor / alternative\tratio\ttarget\tmet?")
	row := func(what, till, other string, ratio float64, target, ok string) {
		r := "—"
		if ratio != 0 {
			r = fmt.Sprintf("%.2f", ratio)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", what, till, other, r, target, ok)
	}
	saleNs := median(sale, "ns/op")
	r := saleNs / median(floorUpd, "ns/op")
	row("sale's ledger writes / bare fsynced Update", ms(sale), ms(floorUpd), r, "≤ 2.2", met(r <= 2.2))
	c := median(sale, "commits/op")
	row("commits per sale", fmt.Sprintf("%.2f", c), "1 (bare Update)", 0, "≤ 2", met(c <= 2))
	row("sale's writes / SQLite three writes", ms(sale), ms(sql3), saleNs/median(sql3, "ns/op"), "(report)", "—")
	row("sale's writes / SQLite two writes", ms(sale), ms(sql2), saleNs/median(sql2, "ns/op"), "(report)", "—")
	settled := median(settle, "orders/s")
	r = settled / median(floorB64, "orders/s")
	row(fmt.Sprintf("64 settling (Notified) / bare Batch 64 (size %d, delay %s)", size, delay), perSec(settle), perSec(floorB64), r, "≥ 0.80", met(r >= 0.8))
	row("64 settling (Notified) / SQLite 64 conns", perSec(settle), perSec(sqlSet64), settled/median(sqlSet64, "orders/s"), "(report)", "—")
	row("64 settling (Notified) / SQLite 1 conn", perSec(settle), perSec(sqlSet1), settled/median(sqlSet1, "orders/s"), "(report)", "—")
	r = median(settleP, "orders/s") / median(floorB64, "orders/s")
	row("64 settling (Poll) / bare Batch 64", perSec(settleP), perSec(floorB64), r, "(report)", "—")
	row("commits per settlement (Notified; Poll)", fmt.Sprintf("%.2f; %.2f", median(settle, "commits/op"), median(settleP, "commits/op")), fmt.Sprintf("%.3f (bare Batch 64)", median(floorB64, "commits/op")), 0, "(report)", "—")
	row("bare Batch, one writer", "—", perSec(floorB1), 0, "(report)", "—")
	row("today's list (2,000 of 10,000) / SQLite", ms(today), ms(sqlToday), median(today, "ns/op")/median(sqlToday, "ns/op"), "(report)", "—")
	row("today's report / SQLite", ms(report), ms(sqlReport), median(report, "ns/op")/median(sqlReport, "ns/op"), "(report)", "—")
	ob, o := median(openBind, "commits/op"), median(open, "commits/op")
	row("commits at a start with nothing to change (Open+Bind; Open)", fmt.Sprintf("%.0f; %.0f", ob, o), "0", 0, "0", met(ob == 0))
	fs := measureFileSizes(t)
	row("file bytes per order (10,000 orders, 5 % refunded)", fmt.Sprintf("%d (in use %d)", fs.BoltFile/int64(fs.Orders), fs.BoltInUse/int64(fs.Orders)),
		fmt.Sprintf("%d (SQLite)", fs.SQLiteFile/int64(fs.Orders)), float64(fs.BoltFile)/float64(fs.SQLiteFile), "(report)", "—")
	w.Flush()
	t.Logf("medians of %d interleaved rounds, -test.benchtime each, %s in all:\n%s", rounds, time.Since(began).Round(time.Second), tab.String())
}

// TestLedgerFileSize prints the file size per order of the 10,000-order
// ledger with 5 % of its orders refunded (the read benchmarks' fixture),
// to compare before and after an encoding change: bbolt's whole file, the
// part of it not free, and the SQLite copy's. Skipped unless
// TILL_BENCH_SIZE=1 (or TILL_BENCH_RATIOS=1, whose table has it too):
//
//	TILL_BENCH_SIZE=1 go test ./store -run '^TestLedgerFileSize$' -count 1 -v
func TestLedgerFileSize(t *testing.T) {
	if os.Getenv("TILL_BENCH_SIZE") != "1" && os.Getenv("TILL_BENCH_RATIOS") != "1" {
		t.Skip("set TILL_BENCH_SIZE=1 to build the 10,000-order ledger and print its size per order")
	}
	fs := measureFileSizes(t)
	n := int64(fs.Orders)
	t.Logf("%d orders: bbolt file %d bytes, %d bytes/order (in use, free pages left out: %d bytes, %d bytes/order); SQLite %d bytes, %d bytes/order",
		fs.Orders, fs.BoltFile, fs.BoltFile/n, fs.BoltInUse, fs.BoltInUse/n, fs.SQLiteFile, fs.SQLiteFile/n)
}
