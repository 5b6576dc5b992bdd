package fake

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer that goroutines may write to at once: a log
// sink for tests that read what a server, a provider or a desk logged.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String is what was written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
