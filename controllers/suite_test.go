package controllers

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// The API-layer tests share one real kube-apiserver and etcd (envtest, binaries
// built from Go modules by hack/build-k8s.sh). Each test runs its own controller on
// its own pair of namespaces, so tests do not see each other's objects; Nodes are
// cluster-scoped, so each test selects only the nodes it labels.
var (
	testEnv *envtest.Environment
	testCfg *rest.Config
	k8s     client.Client // an uncached client acting as the user
)

func TestMain(m *testing.M) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		if os.Getenv("EVPN_REQUIRE_ALL_LAYERS") != "" {
			fmt.Println("KUBEBUILDER_ASSETS is not set but EVPN_REQUIRE_ALL_LAYERS is: run `make test`")
			os.Exit(1)
		}
		fmt.Println("SKIP API-layer tests: KUBEBUILDER_ASSETS is not set (make test-api builds the API server)")
		os.Exit(m.Run())
	}
	logf.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapLevel())))
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:        []string{filepath.Join("..", "config", "crd", "bases"), frrK8sCRDDir()},
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 2 * time.Minute,
		Scheme:                   Scheme(),
	}
	var err error
	if testCfg, err = testEnv.Start(); err != nil {
		fmt.Println("starting envtest:", err)
		os.Exit(1)
	}
	if k8s, err = client.New(testCfg, client.Options{Scheme: Scheme()}); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	code := m.Run()
	_ = testEnv.Stop()
	os.Exit(code)
}

func zapLevel() zapcore.Level {
	if os.Getenv("EVPN_TEST_VERBOSE") != "" {
		return zapcore.Level(-2)
	}
	return zapcore.ErrorLevel // keep test output readable
}

// requireAPI skips (with the reason) a test that needs the API server when none runs.
func requireAPI(t testing.TB) {
	t.Helper()
	if testCfg == nil {
		t.Skip("no API server: KUBEBUILDER_ASSETS is not set")
	}
}

// frrK8sCRDDir is FRR-K8s's CRD folder in the module cache.
func frrK8sCRDDir() string {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/metallb/frr-k8s").Output()
	if err != nil {
		panic(fmt.Sprintf("locating the frr-k8s module: %v", err))
	}
	return filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "bases")
}

// writeCounter counts the API writes a client makes, by verb and resource.
type writeCounter struct {
	mu     sync.Mutex
	counts map[string]int
	total  atomic.Int64
}

func newWriteCounter() *writeCounter { return &writeCounter{counts: map[string]int{}} }

func (w *writeCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if req.Method != http.MethodGet {
			w.mu.Lock()
			w.counts[req.Method+" "+resourceOf(req.URL.Path)]++
			w.mu.Unlock()
			w.total.Add(1)
		}
		return rt.RoundTrip(req)
	})
}

func (w *writeCounter) snapshot() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]int{}
	for k, v := range w.counts {
		out[k] = v
	}
	return out
}

func (w *writeCounter) reset() {
	w.mu.Lock()
	w.counts = map[string]int{}
	w.mu.Unlock()
	w.total.Store(0)
}

// resourceOf turns /apis/g/v/namespaces/ns/l3vnis/x/status into "l3vnis/status".
func resourceOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) > 0 && parts[0] == "api" {
		parts = parts[2:]
	} else if len(parts) > 2 {
		parts = parts[3:]
	}
	if len(parts) >= 2 && parts[0] == "namespaces" {
		parts = parts[2:]
	}
	switch len(parts) {
	case 0:
		return "?"
	case 1, 2:
		return parts[0]
	default:
		return parts[0] + "/" + parts[2]
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// controllerUnderTest is one running controller on its own namespaces.
type controllerUnderTest struct {
	ns, frrNS string
	writes    *writeCounter
	stop      func()
	// exited is closed when the manager stops, by stop or by itself.
	exited <-chan struct{}
}

var nsSeq atomic.Int64

// newNamespaces creates a fresh pair of namespaces for a test.
func newNamespaces(t testing.TB) (string, string) {
	t.Helper()
	n := nsSeq.Add(1)
	ns, frrNS := fmt.Sprintf("evpn-%d", n), fmt.Sprintf("frr-%d", n)
	for _, name := range []string{ns, frrNS} {
		if err := k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
			t.Fatalf("creating namespace %s: %v", name, err)
		}
	}
	return ns, frrNS
}

// startController runs the controller's manager against the test API server.
func startController(t testing.TB, ns, frrNS string) *controllerUnderTest {
	t.Helper()
	return startControllerOn(t, testCfg, ns, frrNS, nil)
}

// startControllerOn runs a controller against any API server, with options edited.
func startControllerOn(t testing.TB, apiCfg *rest.Config, ns, frrNS string, edit func(*ManagerOptions)) *controllerUnderTest {
	t.Helper()
	requireAPI(t)
	cfg := rest.CopyConfig(apiCfg)
	writes := newWriteCounter()
	// Any transport apiCfg already wraps (a test's outage) stays under the counter.
	cfg.Wrap(writes.wrap)
	opts := ManagerOptions{
		Namespace: ns, FRRK8sNamespace: frrNS, MetricsAddr: "0", ProbeAddr: "0", QPS: 1000, Burst: 2000, SkipNameValidation: true,
	}
	if edit != nil {
		edit(&opts)
	}
	mgr, err := NewManager(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			t.Errorf("manager: %v", err)
		}
	}()
	c := &controllerUnderTest{ns: ns, frrNS: frrNS, writes: writes, exited: done}
	var once sync.Once
	c.stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(c.stop)
	return c
}

// eventually retries check until it returns nil or the timeout passes.
func eventually(t testing.TB, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not reached within %s: %v", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
