package wechatemu

import (
	"net/http"
	"strings"
	"time"
)

// Faults makes the /v3 API misbehave for tests. The zero value is no
// fault. The payer page is never affected.
type Faults struct {
	// Path limits the faults to requests whose path contains it
	// (e.g. "/close", "/refunds"); empty means every API request.
	Path string
	// Times is how many matching requests are affected; 0 means all of
	// them until ClearFaults.
	Times int
	// Processed carries the request out before Status or DropConnection
	// strike, so its effect happens but the answer is lost or replaced.
	// MalformedBody and BadSignature always apply to a processed request.
	Processed bool

	// Latency delays the answer (the request's context still cancels it).
	Latency time.Duration
	// Status answers with this HTTP status instead of the real answer.
	// Code and Message default by status: 5xx SYSTEM_ERROR, 429
	// FREQUENCY_LIMITED, other 4xx PARAM_ERROR. Code "-" sends a non-JSON
	// body, as a proxy's error page would.
	Status  int
	Code    string
	Message string
	// DropConnection closes the connection without an answer.
	DropConnection bool
	// MalformedBody cuts a 2xx JSON body in half (still correctly signed).
	MalformedBody bool
	// BadSignature signs 2xx answers with a signature that does not
	// verify.
	BadSignature bool
}

// SetFaults replaces the fault switches.
func (e *Emulator) SetFaults(f Faults) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = f
	e.faultsLeft = f.Times
	e.faultsOn = true
}

// ClearFaults switches every fault off.
func (e *Emulator) ClearFaults() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = Faults{}
	e.faultsOn = false
}

// takeFault returns the faults that apply to a request on path and counts
// it against Times.
func (e *Emulator) takeFault(path string) Faults {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.faultsOn || !strings.Contains(path, e.faults.Path) {
		return Faults{}
	}
	f := e.faults
	if f.Times > 0 {
		e.faultsLeft--
		if e.faultsLeft <= 0 {
			e.faults = Faults{}
			e.faultsOn = false
		}
	}
	return f
}

// strike applies Status or DropConnection and reports whether it answered.
func (e *Emulator) strike(w http.ResponseWriter, f Faults) bool {
	switch {
	case f.DropConnection:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return true
			}
		}
		// Not hijackable (HTTP/2, recorder): abort the handler, which
		// net/http turns into a reset.
		panic(http.ErrAbortHandler)
	case f.Status != 0:
		code, msg := f.Code, f.Message
		if code == "" {
			switch {
			case f.Status >= 500:
				code, msg = "SYSTEM_ERROR", "系统错误"
			case f.Status == http.StatusTooManyRequests:
				code, msg = "FREQUENCY_LIMITED", "频率超限"
			default:
				code, msg = "PARAM_ERROR", "参数错误"
			}
		}
		if code == "-" {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(f.Status)
			_, _ = w.Write([]byte("<html><body><h1>" + http.StatusText(f.Status) + "</h1></body></html>"))
			return true
		}
		if msg == "" {
			msg = code
		}
		e.write(w, failure(f.Status, code, msg), false)
		return true
	}
	return false
}
