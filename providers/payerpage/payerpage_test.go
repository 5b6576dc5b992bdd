package payerpage_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"till/catalog"
	"till/checkout"
	"till/providers/alipay"
	"till/providers/alipay/alipayemu"
	"till/providers/wechat"
	"till/providers/wechat/wechatemu"
)

// store is an emulator Store that can be broken.
type store struct {
	mu     sync.Mutex
	kept   map[string][]byte
	broken bool
}

func (s *store) Put(key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken {
		return errors.New("disk full")
	}
	if s.kept == nil {
		s.kept = map[string][]byte{}
	}
	s.kept[key] = append([]byte(nil), value...)
	return nil
}

func (s *store) ForEach(func(string, []byte) error) error { return nil }

func (s *store) setBroken(b bool) {
	s.mu.Lock()
	s.broken = b
	s.mu.Unlock()
}

// side is one emulator, its adapter, and what its page calls itself.
type side struct {
	name    string
	brand   map[catalog.Lang]string
	p       checkout.Provider
	store   *store
	unknown string // a payer-page URL of no order
}

var (
	keyOnce sync.Once
	key     *rsa.PrivateKey
)

// sides starts both emulators on loopback with the real adapters pointed
// at them, as the sandbox does; lang is the emulators' Config.Lang.
func sides(t *testing.T, lang catalog.Lang) []*side {
	t.Helper()
	keyOnce.Do(func() {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	const apiv3 = "0123456789abcdef0123456789abcdef"
	wst, ast := &store{}, &store{}
	ws, err := wechatemu.Start("127.0.0.1:0", wechatemu.Config{
		MchID: "1900000001", AppID: "wx0000sandbox0000", MerchantSerial: "5A0DB0C1E5F4A4B3C2D1E0F9A8B7C6D5E4F3A2B1",
		MerchantPublicKey: &key.PublicKey, PlatformKey: key, PlatformKeyID: "PUB_KEY_ID_0119000000012026112300000000000000",
		APIv3Key: apiv3, Store: wst, Lang: lang,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	as, err := alipayemu.Start("127.0.0.1:0", alipayemu.Config{
		AppID: "2021000000000000", AppPublicKey: &key.PublicKey, AlipayKey: key, Store: ast, Lang: lang,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { as.Close() })
	wp, err := wechat.New(wechat.Credentials{
		APIBase: ws.URL, MchID: "1900000001", AppID: "wx0000sandbox0000", MerchantSerial: "5A0DB0C1E5F4A4B3C2D1E0F9A8B7C6D5E4F3A2B1",
		PrivateKey: key, APIv3Key: apiv3, PlatformKeyID: "PUB_KEY_ID_0119000000012026112300000000000000", PlatformPublicKey: &key.PublicKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	ap, err := alipay.New(alipay.Credentials{
		AppID: "2021000000000000", PrivateKey: key, AlipayPublicKey: &key.PublicKey, Gateway: as.Gateway, Production: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return []*side{
		{name: "wechat", brand: map[catalog.Lang]string{catalog.English: "WeChat Pay", catalog.Chinese: "微信支付"},
			p: wp, store: wst, unknown: ws.URL + "/pay/nosuchcode0000000000"},
		{name: "alipay", brand: map[catalog.Lang]string{catalog.English: "Alipay", catalog.Chinese: "支付宝"},
			p: ap, store: ast, unknown: as.URL + "/qr/nosuchcode0000000000"},
	}
}

func (s *side) create(t *testing.T, no string) string {
	t.Helper()
	res, err := s.p.Create(context.Background(), checkout.CreateRequest{OrderNo: no, Amount: 1230, Description: "till - coffee",
		ExpiresAt: time.Now().Add(10 * time.Minute), Timeout: 10 * time.Minute, Terminal: "T1"})
	if err != nil {
		t.Fatalf("%s create %s: %v", s.name, no, err)
	}
	return res.CodeURL
}

// The formats a client can ask for.
var formats = []struct{ name, accept, ctype string }{
	{"html", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html; charset=utf-8"},
	{"curl", "*/*", "text/plain; charset=utf-8"},
	{"no-accept", "", "text/plain; charset=utf-8"},
	{"json", "application/json", "application/json; charset=utf-8"},
}

var langs = []struct {
	lang   catalog.Lang
	header string
}{{catalog.English, "en-US,en;q=0.9"}, {catalog.Chinese, "zh-CN,zh;q=0.9,en;q=0.8"}}

// words are what each answer must say, in each language.
type words struct {
	noMoney, payable, badAction, declined, paidNow, alreadyPaid, paid string
	refusedClosed, closed, notSaved, unknown, badMethod               string
}

var say = map[catalog.Lang]words{
	catalog.English: {
		noMoney: "no real money", payable: "Check the amount, then pay or decline.",
		badAction: "Unknown action", declined: "Declined: the cashier is still waiting; you can still pay.",
		paidNow: "Paid ¥12.30. Thank you.", alreadyPaid: "Refused: this order is already paid.", paid: "Paid. Thank you.",
		refusedClosed: "Refused: this payment is closed", closed: "This payment is closed and can no longer be paid.",
		notSaved: "Not paid", unknown: "Unknown payment code", badMethod: "Use GET",
	},
	catalog.Chinese: {
		noMoney: "不涉及真实资金", payable: "请核对金额，然后付款或拒绝。",
		badAction: "未知操作", declined: "已拒绝：收银员仍在等待，您仍可付款。",
		paidNow: "已付款 ¥12.30，谢谢。", alreadyPaid: "未执行：此订单已付款。", paid: "已付款，谢谢。",
		refusedClosed: "未执行：此付款已关闭", closed: "此付款已关闭，无法再付款。",
		notSaved: "未付款", unknown: "未知的付款码", badMethod: "请用 GET",
	},
}

// step is one request and what it must be answered.
type step struct {
	name    string
	method  string
	action  string                          // the POST form's action
	before  func(*testing.T, *side, string) // done before the request (order no)
	unknown bool                            // ask for a code no order has
	status  int
	say     func(words) string
	order   bool // the answer shows the order
	canPay  bool // with Pay and Decline
}

var (
	get   = http.MethodGet
	post  = http.MethodPost
	flows = []struct {
		name  string
		steps []step
	}{
		{"sale", []step{
			{name: "GET", method: get, status: 200, say: func(w words) string { return w.payable }, order: true, canPay: true},
			{name: "unknown action", method: post, action: "dance", status: 400, say: func(w words) string { return w.badAction }, order: true, canPay: true},
			{name: "decline", method: post, action: "decline", status: 200, say: func(w words) string { return w.declined }, order: true, canPay: true},
			{name: "GET after decline", method: get, status: 200, say: func(w words) string { return w.payable }, order: true, canPay: true},
			{name: "pay", method: post, action: "pay", status: 200, say: func(w words) string { return w.paidNow }, order: true},
			{name: "second pay", method: post, action: "pay", status: 409, say: func(w words) string { return w.alreadyPaid }, order: true},
			{name: "decline after pay", method: post, action: "decline", status: 409, say: func(w words) string { return w.alreadyPaid }, order: true},
			{name: "GET after pay", method: get, status: 200, say: func(w words) string { return w.paid }, order: true},
			{name: "DELETE", method: http.MethodDelete, status: 405, say: func(w words) string { return w.badMethod }},
		}},
		{"unknown code", []step{
			{name: "GET", method: get, unknown: true, status: 404, say: func(w words) string { return w.unknown }},
			{name: "pay", method: post, action: "pay", unknown: true, status: 404, say: func(w words) string { return w.unknown }},
		}},
		{"closed", []step{
			{name: "GET", method: get, status: 200, say: func(w words) string { return w.payable }, order: true, canPay: true},
			{name: "pay after the close", method: post, action: "pay", status: 409, say: func(w words) string { return w.refusedClosed }, order: true,
				before: func(t *testing.T, s *side, no string) {
					if r, err := s.p.Close(context.Background(), no); err != nil || r.Outcome != checkout.CloseClosed {
						t.Fatalf("close: %+v %v", r, err)
					}
				}},
			{name: "decline after the close", method: post, action: "decline", status: 409, say: func(w words) string { return w.refusedClosed }, order: true},
			{name: "GET after the close", method: get, status: 200, say: func(w words) string { return w.closed }, order: true},
		}},
		{"not saved", []step{
			{name: "GET", method: get, status: 200, say: func(w words) string { return w.payable }, order: true, canPay: true},
			{name: "pay, store broken", method: post, action: "pay", status: 500, say: func(w words) string { return w.notSaved }, order: true, canPay: true,
				before: func(_ *testing.T, s *side, _ string) { s.store.setBroken(true) }},
			{name: "pay, store mended", method: post, action: "pay", status: 200, say: func(w words) string { return w.paidNow }, order: true,
				before: func(_ *testing.T, s *side, _ string) { s.store.setBroken(false) }},
		}},
	}
)

// answer is one response, kept to compare the two emulators.
type answer struct {
	status int
	ctype  string
	body   string // with the brand and the code's URL taken out
}

// TestBothPayerPagesAnswerAlike runs the same requests, in every format
// and both languages, against the WeChat Pay and the Alipay emulator
// through their HTTP servers: each answer has the expected status, type
// and words (SANDBOX and no real money always), and the two emulators'
// answers are the same but for the brand, the code's URL and the
// provider's own status in JSON.
func TestBothPayerPagesAnswerAlike(t *testing.T) {
	ss := sides(t, "")
	got := map[string]map[string]answer{} // format/lang/flow/step -> side -> answer
	for _, s := range ss {
		for fi, f := range formats {
			for li, l := range langs {
				for ni, flow := range flows {
					no := fmt.Sprintf("PAYER2026%d%d%d0001", fi, li, ni)
					code := ""
					if !flow.steps[0].unknown {
						code = s.create(t, no)
					}
					for _, st := range flow.steps {
						name := strings.Join([]string{f.name, string(l.lang), flow.name, st.name}, "/")
						t.Run(s.name+"/"+name, func(t *testing.T) {
							if st.before != nil {
								st.before(t, s, no)
							}
							u := code
							if st.unknown {
								u = s.unknown
							}
							a := check(t, s, u, no, st, f.accept, f.ctype, l.header, l.lang)
							if got[name] == nil {
								got[name] = map[string]answer{}
							}
							got[name][s.name] = a
						})
					}
				}
			}
		}
	}
	for name, by := range got {
		if w, a := by["wechat"], by["alipay"]; w != a {
			t.Errorf("%s: the emulators answer differently:\nwechat %d %s\n%s\nalipay %d %s\n%s", name, w.status, w.ctype, w.body, a.status, a.ctype, a.body)
		}
	}
}

// check sends one request and checks its answer.
func check(t *testing.T, s *side, u, no string, st step, accept, ctype, acceptLang string, lang catalog.Lang) answer {
	t.Helper()
	var body io.Reader
	if st.method == post {
		body = strings.NewReader(url.Values{"action": {st.action}}.Encode())
	}
	req, err := http.NewRequest(st.method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	req.Header.Set("Accept-Language", acceptLang)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(b)
	w := say[lang]
	if resp.StatusCode != st.status {
		t.Errorf("status %d, want %d\n%s", resp.StatusCode, st.status, page)
	}
	if ct := resp.Header.Get("Content-Type"); ct != ctype {
		t.Errorf("Content-Type %q, want %q", ct, ctype)
	}
	if cl := resp.Header.Get("Content-Language"); cl != string(lang) {
		t.Errorf("Content-Language %q, want %s", cl, lang)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	brand := s.brand[lang]
	var wants, unwanted []string
	switch {
	case strings.HasPrefix(ctype, "application/json"):
		var j map[string]any
		if err := json.Unmarshal(b, &j); err != nil {
			t.Fatalf("JSON: %v\n%s", err, page)
		}
		for _, f := range []string{"out_trade_no", "subject", "total_amount", "status", "message", "can_pay", "notice"} {
			if _, ok := j[f]; !ok {
				t.Errorf("JSON lacks %s: %s", f, page)
			}
		}
		notice, _ := j["notice"].(string)
		msg, _ := j["message"].(string)
		if !strings.Contains(notice, "SANDBOX") || !strings.Contains(notice, w.noMoney) {
			t.Errorf("JSON notice %q", notice)
		}
		if !strings.Contains(msg, st.say(w)) {
			t.Errorf("JSON message %q, want %q", msg, st.say(w))
		}
		if j["can_pay"] != st.canPay {
			t.Errorf("can_pay %v, want %v", j["can_pay"], st.canPay)
		}
		if st.order && (j["out_trade_no"] != no || j["total_amount"] != "12.30" || j["subject"] != "till - coffee" || j["status"] == "") {
			t.Errorf("JSON order: %s", page)
		}
		if !st.order && (j["out_trade_no"] != "" || j["total_amount"] != "") {
			t.Errorf("JSON of no order: %s", page)
		}
		delete(j, "status") // the provider's own: NOTPAY, WAIT_BUYER_PAY, ...
		nb, _ := json.Marshal(j)
		page = string(nb)
	case strings.HasPrefix(ctype, "text/html"):
		wants = append(wants, `<html lang="`+string(lang)+`"`, "SANDBOX", w.noMoney, brand, st.say(w))
		if st.order {
			wants = append(wants, "¥12.30", no, "till - coffee")
		}
		if st.canPay {
			wants = append(wants, `value="pay"`, `value="decline"`)
		} else {
			unwanted = append(unwanted, `value="pay"`, `value="decline"`)
		}
	default:
		wants = append(wants, "SANDBOX", w.noMoney, st.say(w))
		if st.order {
			wants = append(wants, brand, "¥12.30", no)
		}
		if n := strings.Count(page, "\n"); n < 1 || n > 2 || !strings.HasSuffix(page, "\n") {
			t.Errorf("plain text of %d lines:\n%s", n, page)
		}
		if st.canPay {
			wants = append(wants, "curl -d action=pay "+u)
		} else {
			unwanted = append(unwanted, "curl -d action=pay")
		}
	}
	for _, x := range wants {
		if !strings.Contains(page, x) {
			t.Errorf("lacks %q:\n%s", x, page)
		}
	}
	for _, x := range unwanted {
		if strings.Contains(page, x) {
			t.Errorf("has %q:\n%s", x, page)
		}
	}
	page = strings.ReplaceAll(page, u, "{URL}")
	page = strings.ReplaceAll(page, brand, "{BRAND}")
	return answer{resp.StatusCode, resp.Header.Get("Content-Type"), page}
}

// TestDeclineLeavesTheTradePayable: after Decline both providers still
// report the trade unpaid (WeChat NOTPAY, Alipay WAIT_BUYER_PAY), and Pay
// then works.
func TestDeclineLeavesTheTradePayable(t *testing.T) {
	ctx := context.Background()
	for _, s := range sides(t, "") {
		no := "DECLINE20261201" + s.name
		code := s.create(t, no)
		resp, err := http.PostForm(code, url.Values{"action": {"decline"}})
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s decline: %v %v", s.name, resp, err)
		}
		resp.Body.Close()
		if st, err := s.p.Query(ctx, no); err != nil || st.State != checkout.TradeNotPaid {
			t.Fatalf("%s after decline: %+v %v", s.name, st, err)
		}
		resp, err = http.PostForm(code, url.Values{"action": {"pay"}})
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s pay after decline: %v %v", s.name, resp, err)
		}
		resp.Body.Close()
		if st, err := s.p.Query(ctx, no); err != nil || st.State != checkout.TradePaid || st.Amount != 1230 {
			t.Fatalf("%s after pay: %+v %v", s.name, st, err)
		}
	}
}

// TestConfiguredLanguage: Config.Lang speaks to a request whose
// Accept-Language names neither Chinese nor English; one that names
// either is answered in it.
func TestConfiguredLanguage(t *testing.T) {
	for _, s := range sides(t, catalog.Chinese) {
		code := s.create(t, "LANG20261201"+s.name)
		for header, want := range map[string]string{
			"":                "SANDBOX 沙箱，不涉及真实资金。" + s.brand[catalog.Chinese],
			"fr-FR":           "SANDBOX 沙箱，不涉及真实资金。" + s.brand[catalog.Chinese],
			"en-GB":           "SANDBOX, no real money. " + s.brand[catalog.English],
			"fr, en;q=0.5":    "SANDBOX, no real money. " + s.brand[catalog.English],
			"zh-TW, en;q=0.5": "SANDBOX 沙箱，不涉及真实资金。" + s.brand[catalog.Chinese],
		} {
			req, _ := http.NewRequest(http.MethodGet, code, nil)
			if header != "" {
				req.Header.Set("Accept-Language", header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.HasPrefix(string(b), want) {
				t.Errorf("%s, Accept-Language %q:\n%s\nwant it to start %q", s.name, header, b, want)
			}
		}
	}
}
