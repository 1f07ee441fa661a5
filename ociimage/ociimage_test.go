package ociimage

import (
	"archive/tar"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

var epoch = time.Unix(1764806400, 0)

// spec is a small image: a base tar with /etc/os-release and two files of ours.
func spec(t *testing.T) Spec {
	t.Helper()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := filepath.Join(dir, "rootfs.tar")
	f, err := os.Create(base)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	content := "ID=debian\n"
	if err := tw.WriteHeader(&tar.Header{Name: "etc/os-release", Mode: 0o644, Size: int64(len(content)), ModTime: epoch}); err != nil {
		t.Fatal(err)
	}
	io.WriteString(tw, content)
	tw.Close()
	f.Close()
	return Spec{
		Ref:  "quay.io/frr-k8s-evpn/router:0.1.0",
		Base: base,
		Files: []File{
			{Path: "/usr/local/bin/reloader", Source: write("reloader", "#!/bin/true\n"), Mode: 0o755},
			{Path: "/etc/frr/daemons", Source: write("daemons", "zebra=yes\n"), Mode: 0o644},
		},
		Entrypoint: []string{"/usr/local/bin/router-start"},
		User:       "0",
		Labels:     map[string]string{"org.opencontainers.image.version": "0.1.0", "org.opencontainers.image.revision": "abc"},
		Created:    epoch,
	}
}

func archive(t *testing.T, s Spec) (file string, sum string) {
	t.Helper()
	img, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	file = filepath.Join(t.TempDir(), "image.oci.tar")
	if err := WriteArchive(img, s.Ref, file, s.Created); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return file, fmt.Sprintf("%x", sha256.Sum256(data))
}

// The same inputs give the same archive, byte for byte; another time stamp
// gives another.
func TestArchivesAreReproducible(t *testing.T) {
	s := spec(t)
	_, a := archive(t, s)
	_, b := archive(t, s)
	if a != b {
		t.Fatalf("two builds of the same spec differ: %s, %s", a, b)
	}
	s.Created = epoch.Add(time.Second)
	if _, c := archive(t, s); c == a {
		t.Fatal("another creation time gave the same archive: the time stamp is not in it")
	}
}

// What is read back from the archive is the image described: its name, its
// configuration, both layers with our files' modes and time stamps.
func TestArchiveRoundTrip(t *testing.T) {
	s := spec(t)
	file, _ := archive(t, s)
	img, ref, err := ReadArchive(file)
	if err != nil {
		t.Fatal(err)
	}
	if ref != s.Ref {
		t.Errorf("name in the archive = %q, want %q", ref, s.Ref)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cf.Config.Entrypoint, " "); got != "/usr/local/bin/router-start" {
		t.Errorf("entrypoint = %q", got)
	}
	if cf.Config.User != "0" || cf.Config.Labels["org.opencontainers.image.revision"] != "abc" || cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("config: user %q, labels %v, platform %s/%s", cf.Config.User, cf.Config.Labels, cf.OS, cf.Architecture)
	}
	if !cf.Created.Time.Equal(epoch) {
		t.Errorf("created = %v, want %v", cf.Created.Time, epoch)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != "application/vnd.oci.image.manifest.v1+json" || len(m.Layers) != 2 {
		t.Fatalf("manifest: %s with %d layers, want an OCI manifest with 2", m.MediaType, len(m.Layers))
	}
	layers, _ := img.Layers()
	if got := entries(t, layers[0]); got != "etc/os-release 644" {
		t.Errorf("base layer = %q", got)
	}
	want := "etc/ 755; etc/frr/ 755; etc/frr/daemons 644; usr/ 755; usr/local/ 755; usr/local/bin/ 755; usr/local/bin/reloader 755"
	if got := entries(t, layers[1]); got != want {
		t.Errorf("our layer =\n %q\nwant\n %q", got, want)
	}
}

// entries lists a layer's paths and modes, and fails on an entry not owned by
// root or not stamped with epoch.
func entries(t *testing.T, l v1.Layer) string {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var out []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(epoch) {
			t.Errorf("%s: owner %d:%d, mtime %v", h.Name, h.Uid, h.Gid, h.ModTime)
		}
		out = append(out, fmt.Sprintf("%s %o", h.Name, h.Mode))
	}
	return strings.Join(out, "; ")
}

// Push sends the image to a registry (go-containerregistry's own registry
// server), where it is found under its name with the same digest.
func TestPush(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	file, _ := archive(t, spec(t))
	img, _, err := ReadArchive(file)
	if err != nil {
		t.Fatal(err)
	}
	ref := strings.TrimPrefix(srv.URL, "http://") + "/frr-k8s-evpn/router:0.1.0"
	if err := Push(img, ref); err != nil {
		t.Fatal(err)
	}
	r, _ := name.ParseReference(ref)
	got, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if d, _ := got.Digest(); d != want {
		t.Fatalf("registry has %s, pushed %s", d, want)
	}
}

func TestBadSpecs(t *testing.T) {
	s := spec(t)
	s.Ref = "Not A Name"
	if _, err := Build(s); err == nil || !strings.Contains(err.Error(), "image name") {
		t.Errorf("a bad name: %v", err)
	}
	s = spec(t)
	s.Files[0].Path = "usr/bin/x"
	if _, err := Build(s); err == nil || !strings.Contains(err.Error(), "absolute") {
		t.Errorf("a relative path: %v", err)
	}
}
