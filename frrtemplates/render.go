package frrtemplates

import (
	"bytes"
	"embed"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strings"
	"text/template"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

// RouteMapAllowAll is the permissive route-map of the host sessions.
const RouteMapAllowAll = "allowall"

// tmpl is parsed once: rendering is on every reconcile of every node.
var tmpl = template.Must(template.New("frr.conf.tmpl").Funcs(template.FuncMap{
	"families":         families,
	"family":           family,
	"routeMapAllowAll": func() string { return RouteMapAllowAll },
}).ParseFS(templateFS, "templates/*.tmpl"))

// Render validates cfg and returns its frr.conf. The output is deterministic:
// VRFs, neighbors and route targets are sorted, so equal inputs give equal text
// and an unchanged configuration never causes a reload.
func Render(cfg Config) (string, error) {
	c, err := normalize(cfg)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	buf.Grow(512 + 640*len(c.VRFs))
	if err := tmpl.Execute(&buf, c); err != nil {
		return "", fmt.Errorf("rendering frr.conf: %w", err)
	}
	return dropBlankLines(buf.Bytes()), nil
}

// dropBlankLines removes empty lines left by template actions; "!" separates
// stanzas instead.
func dropBlankLines(b []byte) string {
	var out strings.Builder
	out.Grow(len(b))
	for line := range bytes.Lines(b) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		out.Write(line)
	}
	return out.String()
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
	sort.Slice(u.Neighbors, func(i, j int) bool { return less(u.Neighbors[i].Address, u.Neighbors[j].Address) })
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
			sort.Strings(*list)
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
		sort.Slice(v.HostNeighbors, func(i, j int) bool { return less(v.HostNeighbors[i].Address, v.HostNeighbors[j].Address) })
		out.VRFs = append(out.VRFs, v)
	}
	sort.Slice(out.VRFs, func(i, j int) bool { return out.VRFs[i].Name < out.VRFs[j].Name })
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

// less orders addresses IPv4 first, then numerically.
func less(a, b string) bool {
	return netip.MustParseAddr(a).Less(netip.MustParseAddr(b))
}

// family is "ipv4" or "ipv6" for a (validated) address.
func family(a string) string {
	if netip.MustParseAddr(a).Is4() {
		return "ipv4"
	}
	return "ipv6"
}

// families lists the address families of a VRF's host neighbors, ipv4 first.
func families(v VRF) []string {
	var has4, has6 bool
	for _, h := range v.HostNeighbors {
		if family(h.Address) == "ipv4" {
			has4 = true
		} else {
			has6 = true
		}
	}
	var out []string
	if has4 {
		out = append(out, "ipv4")
	}
	if has6 {
		out = append(out, "ipv6")
	}
	return out
}
