// Command hello is the lab cluster's web workload: it answers every HTTP request
// on :8080 with its pod's name, so a client behind the fabric can tell that its
// request went through MetalLB's Service IP, the router's VRF and kube-proxy to
// this pod. Built statically into an image by e2e/cluster/run.sh.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
)

func main() {
	name, _ := os.Hostname()
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "hello from %s\n", name)
	})
	log.Fatal(http.ListenAndServe(":8080", nil))
}
