// Package httpclient builds the HTTP client the provider adapters use when
// none is given. Both SDKs' defaults are unfit for a counter: Alipay's
// (http.DefaultClient) waits for ever, and a dead network must not hold a
// sale longer than the clerk can bear.
package httpclient

import (
	"net"
	"net/http"
	"time"
)

// New returns a client whose dial and TLS handshake give up after connect
// and whose whole call gives up after total. Proxy settings come from the
// environment, as with http.DefaultTransport.
func New(connect, total time.Duration) *http.Client {
	var tr *http.Transport
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		tr = dt.Clone()
	} else {
		tr = &http.Transport{Proxy: http.ProxyFromEnvironment}
	}
	tr.DialContext = (&net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = connect
	tr.ResponseHeaderTimeout = total
	return &http.Client{Timeout: total, Transport: tr}
}
