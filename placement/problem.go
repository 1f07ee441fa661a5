package placement

import (
	"fmt"
	"strings"
)

// Problem is why an object is rejected, or why a node cannot run it: a reason in
// CamelCase for conditions and a sentence for people.
type Problem struct {
	Reason  string
	Message string
}

func problemf(reason, format string, args ...any) Problem {
	return Problem{Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// Problems is a list of problems; empty means none.
type Problems []Problem

// Reason is the first problem's reason.
func (ps Problems) Reason() string {
	if len(ps) == 0 {
		return ""
	}
	return ps[0].Reason
}

// Message joins every problem's message.
func (ps Problems) Message() string {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.Message
	}
	return strings.Join(msgs, "; ")
}

// ListSome joins the first few items and counts the rest, so that a message about
// a thousand nodes stays readable.
func ListSome(items []string) string {
	const shown = 5
	if len(items) <= shown {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:shown], ", "), len(items)-shown)
}

// ConditionMessage keeps a condition message within the API's 32768-byte limit
// (with room to spare: a message about a thousand nodes stays readable).
func ConditionMessage(msg string) string {
	const max = 4096
	if len(msg) <= max {
		return msg
	}
	return msg[:max-3] + "..."
}
