package frrreload

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReadAnswer: a daemon's answer ends at three NUL bytes and a status byte,
// however the bytes arrive; a connection that closes first is an error, not an
// empty answer.
func TestReadAnswer(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		out      string
		status   byte
		wantErr  string
		oneByte  bool
	}{
		{name: "json", in: "{\n\"vrfs\":[]\n}\n\x00\x00\x00\x00", out: "{\n\"vrfs\":[]\n}\n"},
		{name: "one byte at a time", in: "{}\n\x00\x00\x00\x00", out: "{}\n", oneByte: true},
		{name: "empty output", in: "\x00\x00\x00\x00", out: ""},
		{name: "status", in: "% Unknown command: show nothing\n\x00\x00\x00\x02", out: "% Unknown command: show nothing\n", status: 2},
		{name: "closed before the status", in: "{}\n\x00\x00\x00", wantErr: "closed before the answer ended"},
		{name: "closed mid-output", in: "{\"vrfs\":", wantErr: "closed before the answer ended"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r = bytes.NewReader([]byte(tc.in))
			var in io.Reader = r
			if tc.oneByte {
				in = iotest.OneByteReader(r)
			}
			out, status, err := readAnswer(in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v; want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || string(out) != tc.out || status != tc.status {
				t.Errorf("readAnswer = %q, %d, %v; want %q, %d", out, status, err, tc.out, tc.status)
			}
		})
	}
}
