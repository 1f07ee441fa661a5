// Command pause is the lab cluster's pod sandbox (registry.k8s.io/pause's job):
// it holds the pod's namespaces, reaps orphaned children, and exits on SIGTERM
// or SIGINT. Built statically into an image by hack/cluster/images.sh.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range sig {
		if s != syscall.SIGCHLD {
			return
		}
		for { // reap every child that has exited
			if pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
	}
}
