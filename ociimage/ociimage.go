// Package ociimage builds the project's container images without a container
// engine: a base root filesystem (a tar, such as mmdebstrap makes) and a layer of
// our own files become an image, written as an OCI archive (an OCI image layout in
// one tar: what `ctr images import` and `skopeo copy oci-archive:` read) or pushed
// to a registry. go-containerregistry does the OCI format; this package decides
// what goes in, and makes it reproducible: the same inputs give the same bytes,
// digests included (every time stamp is the Spec's Created, every owner root).
package ociimage

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Spec is one image.
type Spec struct {
	// Ref names the image, with its tag: quay.io/frr-k8s-evpn/router:0.1.0.
	Ref string
	// Base is a root filesystem tar, the image's first layer; "" for an image of
	// our files alone (static binaries).
	Base string
	// Files go into a layer of their own, above Base.
	Files      []File
	Entrypoint []string
	// User runs the entrypoint: "65532:65532" for a program that needs no root.
	User   string
	Env    []string
	Labels map[string]string
	// Created is the image's creation time and every time stamp in our layer.
	Created time.Time
}

// File is one file of our layer.
type File struct {
	// Path inside the image, absolute.
	Path string
	// Source is the file on this machine whose content goes in.
	Source string
	Mode   int64
}

// Build assembles the image a Spec describes.
func Build(s Spec) (v1.Image, error) {
	if _, err := name.ParseReference(s.Ref); err != nil {
		return nil, fmt.Errorf("image name %q: %w", s.Ref, err)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	var layers []v1.Layer
	if s.Base != "" {
		base, err := tarball.LayerFromFile(s.Base, tarball.WithMediaType(types.OCILayer))
		if err != nil {
			return nil, fmt.Errorf("base layer %s: %w", s.Base, err)
		}
		layers = append(layers, base)
	}
	if len(s.Files) > 0 {
		data, err := filesTar(s.Files, s.Created)
		if err != nil {
			return nil, err
		}
		ours, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		}, tarball.WithMediaType(types.OCILayer))
		if err != nil {
			return nil, fmt.Errorf("our layer: %w", err)
		}
		layers = append(layers, ours)
	}
	img, err := mutate.AppendLayers(img, layers...)
	if err != nil {
		return nil, fmt.Errorf("adding layers: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Entrypoint = s.Entrypoint
	cf.Config.User = s.User
	cf.Config.Env = s.Env
	cf.Config.Labels = s.Labels
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, err
	}
	// CreatedAt also stamps the history; after ConfigFile, which would reset it.
	return mutate.CreatedAt(img, v1.Time{Time: s.Created.UTC()})
}

// filesTar writes our layer: the files with their parent folders, in path order,
// owned by root and stamped with mtime.
func filesTar(files []File, mtime time.Time) ([]byte, error) {
	dirs := map[string]bool{}
	for _, f := range files {
		if !path.IsAbs(f.Path) {
			return nil, fmt.Errorf("%s: a path inside the image must be absolute", f.Path)
		}
		for d := path.Dir(f.Path); d != "/"; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	type entry struct {
		hdr    *tar.Header
		source string
	}
	var entries []entry
	for d := range dirs {
		entries = append(entries, entry{hdr: &tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(d, "/") + "/", Mode: 0o755}})
	}
	for _, f := range files {
		fi, err := os.Stat(f.Source)
		if err != nil {
			return nil, err
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%s: not a regular file", f.Source)
		}
		entries = append(entries, entry{hdr: &tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(f.Path, "/"), Mode: f.Mode, Size: fi.Size()}, source: f.Source})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].hdr.Name < entries[j].hdr.Name })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		e.hdr.ModTime, e.hdr.Format = mtime.UTC(), tar.FormatPAX
		if err := tw.WriteHeader(e.hdr); err != nil {
			return nil, err
		}
		if e.source == "" {
			continue
		}
		if err := copyFile(tw, e.source); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func copyFile(w io.Writer, source string) error {
	f, err := os.Open(source)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// refAnnotations name the image in an OCI layout's index: containerd's import
// reads the first, the OCI tools the second (the tag alone).
func refAnnotations(ref string) (map[string]string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, err
	}
	return map[string]string{"io.containerd.image.name": r.Name(), "org.opencontainers.image.ref.name": r.Identifier()}, nil
}

// WriteArchive writes img as an OCI archive at file, named ref, every entry of
// the tar stamped with mtime.
func WriteArchive(img v1.Image, ref, file string, mtime time.Time) error {
	ann, err := refAnnotations(ref)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp(filepath.Dir(file), ".oci-layout-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(ann)); err != nil {
		return fmt.Errorf("writing the OCI layout: %w", err)
	}
	tmp := file + ".tmp"
	if err := tarDir(dir, tmp, mtime); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, file)
}

// tarDir writes the folder dir as a tar at file, in path order.
func tarDir(dir, file string, mtime time.Time) error {
	out, err := os.Create(file)
	if err != nil {
		return err
	}
	defer out.Close()
	tw := tar.NewWriter(out)
	// WalkDir visits in lexical order: the tar's order does not depend on the
	// file system.
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		hdr := &tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, ModTime: mtime.UTC(), Format: tar.FormatPAX}
		if d.IsDir() {
			hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, hdr.Name+"/", 0o755
			return tw.WriteHeader(hdr)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		hdr.Typeflag, hdr.Size = tar.TypeReg, fi.Size()
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		return copyFile(tw, p)
	})
	if err != nil {
		return fmt.Errorf("archiving %s: %w", dir, err)
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return out.Close()
}

// ReadArchive reads the one image of an OCI archive and the name it carries.
func ReadArchive(file string) (v1.Image, string, error) {
	dir, err := os.MkdirTemp("", "oci-layout-")
	if err != nil {
		return nil, "", err
	}
	// The image's blobs are read lazily from dir: it stays until the process ends
	// (the archives are read by short-lived commands and tests).
	if err := untar(file, dir); err != nil {
		return nil, "", err
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", file, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, "", err
	}
	if len(m.Manifests) != 1 {
		return nil, "", fmt.Errorf("%s holds %d images, want 1", file, len(m.Manifests))
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		return nil, "", err
	}
	return img, m.Manifests[0].Annotations["io.containerd.image.name"], nil
}

func untar(file, dir string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		p := filepath.Join(dir, filepath.FromSlash(hdr.Name))
		if !strings.HasPrefix(p, filepath.Clean(dir)+string(os.PathSeparator)) {
			return fmt.Errorf("%s: entry %q leaves the archive", file, hdr.Name)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			out, err := os.Create(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: entry %q is neither a file nor a folder", file, hdr.Name)
		}
	}
}

// Push sends img to the registry that ref names, with the credentials of the
// usual places (~/.docker/config.json, as docker and crane read them).
func Push(img v1.Image, ref string) error {
	r, err := name.ParseReference(ref)
	if err != nil {
		return fmt.Errorf("image name %q: %w", ref, err)
	}
	if err := remote.Write(r, img, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return fmt.Errorf("pushing %s: %w", ref, err)
	}
	return nil
}
