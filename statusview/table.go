package statusview

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// ANSI colours for a terminal. Only the last column is coloured: tabwriter counts
// escape sequences as width, and the last column is not aligned.
const (
	red   = "\x1b[31m"
	reset = "\x1b[0m"
)

// WriteTable prints the rows as kubectl prints a list: one header, aligned
// columns. Wide adds the generations, the speaker, the router leg's address and
// the next step; colour paints problems red.
func WriteTable(w io.Writer, rows []Row, wide, colour bool) error {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	head := []string{"NODE", "L3VNI", "VNI", "VRF", "READY", "HOST-SESSION", "FABRIC", "TYPE5-IN/OUT", "VTEPS", "FRR-K8S", "RELOAD"}
	if wide {
		head = append(head, "GENERATION", "SPEAKER", "ROUTER-LEG")
	}
	head = append(head, "PROBLEM")
	if wide {
		head = append(head, "NEXT")
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, r := range rows {
		cells := []string{dash(r.Node), r.L3VNI, vni(r.VNI), dash(r.VRF), yesNo(r.Ready), hostCell(r), dash(r.Fabric), type5Cell(r), vtepsCell(r), frrK8sCell(r), dash(r.RouterReload)}
		if wide {
			cells = append(cells, generationCell(r), dash(r.Speaker), dash(r.HostPeer))
		}
		problem := dash(r.Problem)
		if colour && r.Problem != "" && !wide {
			problem = red + problem + reset
		}
		cells = append(cells, problem)
		if wide {
			next := dash(r.Next)
			if colour && r.Problem != "" {
				next = red + next + reset
			}
			cells = append(cells, next)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func vni(v int32) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprint(v)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// hostCell is the host session's state; a speaker other than FRR-K8s is not
// visible to the API, which the cell says instead of a blank.
func hostCell(r Row) string {
	switch {
	case r.Node == "":
		return "-"
	case r.Speaker == SpeakerOther:
		return "(not FRR-K8s)"
	}
	return dash(r.HostSession)
}

// frrK8sCell shortens a failure to "failed": the PROBLEM column holds its text.
func frrK8sCell(r Row) string {
	if r.FRRK8s == "" || r.FRRK8s == "success" {
		return dash(r.FRRK8s)
	}
	return "failed"
}

// type5Cell is "received/advertised" for the L3VNI's VRF.
func type5Cell(r Row) string {
	if r.EVPN == nil {
		return "-"
	}
	return fmt.Sprintf("%d/%d", r.EVPN.Type5Received, r.EVPN.Type5Advertised)
}

// vtepsCell counts the remote VTEPs the VRF sends VXLAN to.
func vtepsCell(r Row) string {
	if r.EVPN == nil {
		return "-"
	}
	return fmt.Sprint(len(r.EVPN.RemoteVTEPs))
}

func generationCell(r Row) string {
	if r.Node == "" {
		if r.Generation == 0 {
			return "-"
		}
		return fmt.Sprint(r.Generation)
	}
	return fmt.Sprintf("%d/%d", r.NodeGeneration, r.Generation)
}
