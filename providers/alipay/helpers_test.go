package alipay

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"till/checkout"
	"till/providers/alipay/alipayemu"
)

const testAppID = "2021000000000001"

// Keys are generated once per test binary.
var (
	keysOnce                    sync.Once
	appKey, alipayKey, otherKey *rsa.PrivateKey
)

func testKeys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		var wg sync.WaitGroup
		for _, k := range []**rsa.PrivateKey{&appKey, &alipayKey, &otherKey} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				key, err := rsa.GenerateKey(rand.Reader, 2048)
				if err != nil {
					panic(err)
				}
				*k = key
			}()
		}
		wg.Wait()
	})
}

// fakeClock is a settable clock safe for the emulator's goroutines.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type env struct {
	srv   *alipayemu.Server
	emu   *alipayemu.Emulator
	p     *Provider
	cred  Credentials
	clock *fakeClock
}

type envOption func(*alipayemu.Config, *Credentials, *[]Option)

// newEnv starts an emulator and a provider pointed at it through the real
// SDK. The emulator's clock starts at the real time (the SDK stamps
// requests with the machine clock) and can be advanced.
func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	testKeys(t)
	clock := &fakeClock{now: time.Now()}
	cfg := alipayemu.Config{
		AppID:           testAppID,
		AppPublicKey:    &appKey.PublicKey,
		AlipayKey:       alipayKey,
		Clock:           clock.Now,
		NotifyRetryUnit: time.Millisecond,
	}
	cred := Credentials{AppID: testAppID, PrivateKey: appKey, AlipayPublicKey: &alipayKey.PublicKey, Production: true}
	var popts []Option
	for _, o := range opts {
		o(&cfg, &cred, &popts)
	}
	srv, err := alipayemu.Start("", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if cred.Gateway == "" {
		cred.Gateway = srv.Gateway
	}
	p, err := New(cred, append([]Option{WithClock(clock.Now)}, popts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, emu: srv.Emulator, p: p, cred: cred, clock: clock}
}

var orderSeq struct {
	sync.Mutex
	n int
}

func newOrderNo() string {
	orderSeq.Lock()
	defer orderSeq.Unlock()
	orderSeq.n++
	return time.Now().UTC().Format("20060102150405") + "T1" + string(rune('A'+orderSeq.n/100%26)) + string(rune('0'+orderSeq.n/10%10)) + string(rune('0'+orderSeq.n%10))
}

func (e *env) request(amount checkout.Money) checkout.CreateRequest {
	return checkout.CreateRequest{
		OrderNo:     newOrderNo(),
		Amount:      amount,
		Description: "till - coffee",
		ExpiresAt:   e.clock.Now().Add(3 * time.Minute).Truncate(time.Second),
		Timeout:     3 * time.Minute,
		Terminal:    "T1",
	}
}

// create precreates an order and returns its request.
func (e *env) create(t *testing.T, amount checkout.Money, mods ...func(*checkout.CreateRequest)) checkout.CreateRequest {
	t.Helper()
	req := e.request(amount)
	for _, m := range mods {
		m(&req)
	}
	if _, err := e.p.Create(context.Background(), req); err != nil {
		t.Fatalf("Create: %v", err)
	}
	return req
}

// notifySink records the notifications it receives; answer decides the body.
type notifySink struct {
	*httptest.Server
	mu     sync.Mutex
	forms  []url.Values
	got    chan url.Values
	answer func(n int) string
}

func newNotifySink(t *testing.T) *notifySink {
	s := &notifySink{got: make(chan url.Values, 100), answer: func(int) string { return "success" }}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		s.mu.Lock()
		s.forms = append(s.forms, r.PostForm)
		n := len(s.forms)
		answer := s.answer
		s.mu.Unlock()
		s.got <- r.PostForm
		w.Write([]byte(answer(n)))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *notifySink) next(t *testing.T) url.Values {
	t.Helper()
	select {
	case f := <-s.got:
		return f
	case <-time.After(5 * time.Second):
		t.Fatal("no notification arrived")
		return nil
	}
}

func (s *notifySink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.forms)
}
