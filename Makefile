# frr-k8s-evpn. `make test` runs every test layer; `make test-unit` is the fast loop.
SHELL := /usr/bin/env bash
CACHE ?= $(CURDIR)/.cache
CONTROLLER_GEN_VERSION ?= v0.23.0
CONTROLLER_GEN := $(CACHE)/tools/controller-gen-$(CONTROLLER_GEN_VERSION)
HELM_VERSION ?= v4.3.2
HELM := $(CACHE)/tools/helm-$(HELM_VERSION)
K8S_ASSETS = $(shell hack/build-k8s.sh)
# The pinned FRR (build/frr/version) every FRR layer runs: tests, the VM, the lab.
# Exported to the targets that run FRR, so that their go test finds it (frrinstance).
test test-api test-vm test-lab test-lab2 test-restarts bench fuzz demo: export EVPN_FRR = $(shell hack/frr/rootfs.sh)
GO_PKGS := ./...

.PHONY: all build test test-unit test-api test-vm test-lab test-lab2 test-restarts bench fuzz manifests generate lint demo clean-cache tools images push

all: build

build:
	go build -o bin/ ./cmd/...

## Images ----------------------------------------------------------------------

VERSION := $(shell cat VERSION)
REGISTRY ?= quay.io/frr-k8s-evpn

images: ## controller, nodeplumber and router as OCI archives in .cache/images/$(VERSION)/
	IMAGE_REGISTRY=$(REGISTRY) hack/build-images.sh

push: images ## push the images to REGISTRY (make push REGISTRY=registry.example.com/frr-k8s-evpn)
	for i in controller nodeplumber router; do \
	  go run ./cmd/mkimage push $(CACHE)/images/$(VERSION)/$$i.oci.tar $(REGISTRY)/$$i:$(VERSION) || exit 1; done

## Code generation -----------------------------------------------------------

$(CONTROLLER_GEN):
	mkdir -p $(CACHE)/tools/gobin
	GOBIN=$(CACHE)/tools/gobin go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_GEN_VERSION)
	mv $(CACHE)/tools/gobin/controller-gen $@

$(HELM):
	mkdir -p $(CACHE)/tools/gobin
	GOBIN=$(CACHE)/tools/gobin go install helm.sh/helm/v4/cmd/helm@$(HELM_VERSION)
	mv $(CACHE)/tools/gobin/helm $@

generate: $(CONTROLLER_GEN) ## deepcopy functions of api/
	$(CONTROLLER_GEN) object paths=./api/...

