package wechatemu

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Server is an emulator listening on a TCP address.
type Server struct {
	URL      string // http://host:port, the api_base to point the adapter at
	Emulator *Emulator

	srv  *http.Server
	done chan struct{}
}

// Start listens on addr (e.g. "127.0.0.1:0") and serves the emulator.
// When cfg.PayerBase is empty, code_url is <URL>/pay/<token>.
func Start(addr string, cfg Config) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	url := "http://" + ln.Addr().String()
	if cfg.PayerBase == "" {
		cfg.PayerBase = url
	}
	emu, err := New(cfg)
	if err != nil {
		ln.Close()
		return nil, err
	}
	s := &Server{
		URL:      url,
		Emulator: emu,
		// net/http reports to ErrorLog, by default stderr: in the sandbox
		// that is the terminal the desk owns.
		srv: &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(emu.log.Handler(), slog.LevelWarn)},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			emu.log.Error("emulator server stopped", "err", err)
		}
	}()
	return s, nil
}

// Close stops the listener, drops open connections and stops pending
// notifications.
func (s *Server) Close() error {
	err := s.srv.Close()
	<-s.done
	s.Emulator.Close()
	return err
}
