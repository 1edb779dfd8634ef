# borgrun: run backups as transient systemd units.
# Everything works from a fresh clone as root; see README.md.

GO          ?= go
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Build output: bin/ unless OUT says otherwise (the tests build there).
OUT         ?= bin
BIN         := $(OUT)/borgrun

# make install: the usual PREFIX and DESTDIR.
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR  := $(PREFIX)/bin
MANDIR  := $(PREFIX)/share/man
DATADIR := $(PREFIX)/share
# Where each shell's packaging looks for completions.
BASHCOMP := $(DATADIR)/bash-completion/completions/borgrun
ZSHCOMP  := $(DATADIR)/zsh/vendor-completions/_borgrun
FISHCOMP := $(DATADIR)/fish/vendor_completions.d/borgrun.fish

# make deb: a native Debian version from git (v1.2.3 tags, else the date
# and commit), and the machine's architecture.
DEB_VERSION ?= $(shell v=$$(git describe --tags --match 'v[0-9]*' 2>/dev/null) && echo "$${v\#v}" | tr - + || \
	echo "0.0~git$$(git log -1 --format=%cd --date=format:%Y%m%d 2>/dev/null).$$(git rev-parse --short=12 HEAD 2>/dev/null)")
DEB_ARCH    ?= $(shell dpkg --print-architecture 2>/dev/null || $(GO) env GOARCH)
DEB         := $(OUT)/borgrun_$(DEB_VERSION)_$(DEB_ARCH).deb

# --version prints the commit Go stamps into the binary (vcs.revision,
# vcs.modified). Go finds the repository only where .git is a directory;
# in a git worktree (.git is a file) make passes the same two facts.
VCSFLAGS := $(shell [ -f .git ] && rev=$$(git rev-parse HEAD 2>/dev/null) && \
	echo "-X main.vcsRevision=$$rev -X main.vcsModified=$$(if [ -n "$$(git status --porcelain)" ]; then echo true; else echo false; fi)")

.DEFAULT_GOAL := help

.PHONY: help build man completions install uninstall deb deps debs roots test check bench demo fuzz clean

# Debian packages the tests use: the manager they boot, its bus, real borg
# and borgmatic for real backups, sshd and ip for remote repositories and
# remote managers.
# mmdebstrap builds the Debian roots of other suites that the tests boot too.
# systemd-container (nspawn, machined) boots containers inside the sandbox.
# man-db renders the man pages, bash-completion, zsh and fish run the
# completions, lintian checks make deb's package.
DEBS := systemd systemd-container dbus util-linux borgbackup borgmatic openssh-server openssh-client iproute2 mmdebstrap \
	man-db bash-completion zsh fish lintian

help: ## show this help
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

build: ## build bin/borgrun (static: CGO_ENABLED=0)
	CGO_ENABLED=0 $(GO) build -buildvcs=auto -ldflags '$(VCSFLAGS)' -o $(BIN) ./cmd/borgrun

man: build ## generate the man pages from the --help texts (bin/man)
	rm -rf $(OUT)/man && $(BIN) __man $(OUT)/man >/dev/null

completions: build ## generate the bash, zsh and fish completion scripts (bin/completions)
	mkdir -p $(OUT)/completions && for s in bash zsh fish; do $(BIN) completion $$s >$(OUT)/completions/$$s || exit 1; done

install: build man completions ## install the binary, man pages and completions (PREFIX=/usr/local, DESTDIR)
	install -D -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/borgrun
	install -d -m 0755 $(DESTDIR)$(MANDIR)/man1
	install -m 0644 $(OUT)/man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -D -m 0644 $(OUT)/completions/bash $(DESTDIR)$(BASHCOMP)
	install -D -m 0644 $(OUT)/completions/zsh $(DESTDIR)$(ZSHCOMP)
	install -D -m 0644 $(OUT)/completions/fish $(DESTDIR)$(FISHCOMP)

uninstall: build ## remove exactly what make install installed (same PREFIX, DESTDIR)
	rm -f $(DESTDIR)$(BINDIR)/borgrun $(DESTDIR)$(BASHCOMP) $(DESTDIR)$(ZSHCOMP) $(DESTDIR)$(FISHCOMP)
	for p in $$($(BIN) __man --list); do rm -f $(DESTDIR)$(MANDIR)/man1/$$p || exit 1; done

deb: build man completions ## build bin/borgrun_VERSION_ARCH.deb with dpkg-deb; lintian checks it if installed
	rm -rf $(OUT)/deb
	$(MAKE) --no-print-directory install DESTDIR=$(abspath $(OUT))/deb PREFIX=/usr >/dev/null
	GO="$(GO)" packaging/deb/mkdeb $(OUT)/deb $(DEB) $(DEB_VERSION) $(DEB_ARCH)
	@if command -v lintian >/dev/null; then lintian --fail-on error $(DEB); else echo "lintian is not installed: $(DEB) not checked"; fi

deps: debs roots ## install the Debian packages and build the roots the tests use (as root)

debs: ## install the Debian packages the tests use, if any is missing (as root)
	@missing=; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
		policy=; if [ ! -e /usr/sbin/policy-rc.d ]; then policy=/usr/sbin/policy-rc.d; \
			printf '#!/bin/sh\nexit 101\n' >$$policy; chmod +x $$policy; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
		rc=$$?; [ -z "$$policy" ] || rm -f $$policy; exit $$rc; fi

roots: debs ## build the missing Debian roots the tests boot (/var/cache/borgrun/roots; ~40 s)
	transient/transienttest/mkroot

test: deps ## unit and integration tests (-race), against a throwaway real systemd
	$(GO) test -race -count=1 -timeout 60m ./...

check: ## gofmt, go vet, staticcheck
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

bench: ## benchmarks: borgrun vs systemd-run side by side (table in cmd/borgrun/testdata/bench.md), props throughput
	BORGRUN_BENCH=1 $(GO) test -count=1 -timeout 20m -run '^TestBenchReport$$' ./cmd/borgrun -args -bench-out=$(CURDIR)/cmd/borgrun/testdata/bench.md
	@cat cmd/borgrun/testdata/bench.md
	$(GO) test -run '^$$' -bench . -benchtime 2s -count 1 ./props

# FUZZMIN bounds the minimizing of each new interesting input: Go's default
# (60 s each) spends a short run minimizing, with execs shown as 0/sec
# (golang/go#51484); that was FuzzParseFor's apparent stall.
FUZZMIN ?= 500x
fuzz: ## a short bounded run of every fuzz target
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 20s -fuzzminimizetime $(FUZZMIN) ./props
	$(GO) test -run '^$$' -fuzz '^FuzzParseFor$$' -fuzztime 20s -fuzzminimizetime $(FUZZMIN) ./props
	$(GO) test -run '^$$' -fuzz '^FuzzCalendar$$' -fuzztime 20s -fuzzminimizetime $(FUZZMIN) ./props
	$(GO) test -run '^$$' -fuzz '^FuzzCLI$$' -fuzztime 20s -fuzzminimizetime $(FUZZMIN) ./cmd/borgrun

demo: build ## schedule and run a sample backup end to end (in a throwaway systemd if needed)
	$(GO) test -c -o bin/demo.test ./cmd/borgrun
	BORGRUN_DEMO=1 BORGRUN_BIN=$(abspath $(BIN)) bin/demo.test -test.run '^TestDemo$$'

clean: ## remove build output
	rm -rf bin
