package transienttest_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/borgrun/borgrun/transient/transienttest"
)

var sandbox transienttest.Shared

func TestMain(m *testing.M) { os.Exit(sandbox.Run(m)) }

func TestBootsRunningManager(t *testing.T) {
	sys := sandbox.Get(t)
	out, err := sys.Output(t.Context(), "systemctl", "is-system-running")
	state := strings.TrimSpace(out)
	if state != "running" && state != "degraded" {
		t.Fatalf("is-system-running = %q (%v), want running or degraded", state, err)
	}
	if _, err := os.Stat(sys.PrivateSocket()); err != nil {
		t.Fatalf("private socket not reachable from the host: %v", err)
	}
}

func TestPID1IsSystemd(t *testing.T) {
	sys := sandbox.Get(t)
	comm, err := os.ReadFile("/proc/" + strconv.Itoa(sys.PID()) + "/comm")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(comm)); got != "systemd" {
		t.Fatalf("PID 1 of the sandbox is %q, want systemd", got)
	}
	_ = context.Background
}

// TestHostUntouched: booting, using and powering off a sandbox leaves the
// host's device nodes as they were (the sandbox chmods its own console).
func TestHostUntouched(t *testing.T) {
	transienttest.Require(t)
	before := devModes(t)
	sys, err := transienttest.Start(t.Context(), transienttest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sys.Output(t.Context(), "systemd-run", "--wait", "--quiet", "/bin/true"); err != nil {
		t.Error(err)
	}
	if err := sys.Close(); err != nil {
		t.Error(err)
	}
	if after := devModes(t); after != before {
		t.Fatalf("host device nodes changed:\nbefore %s\nafter  %s", before, after)
	}
}

func devModes(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, n := range []string{"null", "zero", "full", "random", "urandom", "tty", "console", "ptmx"} {
		fi, err := os.Stat("/dev/" + n)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		fmt.Fprintf(&b, "%s:%v:%d:%d ", n, fi.Mode(), st.Uid, st.Gid)
	}
	return b.String()
}

// TestSSHD: a client on the host, in the sandbox's network namespace, logs
// in to the sandbox's sshd as root with the generated key and the host key
// checked, and its command runs inside the sandbox (it sees the sandbox's
// PID 1 as systemd).
func TestSSHD(t *testing.T) {
	sys := sandbox.Get(t)
	dir := t.TempDir()
	d, err := sys.StartSSHD(t.Context(), dir, 2222)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := d.ClientConfig(dir, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	out, err := sys.NetCommand(t.Context(), "ssh", "-F", cfg, "127.0.0.1", "cat /proc/1/comm").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "systemd" {
		t.Fatalf("ssh: %v, output %q; want systemd", err, out)
	}
	// A server whose host key is not the known one is refused: the
	// check is real.
	other, err := sys.StartSSHD(t.Context(), t.TempDir(), 2223)
	if err != nil {
		t.Fatal(err)
	}
	other.HostKey = d.HostKey
	bad, err := other.ClientConfig(t.TempDir(), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := sys.NetCommand(t.Context(), "ssh", "-F", bad, "127.0.0.1", "true").CombinedOutput(); err == nil {
		t.Fatalf("ssh to a server with an unknown host key succeeded: %q", out)
	}
}

// TestHostSuite: Host and the host's own suite share one systemd, and it
// reports the host's suite whichever was asked for first, with the major
// version its systemd really has.
func TestHostSuite(t *testing.T) {
	sys := sandbox.Get(t)
	suite := sys.Suite()
	if suite == transienttest.Host {
		t.Skip("the host's suite is none the harness knows")
	}
	if other := sandbox.GetSuite(t, suite); other != sys {
		t.Errorf("GetSuite(%s) booted another systemd than Get", suite)
	}
	out, err := sys.Output(t.Context(), "systemctl", "--version")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("systemd %d ", suite.SystemdMajor()); !strings.HasPrefix(out, want) {
		t.Errorf("Suite() = %s (systemd %d), but systemctl --version says %q", suite, suite.SystemdMajor(), strings.SplitN(out, "\n", 2)[0])
	}
}
