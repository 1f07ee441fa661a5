package frrreload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
)

// vtyShow runs one read-only command on one FRR daemon through the daemon's vty
// socket (DIR/DAEMON.vty), the way vtysh talks to it: the command goes out
// ended by a NUL byte, and the daemon answers with the output, three NUL bytes
// and the command's status (lib/vty.c, vtysh_read and vty_resume_response).
//
// vtysh itself is not started for this: it builds its whole command tree before
// it sends anything, about 80 ms of CPU per start on the development machine
// and ten times that on an emulated node, and the plumber's live-status read
// would pay it for each of seven commands every interval.
func vtyShow(ctx context.Context, dir, daemon, command string) ([]byte, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", filepath.Join(dir, daemon+".vty"))
	if err != nil {
		return nil, fmt.Errorf("%s is not running: %w", daemon, err)
	}
	defer conn.Close()
	// A daemon that never answers must not hold the caller past its deadline.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if _, err := conn.Write(append([]byte(command), 0)); err != nil {
		return nil, fmt.Errorf("%s: %w", daemon, err)
	}
	out, status, err := readAnswer(conn)
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("%s did not answer: %w", daemon, err)
	}
	if status != 0 {
		return nil, fmt.Errorf("%s refused %q (status %d): %s", daemon, command, status, bytes.TrimSpace(out))
	}
	return out, nil
}

// answerEnd is what ends a daemon's answer on its vty socket, before the status
// byte. FRR's output is text and never holds a NUL byte.
var answerEnd = []byte{0, 0, 0}

// readAnswer reads one answer: the output before answerEnd, and the status
// after it.
func readAnswer(r io.Reader) (out []byte, status byte, err error) {
	var buf []byte
	chunk := make([]byte, 64<<10)
	for {
		n, err := r.Read(chunk)
		// Only the new bytes, and the end marker's start in the old ones, can
		// hold the marker: a large answer is not scanned again at each chunk.
		from := max(0, len(buf)-len(answerEnd))
		buf = append(buf, chunk[:n]...)
		if i := bytes.Index(buf[from:], answerEnd); i >= 0 && len(buf) > from+i+len(answerEnd) {
			return buf[:from+i], buf[from+i+len(answerEnd)], nil
		}
		if errors.Is(err, io.EOF) {
			return nil, 0, fmt.Errorf("the connection closed before the answer ended (%d bytes)", len(buf))
		}
		if err != nil {
			return nil, 0, err
		}
	}
}
