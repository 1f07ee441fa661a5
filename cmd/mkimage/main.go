// Command mkimage builds the project's images as OCI archives, without a container
// engine, and pushes them (hack/build-images.sh and `make images`/`make push` run it).
//
//	mkimage build -o OUT.oci.tar -ref NAME:TAG [-base ROOTFS.tar] [-file SRC=DST:MODE]...
//	              [-entrypoint PATH]... [-user UID:GID] [-env K=V]... [-label K=V]... [-epoch SECONDS]
//	mkimage push ARCHIVE REF       pushes an archive's image under REF
//	mkimage inspect ARCHIVE...     name, digest, size, labels
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/ociimage"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "build":
		err = build(os.Args[2:])
	case "push":
		if len(os.Args) != 4 {
			usage()
		}
		err = push(os.Args[2], os.Args[3])
	case "inspect":
		err = inspect(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: mkimage build -o OUT -ref REF [flags] | push ARCHIVE REF | inspect ARCHIVE...")
	os.Exit(2)
}

// list is a repeatable flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func build(args []string) error {
	fs := flag.NewFlagSet("build", flag.ExitOnError)
	out := fs.String("o", "", "the OCI archive to write")
	var s ociimage.Spec
	fs.StringVar(&s.Ref, "ref", "", "the image's name and tag")
	fs.StringVar(&s.Base, "base", "", "a root filesystem tar, the first layer")
	fs.StringVar(&s.User, "user", "", "the user the entrypoint runs as")
	epoch := fs.Int64("epoch", 0, "creation time and every time stamp, in seconds since 1970 (SOURCE_DATE_EPOCH)")
	var files, entrypoint, env, labels list
	fs.Var(&files, "file", "SRC=DST:MODE, a file of ours (repeatable)")
	fs.Var(&entrypoint, "entrypoint", "one word of the entrypoint (repeatable)")
	fs.Var(&env, "env", "K=V (repeatable)")
	fs.Var(&labels, "label", "K=V (repeatable)")
	fs.Parse(args)
	if *out == "" || s.Ref == "" {
		return fmt.Errorf("build needs -o and -ref")
	}
	for _, f := range files {
		src, rest, ok1 := strings.Cut(f, "=")
		dst, mode, ok2 := strings.Cut(rest, ":")
		m, err := strconv.ParseInt(mode, 8, 32)
		if !ok1 || !ok2 || err != nil {
			return fmt.Errorf("-file %q: want SRC=DST:MODE (octal)", f)
		}
		s.Files = append(s.Files, ociimage.File{Path: dst, Source: src, Mode: m})
	}
	s.Labels = map[string]string{}
	for _, l := range labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			return fmt.Errorf("-label %q: want K=V", l)
		}
		s.Labels[k] = v
	}
	s.Entrypoint, s.Env, s.Created = entrypoint, env, time.Unix(*epoch, 0)
	img, err := ociimage.Build(s)
	if err != nil {
		return err
	}
	return ociimage.WriteArchive(img, s.Ref, *out, s.Created)
}

func push(archive, ref string) error {
	img, _, err := ociimage.ReadArchive(archive)
	if err != nil {
		return err
	}
	if err := ociimage.Push(img, ref); err != nil {
		return err
	}
	d, _ := img.Digest()
	fmt.Printf("%s@%s\n", ref, d)
	return nil
}

func inspect(archives []string) error {
	for _, a := range archives {
		img, ref, err := ociimage.ReadArchive(a)
		if err != nil {
			return err
		}
		d, err := img.Digest()
		if err != nil {
			return err
		}
		layers, err := img.Layers()
		if err != nil {
			return err
		}
		var size int64
		for _, l := range layers {
			n, err := l.Size()
			if err != nil {
				return err
			}
			size += n
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return err
		}
		var labels []string
		for k, v := range cf.Config.Labels {
			labels = append(labels, k+"="+v)
		}
		sort.Strings(labels)
		fmt.Printf("%s\n  digest %s, %d layers, %.1f MB compressed, user %q\n  %s\n", ref, d, len(layers), float64(size)/1e6, cf.Config.User, strings.Join(labels, "\n  "))
	}
	return nil
}
