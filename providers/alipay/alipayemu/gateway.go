package alipayemu

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// reply is one gateway answer before it is written.
type reply struct {
	key    string // "<method>_response" or "error_response"
	biz    obj
	signed bool
}

var codeMsg = map[string]string{
	"10000": "Success",
	"10003": "Order success pay inprocess",
	"20000": "Service Currently Unavailable",
	"40001": "Missing Required Arguments",
	"40002": "Invalid Arguments",
	"40004": "Business Failed",
}

// success starts a 10000 answer; add drops empty values, as Alipay omits
// what it does not have.
func success(fields ...field) obj {
	return append(obj{{"code", "10000"}, {"msg", "Success"}}, fields...).compact()
}

func failure(code, subCode, subMsg string, fields ...field) obj {
	return append(obj{{"code", code}, {"msg", codeMsg[code]}, {"sub_code", subCode}, {"sub_msg", subMsg}}, fields...).compact()
}

func bizFail(subCode, subMsg string, fields ...field) obj {
	return failure("40004", subCode, subMsg, fields...)
}

func invalidParam(what string) obj {
	return bizFail("ACQ.INVALID_PARAMETER", "参数无效: "+what)
}

// compact drops fields whose value is an empty string.
func (o obj) compact() obj {
	out := o[:0:0]
	for _, f := range o {
		if s, ok := f.v.(string); ok && s == "" {
			continue
		}
		out = append(out, f)
	}
	return out
}

func responseKey(method string) string {
	return strings.ReplaceAll(method, ".", "_") + "_response"
}

// call is one verified API request.
type call struct {
	method string
	form   url.Values
	biz    map[string]any
	now    time.Time
	base   string // scheme://host for qr_code URLs
}

// s returns a biz_content string field; "" (absent) when missing or empty.
func (c *call) s(k string) string {
	if v, ok := c.biz[k].(string); ok {
		return v
	}
	return ""
}

func (c *call) has(k, option string) bool {
	list, _ := c.biz[k].([]any)
	for _, v := range list {
		if v == option {
			return true
		}
	}
	return false
}

type handler func(e *Emulator, c *call) obj

var handlers = map[string]handler{
	"alipay.trade.precreate":                         (*Emulator).precreate,
	"alipay.trade.query":                             (*Emulator).query,
	"alipay.trade.cancel":                            (*Emulator).cancelTrade,
	"alipay.trade.close":                             (*Emulator).closeTrade,
	"alipay.trade.refund":                            (*Emulator).refundTrade,
	"alipay.trade.fastpay.refund.query":              (*Emulator).refundQuery,
	"alipay.trade.pay":                               (*Emulator).payTrade,
	"alipay.data.dataservice.bill.downloadurl.query": (*Emulator).billDownloadURL,
}

func (e *Emulator) serveGateway(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	// ParseForm merges the URL query and the body, as the gateway does
	// (the official Java SDK puts common parameters in the query).
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	form := r.Form
	method := form.Get("method")
	e.mu.Lock()
	e.lastReq = url.Values{}
	for k, v := range form {
		e.lastReq[k] = append([]string(nil), v...)
	}
	e.mu.Unlock()

	f, hit := e.takeFault(method)
	if hit && f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done(): // the caller gave up; the work goes on
		case <-e.ctx.Done():
			t.Stop()
			return
		}
	}
	var rep reply
	if hit && f.Unprocessed {
		rep = reply{key: responseKey(method), biz: failure("20000", "isp.unknow-error", "系统繁忙"), signed: true}
	} else {
		rep = e.handle(form, "http://"+r.Host)
	}
	if hit {
		switch {
		case f.Reset:
			resetConn(w)
			return
		case f.Status5xx:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			w.Write([]byte("<html><body><h1>502 Bad Gateway</h1></body></html>"))
			return
		case f.MalformedBody:
			w.Header().Set("Content-Type", "text/html;charset=utf-8")
			w.Write([]byte(`{"` + rep.key + `":{"code":"10000","msg":"Succ`))
			return
		case f.SystemError:
			var extra []field
			if method == "alipay.trade.cancel" {
				extra = append(extra, field{"retry_flag", "Y"})
			}
			rep = reply{key: rep.key, biz: bizFail("ACQ.SYSTEM_ERROR", "系统错误", extra...), signed: true}
		case f.Unavailable:
			rep = reply{key: rep.key, biz: failure("20000", "isp.unknow-error", "系统繁忙"), signed: true}
		case f.OtherOrder != "":
			for i := range rep.biz {
				if rep.biz[i].k == "out_trade_no" {
					rep.biz[i].v = f.OtherOrder
				}
			}
		}
	}
	e.write(w, rep, hit && f.BadSignature)
}

