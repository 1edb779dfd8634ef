package transienttest_test

import (
	"context"
	"os"
	"strconv"
	"strings"
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
