package frrreload

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrstate"
)

// MaxConfigBytes bounds a posted configuration (a thousand VRFs take ~1 MB).
const MaxConfigBytes = 8 << 20

// ApplyTimeout bounds one apply with its rollback, whatever its client does.
const ApplyTimeout = 10 * time.Minute

// The results a Response carries.
const (
	ResultSuccess   = "success"
	ResultUnchanged = "unchanged" // FRR already ran this configuration: nothing was reloaded
	ResultFailure   = "failure"
)

// Response is the body of every answer of the server.
type Response struct {
	// Result is ResultSuccess, ResultUnchanged or ResultFailure.
	Result string `json:"result"`
	// Message is FRR's error text on failure.
	Message string `json:"message,omitempty"`
}

// Handler serves POST /config (apply the body), GET /healthz (FRR answers and
// runs the last good configuration) and GET /state (FRR's EVPN state, read-only).
func Handler(r *Reloader) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /config", func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, MaxConfigBytes))
		if err != nil {
			reply(w, http.StatusRequestEntityTooLarge, Response{Result: ResultFailure, Message: err.Error()})
			return
		}
		// The apply, and its rollback, run to completion even if the client goes
		// away: stopping frr-reload.py halfway would leave FRR between the two.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(req.Context()), ApplyTimeout)
		defer cancel()
		res, err := r.Apply(ctx, body)
		switch {
		case errors.Is(err, ErrRejected):
			reply(w, http.StatusUnprocessableEntity, Response{Result: ResultFailure, Message: err.Error()})
		case err != nil:
			reply(w, http.StatusInternalServerError, Response{Result: ResultFailure, Message: err.Error()})
		case !res.Changed:
			reply(w, http.StatusOK, Response{Result: ResultUnchanged})
		default:
			reply(w, http.StatusOK, Response{Result: ResultSuccess})
		}
	})
	mux.HandleFunc("GET /healthz", healthz(r))
	mux.HandleFunc("GET /state", func(w http.ResponseWriter, req *http.Request) {
		st, err := r.State(req.Context())
		if err != nil {
			reply(w, http.StatusServiceUnavailable, Response{Result: ResultFailure, Message: err.Error()})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(st)
	})
	return mux
}

// ProbeHandler serves GET /healthz alone, for the kubelet's readiness probe on a
// loopback TCP port: an HTTP probe costs the node nothing but the request, where
// an exec probe starts a runtime process and the probe's own (on an emulated
// node, the router pod's exec probes used more CPU than any other pod). Nothing
// that changes or reveals FRR's configuration or state is served there: the
// port is open to every process of the node.
func ProbeHandler(r *Reloader) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", healthz(r))
	return mux
}

// healthz answers whether FRR answers and runs the last good configuration.
func healthz(r *Reloader) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		if err := r.Healthy(req.Context()); err != nil {
			reply(w, http.StatusServiceUnavailable, Response{Result: ResultFailure, Message: err.Error()})
			return
		}
		reply(w, http.StatusOK, Response{Result: ResultSuccess})
	}
}

func reply(w http.ResponseWriter, code int, r Response) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(r)
}

// Listen opens the unix socket at path with mode 0600 (root only: whoever can post
// a configuration controls the node's routing), replacing a stale socket file.
func Listen(path string) (net.Listener, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("removing the stale socket %s: %w", path, err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("restricting %s to its owner: %w", path, err)
	}
	return l, nil
}

// Client posts configurations to a reloader's socket.
type Client struct {
	http *http.Client
}

// NewClient returns a client of the reloader listening on socket.
func NewClient(socket string) *Client {
	return &Client{http: &http.Client{
		Timeout: 2 * time.Minute,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		}},
	}}
}

// Apply sends config; an error carries FRR's text when FRR refused it.
func (c *Client) Apply(ctx context.Context, config string) (Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://reloader/config", strings.NewReader(config))
	if err != nil {
		return Response{}, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("posting to the reloader: %w", err)
	}
	defer resp.Body.Close()
	var r Response
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return Response{}, fmt.Errorf("reading the reloader's answer (HTTP %d): %w", resp.StatusCode, err)
	}
	if r.Result == ResultFailure {
		if resp.StatusCode == http.StatusUnprocessableEntity {
			// The same sentinel as in-process: the caller can tell a refusal.
			return r, fmt.Errorf("reload failed: %w%s", ErrRejected, strings.TrimPrefix(r.Message, ErrRejected.Error()))
		}
		return r, fmt.Errorf("reload failed: %s", r.Message)
	}
	return r, nil
}

// Health asks whether FRR answers and runs the last good configuration; the
// error says why not.
func (c *Client) Health(ctx context.Context) error {
	return c.get(ctx, "/healthz", nil)
}

// get asks the reloader for path; a 200 answer is decoded into v (when not
// nil), any other is a Response whose message becomes the error.
func (c *Client) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://reloader"+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("asking the reloader: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK && v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			return fmt.Errorf("reading the reloader's answer to %s: %w", path, err)
		}
		return nil
	}
	var r Response
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return fmt.Errorf("reading the reloader's answer (HTTP %d): %w", resp.StatusCode, err)
	}
	if r.Result != ResultSuccess {
		return errors.New(r.Message)
	}
	return nil
}

// State reads the router's EVPN state (frrstate.Commands) from the reloader.
func (c *Client) State(ctx context.Context) (frrstate.Router, error) {
	var st frrstate.Router
	err := c.get(ctx, "/state", &st)
	return st, err
}
