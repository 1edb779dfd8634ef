package transienttest_test

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/borgrun/borgrun/transient/transienttest"
)

// forEachSuite runs f in a parallel subtest "SUITE/MAJOR" per known suite,
// with that suite's shared systemd (skipped, or failed under
// BORGRUN_REQUIRE_SYSTEMD, when its root is not built).
func forEachSuite(t *testing.T, f func(t *testing.T, s transienttest.Suite, sys *transienttest.Systemd)) {
	for _, s := range transienttest.Suites() {
		t.Run(s.String()+"/"+strconv.Itoa(s.SystemdMajor()), func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			sys := sandbox.GetSuite(t, s)
			t.Logf("%s: GetSuite took %v (the boot, if this test booted it)", s, time.Since(start).Round(time.Millisecond))
			f(t, s, sys)
		})
	}
}

// TestSuitesBoot: each suite's root boots its own systemd, which reaches
// running (or degraded), runs a hardened transient service, and reports
// the same version on the command line and on D-Bus.
func TestSuitesBoot(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s transienttest.Suite, sys *transienttest.Systemd) {
		out, err := sys.Output(t.Context(), "systemctl", "--version")
		if err != nil {
			t.Fatal(err)
		}
		// "systemd 257 (257.13-1~deb13u1)"
		first, _, _ := strings.Cut(out, "\n")
		f := strings.Fields(first)
		if len(f) < 3 || f[0] != "systemd" {
			t.Fatalf("systemctl --version: unexpected first line %q", first)
		}
		if f[1] != strconv.Itoa(s.SystemdMajor()) {
			t.Errorf("systemctl --version reports systemd %s, want %d", f[1], s.SystemdMajor())
		}
		full := strings.Trim(f[2], "()")

		state, err := sys.Output(t.Context(), "systemctl", "is-system-running")
		if st := strings.TrimSpace(state); st != "running" && st != "degraded" {
			t.Errorf("is-system-running = %q (%v), want running or degraded", st, err)
		}

		if _, err := sys.Output(t.Context(), "systemd-run", "--wait", "--quiet", "--collect",
			"-p", "ProtectSystem=strict", "-p", "PrivateTmp=yes", "-p", "NoNewPrivileges=yes",
			"/bin/true"); err != nil {
			t.Error(err)
		}

		v, err := managerVersion(t, sys)
		if err != nil {
			t.Fatal(err)
		}
		if v != full {
			t.Errorf("D-Bus Version = %q, systemctl --version says %q", v, full)
		}
		// "257.13-1~deb13u1", "262-1"
		major := v
		if i := strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
			major = v[:i]
		}
		if major != strconv.Itoa(s.SystemdMajor()) {
			t.Errorf("D-Bus Version = %q, want major %d", v, s.SystemdMajor())
		}
	})
}

// managerVersion reads the manager's Version property over the sandbox's
// system bus, through the harness's BusStream.
func managerVersion(t *testing.T, sys *transienttest.Systemd) (string, error) {
	t.Helper()
	rwc, err := sys.BusStream(t.Context())
	if err != nil {
		return "", err
	}
	conn, err := dbus.NewConn(rwc)
	if err != nil {
		rwc.Close()
		return "", err
	}
	defer conn.Close()
	if err := conn.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
		return "", err
	}
	if err := conn.Hello(); err != nil {
		return "", err
	}
	var v string
	err = conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1").
		StoreProperty("org.freedesktop.systemd1.Manager.Version", &v)
	return v, err
}

// TestSuitesSSHD: StartSSHD works on every suite's root (its own sshd), and
// the host's ssh client logs in to it.
func TestSuitesSSHD(t *testing.T) {
	forEachSuite(t, func(t *testing.T, s transienttest.Suite, sys *transienttest.Systemd) {
		dir := t.TempDir()
		d, err := sys.StartSSHD(t.Context(), dir, 2300)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := d.ClientConfig(dir, "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		out, err := sys.NetCommand(t.Context(), "ssh", "-F", cfg, "127.0.0.1", "systemctl --version").CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "systemd "+strconv.Itoa(s.SystemdMajor())+" ") {
			t.Fatalf("ssh: %v, output %q; want systemd %d", err, out, s.SystemdMajor())
		}
	})
}

// TestMissingRoot: a suite whose root is not built is an error wrapping
// ErrNoRoot, from Root and from Start.
func TestMissingRoot(t *testing.T) {
	transienttest.Require(t)
	t.Setenv(transienttest.EnvRoots, t.TempDir())
	if _, err := transienttest.Trixie.Root(); !errors.Is(err, transienttest.ErrNoRoot) {
		t.Fatalf("Root of an unbuilt suite: %v, want ErrNoRoot", err)
	}
	if _, err := transienttest.Start(t.Context(), transienttest.Options{Root: transienttest.Trixie}); !errors.Is(err, transienttest.ErrNoRoot) {
		t.Fatalf("Start of an unbuilt suite: %v, want ErrNoRoot", err)
	}
	if _, err := transienttest.Suite("nosuch").Root(); err == nil {
		t.Fatal("Root of an unknown suite succeeded")
	}
}

// TestSuitesBinds: Options.Binds share a host directory with every suite's
// root, read-write, at the same path.
func TestSuitesBinds(t *testing.T) {
	for _, s := range transienttest.Suites() {
		t.Run(s.String()+"/"+strconv.Itoa(s.SystemdMajor()), func(t *testing.T) {
			t.Parallel()
			transienttest.RequireSuite(t, s)
			dir := t.TempDir()
			if err := os.WriteFile(dir+"/in", []byte("from the host\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			sys, err := transienttest.Start(t.Context(), transienttest.Options{Root: s, Binds: []string{dir}})
			if err != nil {
				t.Fatal(err)
			}
			defer sys.Close()
			if sys.Suite() != s {
				t.Errorf("Suite() = %v, want %v", sys.Suite(), s)
			}
			if _, err := sys.Output(t.Context(), "systemd-run", "--wait", "--quiet", "--collect",
				"/bin/sh", "-c", "cp "+dir+"/in "+dir+"/out"); err != nil {
				t.Fatal(err)
			}
			if b, err := os.ReadFile(dir + "/out"); err != nil || string(b) != "from the host\n" {
				t.Fatalf("file written by a unit through the bind: %q, %v", b, err)
			}
		})
	}
}
