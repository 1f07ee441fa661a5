package frrtemplates

import (
	"bytes"
	"embed"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

// tmpl is parsed once: rendering is on every reconcile of every node. The
// templates call no functions: everything they print is precomputed in the views
// below, because function calls dominate text/template's cost.
var tmpl = template.Must(template.New("frr.conf").ParseFS(templateFS, "templates/*.tmpl"))

// underlayView and vrfView repeat their model's fields instead of embedding it:
// text/template looks fields up by name, and on a struct with embedded fields that
// lookup allocates, which made it the largest cost of rendering.
type underlayView struct {
	ASN       uint32
	RouterID  string
	VTEP      string
	Neighbors []Neighbor
	// IPv4Neighbors carry the VTEP route (ipv4 unicast).
	IPv4Neighbors []Neighbor
}

// vrfView holds text only, as words: the VRF stanzas are the bulk of a large
// configuration, and printing a plain string or number field makes text/template
// copy it into a new interface value, one allocation per field printed.
type vrfView struct {
	Name      word
	VNI       word
	ASN       word
	RouterID  word
	RD        word
	ImportRTs []word
	ExportRTs []word
	// HostNeighbors are all host legs; Families the same, grouped by family.
	HostNeighbors []hostView
	Families      []familyView
}

type hostView struct {
	Address word
	ASN     word
}

// familyView is one address family of a VRF and its host neighbors.
type familyView struct {
	Name      word // "ipv4" or "ipv6"
	HostBits  word // "32" or "128": a host leg's own prefix length
	Neighbors []hostView
}

// word is text for a template. Its pointer is a fmt.Stringer, so text/template
// prints an addressable word through its address, without copying it.
type word string

func (w *word) String() string { return string(*w) }

func words(in []string) []word {
	out := make([]word, len(in))
	for i, s := range in {
		out[i] = word(s)
	}
	return out
}

// Render validates cfg and returns its frr.conf. The output is deterministic:
// VRFs, neighbors and route targets are sorted, so equal inputs give equal text
// and an unchanged configuration never causes a reload.
//
// The file is, in order: header.tmpl; "vrfdecl" (vrf.tmpl) for every VRF, because
// FRR must know a VRF's VNI before any BGP instance uses it; underlay.tmpl; "vrf"
// for every VRF; routemaps.tmpl. Everything is executed into one buffer.
func Render(cfg Config) (string, error) {
	if cfg.Underlay.ASN == 0 && len(cfg.Underlay.Neighbors) == 0 && len(cfg.VRFs) == 0 {
		// No Underlay selects the node: the router runs no BGP at all, which is
		// also how a node leaves the fabric.
		var buf bytes.Buffer
		if err := tmpl.ExecuteTemplate(&buf, "header", nil); err != nil {
			return "", fmt.Errorf("rendering frr.conf (header): %w", err)
		}
		buf.WriteByte('\n')
		return buf.String(), nil
	}
	c, err := normalize(cfg)
	if err != nil {
		return "", err
	}
	vrfs := make([]*vrfView, len(c.VRFs))
	for i, v := range c.VRFs {
		vrfs[i] = vrfViewOf(v)
	}
	var buf bytes.Buffer
	buf.Grow(1024 + 560*len(c.VRFs))
	exec := func(name string, data any) {
		if err == nil {
			if err = tmpl.ExecuteTemplate(&buf, name, data); err != nil {
				err = fmt.Errorf("rendering frr.conf (%s): %w", name, err)
			}
			buf.WriteByte('\n')
		}
	}
	exec("header", nil)
	for _, v := range vrfs {
		exec("vrfdecl", v)
	}
	exec("underlay", underlayOf(c.Underlay))
	for _, v := range vrfs {
		exec("vrf", v)
	}
	exec("routemaps", len(vrfs) > 0)
	if err != nil {
		return "", err
	}
	return string(dropBlankLines(buf.Bytes())), nil
}

// dropBlankLines removes, in place, the empty lines left by template actions;
// "!" separates stanzas instead.
func dropBlankLines(b []byte) []byte {
	out := b[:0]
	for len(b) > 0 {
		end := bytes.IndexByte(b, '\n') + 1
		if end == 0 {
			end = len(b)
		}
		if line := b[:end]; len(bytes.TrimSpace(line)) > 0 {
			out = append(out, line...)
		}
		b = b[end:]
	}
	return out
}

var (
	// ifName is a Linux interface (VRF) name: FRR reads it as one word.
	ifName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$`)
	// rt is a route target or distinguisher: ASN:NN or IPv4:NN.
	rt = regexp.MustCompile(`^([0-9]{1,10}|[0-9]{1,3}(\.[0-9]{1,3}){3}):[0-9]{1,10}$`)
	// password is one word of printable ASCII: FRR takes the rest of the line.
	password = regexp.MustCompile(`^[!-~]{1,80}$`)
)

// normalize validates every field that reaches a template and returns a sorted
// copy with addresses in canonical form.
func normalize(in Config) (Config, error) {
	var out Config
	u := in.Underlay
	if u.ASN == 0 {
		return out, fmt.Errorf("underlay: ASN must not be 0")
	}
	var err error
	if u.RouterID, err = addr4(u.RouterID); err != nil {
		return out, fmt.Errorf("underlay router ID: %w", err)
	}
	if u.VTEP, err = addr4(u.VTEP); err != nil {
		return out, fmt.Errorf("underlay VTEP: %w", err)
	}
	u.Neighbors = slices.Clone(u.Neighbors)
	seen := map[string]bool{}
	for i := range u.Neighbors {
		n := &u.Neighbors[i]
		if n.Address, err = addr(n.Address); err != nil {
			return out, fmt.Errorf("underlay neighbor %d: %w", i, err)
		}
		if seen[n.Address] {
			return out, fmt.Errorf("underlay neighbor %s is listed twice", n.Address)
		}
		seen[n.Address] = true
		if n.ASN == 0 {
			return out, fmt.Errorf("underlay neighbor %s: ASN must not be 0", n.Address)
		}
		if n.Password != "" && !password.MatchString(n.Password) {
			return out, fmt.Errorf("underlay neighbor %s: the password must be 1 to 80 printable ASCII characters without spaces", n.Address)
		}
		if n.HoldSeconds > 0 && (n.HoldSeconds < 3 || n.HoldSeconds > 65535 || n.KeepaliveSeconds > n.HoldSeconds) {
			return out, fmt.Errorf("underlay neighbor %s: hold time %d s must be 3-65535 and not below the keepalive %d s", n.Address, n.HoldSeconds, n.KeepaliveSeconds)
		}
	}
	slices.SortFunc(u.Neighbors, func(a, b Neighbor) int { return compareAddr(a.Address, b.Address) })
	out.Underlay = u

	names, vnis := map[string]bool{}, map[uint32]bool{}
	for _, v := range in.VRFs {
		if !ifName.MatchString(v.Name) {
			return out, fmt.Errorf("VRF %q: a name is 1-15 letters, digits, '_', '.' or '-'", v.Name)
		}
		if names[v.Name] || vnis[v.VNI] {
			return out, fmt.Errorf("VRF %s (VNI %d): name or VNI used twice", v.Name, v.VNI)
		}
		names[v.Name], vnis[v.VNI] = true, true
		if v.VNI == 0 || v.VNI > 1<<24-1 {
			return out, fmt.Errorf("VRF %s: VNI %d is not in 1-16777215", v.Name, v.VNI)
		}
		if v.ASN == 0 {
			return out, fmt.Errorf("VRF %s: ASN must not be 0", v.Name)
		}
		if v.RouterID, err = addr4(v.RouterID); err != nil {
			return out, fmt.Errorf("VRF %s router ID: %w", v.Name, err)
		}
		if v.RD != "" && !rt.MatchString(v.RD) {
			return out, fmt.Errorf("VRF %s: route distinguisher %q is not ASN:NN or IPv4:NN", v.Name, v.RD)
		}
		for _, list := range []*[]string{&v.ImportRTs, &v.ExportRTs} {
			*list = slices.Clone(*list)
			for _, r := range *list {
				if !rt.MatchString(r) {
					return out, fmt.Errorf("VRF %s: route target %q is not ASN:NN or IPv4:NN", v.Name, r)
				}
			}
			slices.Sort(*list)
			*list = slices.Compact(*list)
		}
		if len(v.HostNeighbors) == 0 {
			return out, fmt.Errorf("VRF %s: no host neighbor", v.Name)
		}
		v.HostNeighbors = slices.Clone(v.HostNeighbors)
		for i := range v.HostNeighbors {
			h := &v.HostNeighbors[i]
			if h.Address, err = addr(h.Address); err != nil {
				return out, fmt.Errorf("VRF %s host neighbor: %w", v.Name, err)
			}
			if h.ASN == 0 {
				return out, fmt.Errorf("VRF %s host neighbor %s: ASN must not be 0", v.Name, h.Address)
			}
		}
		slices.SortFunc(v.HostNeighbors, func(a, b HostNeighbor) int { return compareAddr(a.Address, b.Address) })
		out.VRFs = append(out.VRFs, v)
	}
	slices.SortFunc(out.VRFs, func(a, b VRF) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func addr(s string) (string, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return "", fmt.Errorf("%q is not an IP address", s)
	}
	return a.String(), nil
}

func addr4(s string) (string, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return "", fmt.Errorf("%q is not an IPv4 address", s)
	}
	return a.String(), nil
}

// compareAddr orders canonical addresses IPv4 first, then numerically.
func compareAddr(a, b string) int {
	return netip.MustParseAddr(a).Compare(netip.MustParseAddr(b))
}

// is4 tells a canonical IPv4 address from an IPv6 one.
func is4(a string) bool { return !strings.Contains(a, ":") }

// underlayOf groups a normalized underlay's neighbors for the template.
func underlayOf(u Underlay) underlayView {
	v := underlayView{ASN: u.ASN, RouterID: u.RouterID, VTEP: u.VTEP, Neighbors: u.Neighbors}
	for _, n := range u.Neighbors {
		if is4(n.Address) {
			v.IPv4Neighbors = append(v.IPv4Neighbors, n)
		}
	}
	return v
}

// vrfViewOf turns a normalized VRF into words, its host neighbors grouped by
// address family.
func vrfViewOf(vrf VRF) *vrfView {
	vv := &vrfView{
		Name: word(vrf.Name), VNI: word(strconv.FormatUint(uint64(vrf.VNI), 10)),
		ASN: word(strconv.FormatUint(uint64(vrf.ASN), 10)), RouterID: word(vrf.RouterID), RD: word(vrf.RD),
		ImportRTs: words(vrf.ImportRTs), ExportRTs: words(vrf.ExportRTs),
		HostNeighbors: make([]hostView, len(vrf.HostNeighbors)),
	}
	var v4, v6 []hostView
	for i, h := range vrf.HostNeighbors {
		hv := hostView{Address: word(h.Address), ASN: word(strconv.FormatUint(uint64(h.ASN), 10))}
		vv.HostNeighbors[i] = hv
		if is4(h.Address) {
			v4 = append(v4, hv)
		} else {
			v6 = append(v6, hv)
		}
	}
	if len(v4) > 0 {
		vv.Families = append(vv.Families, familyView{Name: "ipv4", HostBits: "32", Neighbors: v4})
	}
	if len(v6) > 0 {
		vv.Families = append(vv.Families, familyView{Name: "ipv6", HostBits: "128", Neighbors: v6})
	}
	return vv
}
