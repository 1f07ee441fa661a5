// Command kubectl-evpn is the user's CLI, installed as a kubectl plugin (`kubectl
// evpn ...`, a krew manifest is in hack/krew/):
//
//	kubectl evpn status            one row per node x L3VNI, problems first; exit 1 when any
//	kubectl evpn describe node N   everything about one node, with the next step per problem
//	kubectl evpn describe l3vni N  everything about one L3VNI
//	kubectl evpn render -f ...     what a node would run, from manifests, without a cluster
//
// One CLI: render needs no cluster and the others read one, but a user looks for
// both under the same name.
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `usage:
  kubectl evpn status [-o table|wide|json|yaml] [--kubeconfig FILE] [--context NAME] [-n NAMESPACE]
  kubectl evpn describe node|l3vni NAME [--kubeconfig FILE] [--context NAME] [-n NAMESPACE]
  kubectl evpn render -f FILE [-f FILE...] --node NAME --node-index N [--node-labels k=v,...]
`

// exitError carries an exit code without a message (status reporting problems).
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit %d", int(e)) }

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	err := run(os.Args[1], os.Args[2:], os.Stdout)
	if code, ok := err.(exitError); ok {
		os.Exit(int(code))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubectl evpn %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func run(cmd string, args []string, out io.Writer) error {
	switch cmd {
	case "status":
		return status(args, out, isTerminal(out))
	case "describe":
		return describe(args, out)
	case "render":
		return render(args, out)
	case "-h", "--help", "help":
		fmt.Fprint(out, usage)
		return nil
	}
	fmt.Fprint(os.Stderr, usage)
	return exitError(2)
}

// isTerminal reports whether out is a character device, where colour helps.
func isTerminal(out io.Writer) bool {
	f, ok := out.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0 && os.Getenv("NO_COLOR") == ""
}
