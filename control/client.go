package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
	"unicode/utf8"
)

var (
	// ErrNoHolder is Call's error when nobody listens at the path (no
	// socket, or one left by a holder that died): the ledger file is
	// free, and the caller opens it itself.
	ErrNoHolder = errors.New("control: no process holds the ledger")

	// ErrRefused is Call's error when the holder answered without
	// running the command (another till version, say); nothing was done.
	ErrRefused = errors.New("control: the ledger's holder did not run the command")

	// ErrOutcomeUnknown is Call's error once the command was sent and no
	// sound answer came back (the holder died, the answer was cut short,
	// ctx ended). The command may have been carried out, a refund too:
	// look at the ledger before trying again.
	ErrOutcomeUnknown = errors.New("control: the command went to the ledger's holder, but whether it was carried out is not known")
)

// Call has the ledger's holder, listening at path, run req, and returns
// what the command printed and its exit code. ctx bounds the dial and the
// whole exchange. An error wraps ErrNoHolder, ErrRefused or
// ErrOutcomeUnknown, or else (a request Call will not send, a holder of
// another user) means nothing was sent.
func Call(ctx context.Context, path string, req Request) (Response, error) {
	return call(ctx, path, req, os.Getuid())
}

func call(ctx context.Context, path string, req Request, uid int) (Response, error) {
	if err := checkUTF8(req); err != nil {
		return Response{}, err
	}
	body, err := json.Marshal(wireRequest{V: Version, Request: req})
	if err != nil {
		return Response{}, fmt.Errorf("control: %w", err)
	}
	if len(body) > MaxRequest {
		return Response{}, fmt.Errorf("control: the request is %d bytes, over the %d-byte limit; not sent", len(body), MaxRequest)
	}

	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return Response{}, fmt.Errorf("%w: %w", ErrNoHolder, err)
		}
		return Response{}, fmt.Errorf("control: %w", err)
	}
	c := nc.(*net.UnixConn)
	defer c.Close()

	// A PIN may be in Env: tell it to nobody but our own user.
	p, err := peerOf(c)
	if err != nil {
		return Response{}, fmt.Errorf("control: cannot tell who serves %s: %w; not sent", path, err)
	}
	if p.known && p.uid != uid {
		return Response{}, fmt.Errorf("control: %s is served by uid %d (pid %d), not by our user; not sent", path, p.uid, p.pid)
	}

	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	// A write that fails has not handed the kernel the whole frame, and
	// the holder runs nothing it has not read whole. It may have refused
	// us before we wrote, though, and then its answer says why.
	if err := writeFrame(c, body); err != nil {
		if why, ok := refusal(c); ok {
			return Response{}, fmt.Errorf("%w: %s", ErrRefused, why)
		}
		return Response{}, fmt.Errorf("control: sending to %s: %w; not sent", path, ctxErr(ctx, err))
	}
	rb, err := readFrame(c, MaxResponse)
	if err != nil {
		return Response{}, fmt.Errorf("%w: reading the answer: %w", ErrOutcomeUnknown, ctxErr(ctx, err))
	}
	var resp wireResponse
	if err := json.Unmarshal(rb, &resp); err != nil {
		return Response{}, fmt.Errorf("%w: the answer does not decode: %w", ErrOutcomeUnknown, err)
	}
	if resp.Error != "" {
		return Response{}, fmt.Errorf("%w: %s", ErrRefused, resp.Error)
	}
	if resp.V != Version {
		return Response{}, fmt.Errorf("%w: the answer is of control protocol %d, not %d", ErrOutcomeUnknown, resp.V, Version)
	}
	return resp.Response, nil
}

// refusal is the holder's reason, if what it sent before hanging up is a
// refusal.
func refusal(c *net.UnixConn) (string, bool) {
	b, err := readFrame(c, MaxResponse)
	if err != nil {
		return "", false
	}
	var r wireResponse
	if json.Unmarshal(b, &r) != nil || r.Error == "" {
		return "", false
	}
	return r.Error, true
}

// checkUTF8 refuses what JSON would quietly rewrite: a string that is not
// UTF-8 would reach the command altered.
func checkUTF8(req Request) error {
	for i, a := range req.Args {
		if !utf8.ValidString(a) {
			return fmt.Errorf("control: argument %d is not UTF-8; not sent", i+1)
		}
	}
	for k, v := range req.Env {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return errors.New("control: an environment variable is not UTF-8; not sent")
		}
	}
	if !utf8.ValidString(req.Dir) {
		return errors.New("control: the working directory is not UTF-8; not sent")
	}
	return nil
}

// ctxErr is ctx's error once ctx has ended, since that, not the deadline
// it set on the connection, is why err happened.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