// resetConn drops the connection with a TCP reset and no answer.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		tcp.SetLinger(0)
	}
	conn.Close()
}

// write builds the body byte by byte: the signature covers exactly the
// bytes of the biz value as written.
func (e *Emulator) write(w http.ResponseWriter, rep reply, badSignature bool) {
	biz := rep.biz.encode()
	var b bytes.Buffer
	b.WriteString(`{"` + rep.key + `":`)
	b.Write(biz)
	if rep.signed {
		content := biz
		if badSignature {
			content = append(append([]byte(nil), biz...), ' ')
		}
		sig, err := signRSA2(e.cfg.AlipayKey, content)
		if err != nil {
			http.Error(w, "signing failed", http.StatusInternalServerError)
			return
		}
		b.WriteString(`,"sign":"` + sig + `"`)
		if e.cfg.AlipayCertSN != "" {
			b.WriteString(`,"alipay_cert_sn":"` + e.cfg.AlipayCertSN + `"`)
		}
	}
	b.WriteString("}")
	w.Header().Set("Content-Type", "text/html;charset=utf-8")
	w.Write(b.Bytes())
}

// handle checks the common parameters and the signature, then runs the
// method.
func (e *Emulator) handle(form url.Values, host string) reply {
	method := form.Get("method")
	key := responseKey(method)
	unsigned := func(code, sub, msg string) reply { return reply{key: key, biz: failure(code, sub, msg)} }
	signed := func(code, sub, msg string) reply { return reply{key: key, biz: failure(code, sub, msg), signed: true} }
	switch appID := form.Get("app_id"); {
	case method == "":
		return reply{key: "error_response", biz: failure("40001", "isv.missing-method", "缺少方法名参数")}
	case appID == "":
		return unsigned("40001", "isv.missing-app-id", "缺少AppID参数")
	case appID != e.cfg.AppID:
		// The gateway cannot know whose Alipay key to sign with.
		return unsigned("40002", "isv.invalid-app-id", "无效的AppID参数")
	case form.Get("sign") == "":
		return signed("40001", "isv.missing-signature", "缺少签名参数")
	case form.Get("sign_type") != "RSA2":
		return signed("40002", "isv.invalid-signature-type", "无效的签名类型参数")
	case form.Get("charset") != "" && !strings.EqualFold(form.Get("charset"), "utf-8"):
		return signed("40002", "isv.invalid-charset", "字符集错误")
	case form.Get("format") != "" && !strings.EqualFold(form.Get("format"), "JSON"):
		return signed("40002", "isv.invalid-format", "无效的数据格式参数")
	case form.Get("version") != "1.0":
		return signed("40002", "isv.invalid-version", "无效的版本号参数")
	}
	if _, err := time.ParseInLocation(timeLayout, form.Get("timestamp"), shanghai); err != nil {
		return signed("40002", "isv.invalid-timestamp", "非法的时间戳参数")
	}
	content := signContent(form)
	if err := verifyRSA2(e.cfg.AppPublicKey, []byte(content), form.Get("sign")); err != nil {
		return signed("40002", "isv.invalid-signature", "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为："+content)
	}
	h, ok := handlers[method]
	if !ok {
		return reply{key: "error_response", biz: failure("40002", "isv.invalid-method", "不存在的方法名"), signed: true}
	}
	c := &call{method: method, form: form, biz: map[string]any{}, base: e.cfg.PayerBase}
	if c.base == "" {
		c.base = host
	}
	if bc := form.Get("biz_content"); bc != "" {
		if err := json.Unmarshal([]byte(bc), &c.biz); err != nil {
			return reply{key: key, biz: invalidParam("biz_content is not JSON"), signed: true}
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c.now = e.cfg.Clock()
	e.saveErr = nil
	t := e.find(c)
	var before TradeInfo
	if t != nil {
		before = t.info()
	}
	biz := h(e, c)
	if e.saveErr != nil {
		// What could not be saved is undone (and was not notified), and
		// the caller is told the outcome is unknown, which is what 20000
		// says: it asks again.
		e.saveErr = nil
		if t != nil {
			e.restoreLocked(t, before)
		} else if made := e.find(c); made != nil {
			e.forgetLocked(made)
		}
		return signed("20000", "isp.unknow-error", "系统繁忙")
	}
	return reply{key: key, biz: biz, signed: true}
}
