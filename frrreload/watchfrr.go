package frrreload

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// FRRUp says whether FRR is up as its supervisor, watchfrr, sees it: watchfrr
// answers, lists its daemons, every one of them Up, and is not reading the
// configuration file. It is the router's liveness probe (reloader --alive, the
// image's router-alive) and the reloader's gate before it loads anything: vtysh
// sends each daemon only its part of a file, and a daemon that is not up yet
// misses its part without an error. Afterwards the gap cannot be seen where it
// would be looked for: the running configuration vtysh shows merges all daemons,
// so a route-map that zebra has and bgpd lacks looks present, and bgpd denies
// every route the map is applied to.
func (r *Reloader) FRRUp(ctx context.Context) error {
	out, err := vtyShow(ctx, r.runDir(), "watchfrr", "show watchfrr")
	if err != nil {
		return fmt.Errorf("watchfrr does not answer: %s", Redact(err.Error()))
	}
	return watchfrrSaysUp(string(out))
}

// watchfrrSaysUp reads `show watchfrr`: a line per daemon ("  bgpd   Up"), and
// whether watchfrr is feeding the configuration file to the daemons.
func watchfrrSaysUp(out string) error {
	var daemons, down []string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, " Reading Configuration:"); ok && strings.TrimSpace(v) != "no" {
			return errors.New("watchfrr is reading the configuration file")
		}
		// Daemon lines are the only ones indented by two spaces.
		if !strings.HasPrefix(line, "  ") || strings.HasPrefix(line, "   ") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		daemons = append(daemons, f[0])
		if f[1] != "Up" {
			down = append(down, f[0]+"="+strings.Join(f[1:], " "))
		}
	}
	if len(daemons) == 0 {
		return fmt.Errorf("watchfrr lists no daemon: %q", strings.TrimSpace(out))
	}
	if len(down) > 0 {
		return fmt.Errorf("not up: %s", strings.Join(down, " "))
	}
	return nil
}
