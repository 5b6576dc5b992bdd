package control

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Version is the control protocol's version. Bump it whenever a request or
// response field changes meaning, so a desk and a client from different
// till versions refuse each other instead of misreading.
const Version = 1

// Frame limits. A command line is tiny; a day's order list as CSV can be a
// few MB, and Stdout travels base64-encoded (a third larger).
const (
	MaxRequest  = 64 << 10
	MaxResponse = 16 << 20
)

// Request is one command for the holder to run.
type Request struct {
	// Args is the command line after "till", e.g. ["refund", "…", "--amount", "5.00"].
	Args []string `json:"args"`
	// Env holds only the variables the command may read (TILL_MANAGER_PIN,
	// LANG, …); the client picks them. Values may be secret.
	Env map[string]string `json:"env,omitempty"`
	// Dir is the client's working directory, against which relative
	// paths in Args are meant.
	Dir string `json:"dir,omitempty"`
}

// Response is what the command printed and how it ended. The output is
// bytes, not strings, so that JSON does not rewrite what is not UTF-8.
type Response struct {
	Stdout []byte `json:"stdout,omitempty"`
	Stderr []byte `json:"stderr,omitempty"`
	Exit   int    `json:"exit"` // 0, 1 or 2, as the command line's exit codes
}

// wireRequest is a request frame's JSON.
type wireRequest struct {
	V int `json:"v"`
	Request
}

// wireResponse is a response frame's JSON. Error set means the holder did
// not run the command, and says why.
type wireResponse struct {
	V     int    `json:"v"`
	Error string `json:"error,omitempty"`
	Response
}

// tooLargeError is a frame whose length prefix is over the limit; the
// body is left unread.
type tooLargeError struct{ n, max uint32 }

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("frame of %d bytes is over the %d-byte limit", e.n, e.max)
}

// writeFrame writes body with its length prefix in one write.
func writeFrame(w io.Writer, body []byte) error {
	buf := make([]byte, 4+len(body))
	binary.BigEndian.PutUint32(buf, uint32(len(body)))
	copy(buf[4:], body)
	_, err := w.Write(buf)
	return err
}

// readFrame reads one frame of at most max bytes. It returns io.EOF only
// when the stream ended before the frame began.
func readFrame(r io.Reader, max uint32) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > max {
		return nil, &tooLargeError{n: n, max: max}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return body, nil
}
