// Package frrreload applies a new configuration to a running FRR without
// restarting it: the router pod's reloader sidecar serves it over a unix socket and
// the plumber is its client. A configuration is checked by FRR's own parser before
// it is applied with frr-reload.py (which changes only what differs, so sessions
// that did not change stay up), and only a configuration that applied cleanly
// becomes the "last good" one that a restarted FRR starts with.
package frrreload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/go-logr/logr"
)

// Reloader applies configurations to one FRR instance, one at a time.
type Reloader struct {
	// LastGood is where the last configuration that applied cleanly is kept; the
	// router's init step starts FRR with it.
	LastGood string
	// WorkDir holds candidate files (and frr-reload.py's temporary files).
	WorkDir string
	// VtySocket is the directory of FRR's vty sockets; empty means FRR's default.
	VtySocket string
	// Vtysh and ReloadScript default to those on PATH, then to Debian's paths.
	Vtysh        string
	ReloadScript string
	Log          logr.Logger

	mu sync.Mutex
}

// ErrRejected wraps a configuration FRR refused; the running one is unchanged.
var ErrRejected = errors.New("FRR rejected the configuration")

// Result says what Apply did.
type Result struct {
	// Changed is false when the configuration equals the last good one.
	Changed bool
}

func (r *Reloader) vtysh() string {
	if r.Vtysh != "" {
		return r.Vtysh
	}
	return "vtysh"
}

func (r *Reloader) script() string {
	if r.ReloadScript != "" {
		return r.ReloadScript
	}
	// On PATH first: tests and the lab put the pinned FRR's there.
	if p, err := exec.LookPath("frr-reload.py"); err == nil {
		return p
	}
	return "/usr/lib/frr/frr-reload.py"
}

func (r *Reloader) vtyArgs() []string {
	if r.VtySocket == "" {
		return nil
	}
	return []string{"--vty_socket", r.VtySocket}
}

// Apply makes config FRR's running configuration. Concurrent calls are serialized.
// A configuration FRR's parser rejects is never applied; one whose application
// fails is rolled back to the last good configuration. Either way the error carries
// FRR's own text and wraps ErrRejected.
func (r *Reloader) Apply(ctx context.Context, config []byte) (Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()

	last, err := os.ReadFile(r.LastGood)
	hasLast := err == nil
	if hasLast && bytes.Equal(last, config) {
		return Result{}, nil
	}
	candidate := filepath.Join(r.WorkDir, "candidate.conf")
	if err := writeAtomic(candidate, config); err != nil {
		return Result{}, fmt.Errorf("writing the candidate configuration: %w", err)
	}
	if out, err := r.run(ctx, r.vtysh(), append(r.vtyArgs(), "--dryrun", "-f", candidate)...); err != nil {
		return Result{}, fmt.Errorf("%w: %s", ErrRejected, frrText(out, err))
	}
	// rollBack returns FRR to the last good configuration after a failed step.
	rollBack := func(stepErr error) error {
		if hasLast {
			if out, err := r.reload(ctx, r.LastGood); err != nil {
				return errors.Join(stepErr, fmt.Errorf("rolling back to the last good configuration: %s", frrText(out, err)))
			}
		}
		return stepErr
	}
	for _, b := range droppedVNIs(string(last), string(config)) {
		args := append(r.vtyArgs(), "-c", "configure terminal", "-c", "vrf "+b.vrf, "-c", "no vni "+b.vni, "-c", "exit-vrf", "-c", "end")
		if out, err := r.run(ctx, r.vtysh(), args...); err != nil {
			return Result{}, rollBack(fmt.Errorf("%w: unbinding VNI %s from VRF %s: %s", ErrRejected, b.vni, b.vrf, frrText(out, err)))
		}
	}
	if out, err := r.reload(ctx, candidate); err != nil {
		return Result{}, rollBack(fmt.Errorf("%w: applying: %s", ErrRejected, frrText(out, err)))
	}
	if err := writeAtomic(r.LastGood, config); err != nil {
		return Result{Changed: true}, fmt.Errorf("applied, but keeping it as the last good configuration failed: %w", err)
	}
	r.Log.Info("configuration applied", "bytes", len(config))
	return Result{Changed: true}, nil
}

// Restore applies the last good configuration, if any: the router's init step, so
// that a restarted FRR comes back with what it ran before.
func (r *Reloader) Restore(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := os.Stat(r.LastGood); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if out, err := r.reload(ctx, r.LastGood); err != nil {
		return fmt.Errorf("restoring %s: %s", r.LastGood, frrText(out, err))
	}
	return nil
}

