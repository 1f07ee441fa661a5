package nodeplumber

import (
	"errors"
	"testing"

	"github.com/vishvananda/netlink"
)

// Pure logic next to the real dumps of the netns and VM layers: the kernel cannot
// be made to interrupt a dump on demand.
func TestRetryDump(t *testing.T) {
	calls := 0
	flaky := func() ([]int, error) {
		calls++
		if calls < 3 {
			return []int{1}, netlink.ErrDumpInterrupted // partial results: never used
		}
		return []int{1, 2, 3}, nil
	}
	got, err := retryDump(flaky)
	if err != nil || len(got) != 3 || calls != 3 {
		t.Fatalf("got %v, %v after %d calls; want the complete dump on the third", got, err, calls)
	}
	_, err = retryDump(func() ([]int, error) { return nil, netlink.ErrDumpInterrupted })
	if !errors.Is(err, netlink.ErrDumpInterrupted) {
		t.Fatalf("a dump interrupted every time: err = %v", err)
	}
	boom := errors.New("boom")
	if _, err := retryDump(func() ([]int, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("other errors pass through: %v", err)
	}
}
