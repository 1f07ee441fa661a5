// Command connectproxy lets the lab's kube-apiserver reach the kubelet in the qemu
// guest (kubectl logs, exec, port-forward). The guest's address 10.0.2.15 is behind
// qemu's user-mode NAT, so kube-apiserver's egress selector sends its node traffic
// as HTTP CONNECT over a unix socket to this proxy, which dials the address qemu
// forwards for it on this machine instead (-map GUEST=LOCAL).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// mappings is a repeatable -map FROM=TO flag.
type mappings map[string]string

func (m mappings) String() string { return fmt.Sprint(map[string]string(m)) }
func (m mappings) Set(v string) error {
	from, to, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("-map wants FROM=TO, got %q", v)
	}
	m[from] = to
	return nil
}

func main() {
	socket := flag.String("listen", "", "unix socket to serve on")
	routes := mappings{}
	flag.Var(routes, "map", "GUEST_HOST:PORT=LOCAL_HOST:PORT (repeatable); other targets are refused")
	flag.Parse()
	_ = os.Remove(*socket)
	l, err := net.Listen("unix", *socket)
	if err != nil {
		log.Fatal(err)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go serve(c, routes)
	}
}

// serve answers one CONNECT and then copies bytes both ways until either side closes.
func serve(c net.Conn, routes mappings) {
	defer c.Close()
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		log.Printf("reading the request: %v", err)
		return
	}
	to, ok := routes[req.Host]
	if req.Method != http.MethodConnect || !ok {
		log.Printf("refused %s %s", req.Method, req.Host)
		fmt.Fprintf(c, "HTTP/1.1 403 Forbidden\r\n\r\n")
		return
	}
	up, err := net.DialTimeout("tcp", to, 10*time.Second)
	if err != nil {
		log.Printf("dialing %s for %s: %v", to, req.Host, err)
		fmt.Fprintf(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n")
		return
	}
	defer up.Close()
	fmt.Fprintf(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, br); done <- struct{}{} }() // br: bytes already buffered go first
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
}