// Healthy checks that FRR answers through vtysh.
func (r *Reloader) Healthy(ctx context.Context) error {
	if out, err := r.run(ctx, r.vtysh(), append(r.vtyArgs(), "-c", "show version")...); err != nil {
		return fmt.Errorf("FRR does not answer: %s", frrText(out, err))
	}
	return nil
}

// RunningConfig returns FRR's running configuration.
func (r *Reloader) RunningConfig(ctx context.Context) (string, error) {
	out, err := r.run(ctx, r.vtysh(), append(r.vtyArgs(), "-c", "show running-config")...)
	if err != nil {
		return "", fmt.Errorf("show running-config: %s", frrText(out, err))
	}
	return string(out), nil
}

// vniBinding is a "vrf NAME" stanza's "vni N" line.
type vniBinding struct{ vrf, vni string }

// stanzas are the beginnings of the running-config lines that a configuration
// adds; a running config without any runs nothing worth removing.
var stanzas = []string{"router ", "vrf ", "interface ", "route-map ", "ip prefix-list ", "ipv6 prefix-list ", "bfd", "ip route ", "ipv6 route "}

func runsNothing(running string) bool {
	for _, line := range strings.Split(running, "\n") {
		for _, s := range stanzas {
			if strings.HasPrefix(line, s) {
				return false
			}
		}
	}
	return true
}

// droppedVNIs lists the VNI bindings of lastGood that next no longer has. FRR
// refuses to remove a BGP VRF instance that still has its L3VNI ("Please
// unconfigure l3vni"), and frr-reload.py in FRR 8.4 may order the two deletions
// either way (and sends a "vrf" line to bgpd inside a "router bgp" context when
// asked to unbind alone), so Apply unbinds them with vtysh itself first.
func droppedVNIs(lastGood, next string) []vniBinding {
	keep := map[vniBinding]bool{}
	for _, b := range vniBindings(next) {
		keep[b] = true
	}
	var out []vniBinding
	for _, b := range vniBindings(lastGood) {
		if !keep[b] {
			out = append(out, b)
		}
	}
	return out
}

// vniBindings lists the VNI bindings of a configuration.
func vniBindings(config string) []vniBinding {
	var out []vniBinding
	vrf := ""
	for _, line := range strings.Split(config, "\n") {
		switch {
		case strings.HasPrefix(line, "vrf "):
			vrf = strings.TrimSpace(strings.TrimPrefix(line, "vrf "))
		case !strings.HasPrefix(line, " "):
			vrf = ""
		case vrf != "" && strings.HasPrefix(line, " vni "):
			out = append(out, vniBinding{vrf: vrf, vni: strings.TrimSpace(strings.TrimPrefix(line, " vni "))})
		}
	}
	return out
}

// reload makes file FRR's running configuration. An FRR that runs nothing yet (it
// has just started, or never had a configuration) has nothing to remove: loading
// the file with vtysh is then the whole reload. That is the router's restore after
// a restart and every node's first apply, and it takes a fraction of frr-reload.py's
// time (1.0 s against 8.6 s for the seed lab in the emulated VM).
func (r *Reloader) reload(ctx context.Context, file string) ([]byte, error) {
	if running, err := r.RunningConfig(ctx); err == nil && runsNothing(running) {
		return r.run(ctx, r.vtysh(), append(r.vtyArgs(), "-f", file)...)
	}
	// frr-reload.py runs vtysh with --config_dir WorkDir: give it the vtysh.conf
	// it looks for there, or every call complains in FRR's error text.
	vtyshConf := filepath.Join(r.WorkDir, "vtysh.conf")
	if _, err := os.Stat(vtyshConf); errors.Is(err, os.ErrNotExist) {
		if err := writeAtomic(vtyshConf, []byte("service integrated-vtysh-config\n")); err != nil {
			return nil, err
		}
	}
	args := []string{"--reload", "--stdout", "--log-level", "error", "--bindir", filepath.Dir(mustLookPath(r.vtysh())),
		"--rundir", r.WorkDir, "--confdir", r.WorkDir}
	if r.VtySocket != "" {
		args = append(args, "--vty_socket", r.VtySocket)
	}
	return r.run(ctx, r.script(), append(args, file)...)
}

func (r *Reloader) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	return cmd.CombinedOutput()
}

func mustLookPath(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return name
}

// frrText keeps what FRR said, without Python tracebacks' noise.
func frrText(out []byte, err error) string {
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "File \"") {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return err.Error()
	}
	if len(lines) > 20 {
		lines = append(lines[:20], "...")
	}
	return strings.Join(lines, "\n")
}

// writeAtomic replaces path in one rename, so a crash never leaves half a file.
func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
