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