manifests: $(CONTROLLER_GEN) $(HELM) ## CRDs from the markers, into config/ and the chart; config/ from the chart; docs/api.md
	$(CONTROLLER_GEN) crd paths=./api/... output:crd:artifacts:config=config/crd/bases
	cp config/crd/bases/*.yaml charts/frr-k8s-evpn/crds/
	HELM=$(HELM) hack/render-chart.sh
	go run ./hack/apidocs

tools: $(CONTROLLER_GEN) $(HELM) ## everything the tests need, built once into .cache (and Debian's FRR)
	hack/install-deps.sh
	hack/frr/rootfs.sh >/dev/null
	hack/build-k8s.sh >/dev/null
	hack/build-lab.sh >/dev/null

## Tests -----------------------------------------------------------------------

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...

test-unit: ## pure logic, no API server
	go test -short $(GO_PKGS)

test-api: tools ## the controller against a real kube-apiserver and etcd
	KUBEBUILDER_ASSETS=$(K8S_ASSETS) CONTROLLER_GEN=$(CONTROLLER_GEN) HELM=$(HELM) go test -count=1 ./controllers/... ./api/... ./config/...

# Packages whose tests need a VRF-capable kernel: they also run in the VM.
VM_PKGS := ./nodeplumber/

test-vm: ## the VRF-dependent packages inside a qemu guest with Debian's kernel
	hack/vm/setup.sh >/dev/null
	EVPN_REQUIRE_ALL_LAYERS=1 go test -count=1 -p 1 -exec $(CURDIR)/hack/vm/vmexec.sh $(VM_PKGS)

test-lab: tools ## the lab: a real cluster, a kubelet in the VM runs our images, FRR-K8s's and MetalLB's, installed with their charts (see README)
	hack/build-k8s.sh node >/dev/null
	e2e/cluster/run.sh

test-lab2: tools ## the lab with two nodes: test-lab's steps, then node2 (a second VM, BIRD its host speaker) joins: pods across nodes, a second L3VNI, node2 deleted and back (about 50 min alone; not in `make test`, see README)
	hack/build-k8s.sh node >/dev/null
	LAB_NODES=2 e2e/cluster/run.sh

test-restarts: tools ## the restart table: what each fault costs the data plane, our programs run as processes beside FRR-K8s and MetalLB (docs/restarts.md)
	e2e/lab/run.sh

test: lint tools ## every layer: unit, API, FRR, netns on this kernel, the images, the VM, the restart table, then the lab
	@# -p 1: two API servers, FRR daemons and BGP timers on 2 cores at once make
	@# start-up timeouts flaky; one package at a time costs about 30 s.
	KUBEBUILDER_ASSETS=$(K8S_ASSETS) CONTROLLER_GEN=$(CONTROLLER_GEN) HELM=$(HELM) EVPN_REQUIRE_ALL_LAYERS=1 go test -count=1 -p 1 $(GO_PKGS)
	$(MAKE) images
	$(MAKE) test-vm
	$(MAKE) test-restarts
	$(MAKE) test-lab

bench: tools ## benchmarks; the report goes to .cache/bench/report.txt
	mkdir -p $(CACHE)/bench
	{ echo "# frr-k8s-evpn benchmarks, $$(date -u +%FT%TZ), $$(nproc) CPUs, $$(go version | cut -d' ' -f3)"; \
	  echo "## controller: 1000 nodes, 100 L3VNIs, real API server (one run)"; \
	  KUBEBUILDER_ASSETS=$(K8S_ASSETS) go test -run '^$$' -bench . -benchtime 1x -count 1 ./controllers/ 2>&1 | grep -v '^{'; \
	  echo "## render: frr.conf for 1, 100 and 1000 L3VNIs on one node"; \
	  go test -run '^$$' -bench . -benchmem -count 3 ./frrtemplates/; \
	  echo "## frrstate: one read of the router's EVPN state parsed, against the floor (json.Valid of the same bytes)"; \
	  go test -run '^$$' -bench . -benchmem -count 3 ./frrstate/; \
	  echo "## reload through the reloader on FRR $$(cat $(EVPN_FRR)/debian-version), 1, 50 and 200 VRFs: full (frr-reload.py), add one, remove one, no-op; one read of FRR's EVPN state against vtysh"; \
	  go test -run '^$$' -bench . -benchtime 3x -count 1 ./frrreload/; \
	  echo "## the same in the VM (qemu TCG), where the VRFs exist (one iteration each: a full reload of 200 VRFs takes minutes there)"; \
	  hack/vm/setup.sh >/dev/null; \
	  TIMEOUT=5400 go test -run '^$$' -bench . -benchtime 1x -count 1 -p 1 -timeout 90m -exec $(CURDIR)/hack/vm/vmexec.sh ./frrreload/; \
	  echo "## plumber kernel work in the VM (qemu TCG) vs the same ip commands in ip -batch"; \
	  hack/vm/setup.sh >/dev/null; \
	  go test -run '^$$' -bench Kernel -benchtime 1x -count 1 -p 1 -exec $(CURDIR)/hack/vm/vmexec.sh ./nodeplumber/; \
	  echo "## end-to-end lab in the VM (qemu TCG): convergence and ping loss (100 ms interval)"; \
	  LAB_FIGURES=$(CACHE)/bench/lab-figures.txt e2e/lab/run.sh >$(CACHE)/bench/lab.log 2>&1 && cat $(CACHE)/bench/lab-figures.txt \
	    || { echo "the lab failed: $(CACHE)/bench/lab.log"; tail -30 $(CACHE)/bench/lab.log; }; \
	} 2>&1 | tee $(CACHE)/bench/report.txt

fuzz: tools ## fuzz the FRR renderer, then admission + acceptance + FRR's parser, a minute each (make test runs the seeds)
	go test -run '^$$' -fuzz FuzzRender -fuzztime 60s ./frrtemplates
	KUBEBUILDER_ASSETS=$(K8S_ASSETS) EVPN_REQUIRE_ALL_LAYERS=1 go test -run '^$$' -fuzz FuzzAdmittedObjectsRender -fuzztime 60s -parallel 1 ./controllers

demo: test-lab ## the lab, told as a story: helm install, kubectl apply, to HOST1 reaching a Service over VXLAN (see README)

clean-cache:
	rm -rf $(CACHE)
