package transienttest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Suite names a Debian suite whose root the harness can boot, so that tests
// run against the systemd versions users run. The zero value is the host's
// own root.
//
// The host's suite boots the host's / (the overlay's lower layer, as
// always). Every other suite boots a root that transient/transienttest/mkroot
// (make roots) builds once into [RootsDir], with the suite's own systemd,
// dbus, borgmatic, borg and OpenSSH.
type Suite string

// The suites the harness knows, oldest systemd first.
const (
	// Host is the host's own root, whatever its suite.
	Host Suite = ""
	// Bookworm is Debian 12: systemd 252, borgmatic 1.7, borg 1.2.
	Bookworm Suite = "bookworm"
	// BookwormBackports is Debian 12 with its backports preferred:
	// systemd 254, borgmatic 1.7, borg 1.4.
	BookwormBackports Suite = "bookworm-backports"
	// Trixie is Debian 13: systemd 257, borgmatic 1.9, borg 1.4.
	Trixie Suite = "trixie"
	// Forky is Debian testing: systemd 262 (when its root was built;
	// testing moves), borgmatic 2.0, borg 1.4.
	Forky Suite = "forky"
)

// EnvRoots is the environment variable that overrides [RootsDir]; mkroot
// reads it too.
const EnvRoots = "BORGRUN_ROOTS"

// Suites returns every named suite (not [Host]), oldest systemd first, as
// a new slice: tests loop over it, one subtest per suite.
func Suites() []Suite { return []Suite{Bookworm, BookwormBackports, Trixie, Forky} }

// String returns the suite's name, or "host" for [Host].
func (s Suite) String() string {
	if s == Host {
		return "host"
	}
	return string(s)
}

// SystemdMajor returns the major systemd version the suite ships (252, 254,
// 257, 262), or 0 for [Host] and unknown suites.
func (s Suite) SystemdMajor() int {
	switch s {
	case Bookworm:
		return 252
	case BookwormBackports:
		return 254
	case Trixie:
		return 257
	case Forky:
		return 262
	}
	return 0
}

// RootsDir returns the directory that holds the built roots: $BORGRUN_ROOTS,
// or /var/cache/borgrun/roots. Suite s's root is RootsDir()/s/root, and
// RootsDir()/s/systemd-version holds its systemd's Debian version; mkroot
// renames a suite's directory into place only once the root is complete.
func RootsDir() string {
	if d := os.Getenv(EnvRoots); d != "" {
		return d
	}
	return "/var/cache/borgrun/roots"
}

// ErrNoRoot is wrapped by the errors that report a suite whose root has not
// been built.
var ErrNoRoot = errors.New("root not built (run `make roots` as root)")

// hostSuite returns the host's suite: VERSION_CODENAME of /etc/os-release.
func hostSuite() Suite {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return Host
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VERSION_CODENAME="); ok {
			return Suite(strings.Trim(v, `"'`))
		}
	}
	return Host
}

// Root returns the host directory that is the lower layer of the suite's
// overlay: "/" for [Host] and for the host's own suite, else the suite's
// built root. It returns an error wrapping [ErrNoRoot] if that root has not
// been built, and an error for unknown suites.
func (s Suite) Root() (string, error) {
	if s == Host || s == hostSuite() {
		return "/", nil
	}
	if s.SystemdMajor() == 0 {
		return "", fmt.Errorf("transienttest: unknown suite %q", string(s))
	}
	dir := filepath.Join(RootsDir(), string(s))
	if _, err := os.Stat(filepath.Join(dir, "systemd-version")); err != nil {
		return "", fmt.Errorf("transienttest: suite %s: no %s: %w", s, dir, ErrNoRoot)
	}
	return filepath.Join(dir, "root"), nil
}

// RequireSuite is [Require] for booting suite s: it also skips tb when the
// suite's root has not been built, or, when EnvRequire is set, fails tb
// saying how to build it.
func RequireSuite(tb testing.TB, s Suite) {
	tb.Helper()
	Require(tb)
	if _, err := s.Root(); err != nil {
		if os.Getenv(EnvRequire) != "" {
			tb.Fatalf("%s is set but %v", EnvRequire, err)
		}
		tb.Skip(err)
	}
}
