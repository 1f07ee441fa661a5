package controllers

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// yamlBlock is a fenced ```yaml block of a markdown file.
var yamlBlock = regexp.MustCompile("(?s)```yaml\n(.*?)```")

// TestDocsSnippetsAreValid: every object of ours (and FRR-K8s's) that the README,
// docs/ and config/samples show is accepted by the API server with the CRDs as
// they are (a server-side dry run), so a user who copies one gets no surprise.
// A block whose first line is "# rejected: TEXT" must be refused with TEXT.
func TestDocsSnippetsAreValid(t *testing.T) {
	requireAPI(t)
	ctx := context.Background()
	ns := "docs-snippets"
	if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	var blocks []struct{ where, text string }
	mds, _ := filepath.Glob("../docs/*.md")
	for _, f := range append(mds, "../README.md") {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range yamlBlock.FindAllStringSubmatch(string(b), -1) {
			blocks = append(blocks, struct{ where, text string }{filepath.Base(f) + " block " + strconv.Itoa(i+1), m[1]})
		}
	}
	samples, _ := filepath.Glob("../config/samples/*.yaml")
	for _, f := range samples {
		if b, err := os.ReadFile(f); err == nil && !strings.HasSuffix(f, "kustomization.yaml") {
			blocks = append(blocks, struct{ where, text string }{"config/samples/" + filepath.Base(f), string(b)})
		}
	}

	checked := 0
	for _, blk := range blocks {
		rejected, wantRejected := strings.CutPrefix(strings.SplitN(blk.text, "\n", 2)[0], "# rejected: ")
		for _, doc := range strings.Split(blk.text, "\n---\n") {
			var u unstructured.Unstructured
			if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
				t.Errorf("%s: not YAML: %v", blk.where, err)
				continue
			}
			group := u.GroupVersionKind().Group
			if group != "evpn.frrk8s.dev" && group != "frrk8s.metallb.io" {
				continue
			}
			u.SetNamespace(ns)
			err := k8s.Create(ctx, &u, client.DryRunAll)
			switch {
			case wantRejected && err == nil:
				t.Errorf("%s: %s %s was accepted; the docs say it is rejected with %q", blk.where, u.GetKind(), u.GetName(), rejected)
			case wantRejected && !strings.Contains(err.Error(), rejected):
				t.Errorf("%s: %s %s was rejected with %v; the docs say %q", blk.where, u.GetKind(), u.GetName(), err, rejected)
			case !wantRejected && err != nil:
				t.Errorf("%s: %s %s is refused by the API server: %v", blk.where, u.GetKind(), u.GetName(), err)
			}
			checked++
		}
	}
	if checked < 5 {
		t.Fatalf("checked %d objects: the docs' examples were not found", checked)
	}
	t.Logf("%d objects from %d YAML blocks checked", checked, len(blocks))
}
