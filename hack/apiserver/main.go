// Command apiserver runs a local control plane for the demo and the lab: etcd and
// kube-apiserver (built by hack/build-k8s.sh) through controller-runtime's envtest,
// with our CRDs and FRR-K8s's (or the folders given) installed. It writes an admin kubeconfig, prints
// READY, and runs until interrupted.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

func main() {
	kubeconfig := flag.String("write-kubeconfig", "kubeconfig", "where to write the admin kubeconfig")
	crds := flag.String("crds", "config/crd/bases", "our CRD folder")
	others := flag.String("other-crds", "", "comma-separated folders of other projects' CRDs (default: FRR-K8s's, from its Go module)")
	flag.Parse()

	dirs := []string{*crds}
	if *others != "" {
		dirs = append(dirs, strings.Split(*others, ",")...)
	} else {
		frrK8s, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/metallb/frr-k8s").Output()
		if err != nil {
			fail("locating the frr-k8s module: %v", err)
		}
		dirs = append(dirs, filepath.Join(strings.TrimSpace(string(frrK8s)), "config", "crd", "bases"))
	}
	env := &envtest.Environment{CRDDirectoryPaths: dirs, ErrorIfCRDPathMissing: true}
	if _, err := env.Start(); err != nil {
		fail("starting etcd and kube-apiserver: %v", err)
	}
	defer func() { _ = env.Stop() }()

	user, err := env.ControlPlane.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		fail("adding the admin user: %v", err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		fail("rendering the kubeconfig: %v", err)
	}
	if err := os.WriteFile(*kubeconfig, kc, 0o600); err != nil {
		fail("writing %s: %v", *kubeconfig, err)
	}
	fmt.Println("READY kubeconfig=" + *kubeconfig)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "apiserver: "+format+"\n", args...)
	os.Exit(1)
}
