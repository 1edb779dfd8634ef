package main

import (
	"strings"
	"testing"
	"time"
)

// TestNowSurvivesDaemonReexec: a systemctl daemon-reexec while now waits
// does not lose the run: now reports the command's true exit status, and
// nothing is left behind.
func TestNowSurvivesDaemonReexec(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  []string
	}{
		{"bus", nil},
		{"private-socket", []string{"DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sys := sandbox.Get(t)
			fifo := "/run/borgrun-reexec-" + tt.name
			mkfifo(t, fifo)
			b := startBorgrunEnv(t, tt.env, "now", "--name", "reexec-"+tt.name, "--", "/bin/sh", "-c", "echo started; read x < "+fifo+"; exit 4")
			if line := b.readLine(t); line != "started\n" {
				t.Fatalf("first line %q", line)
			}
			if _, err := sys.Output(t.Context(), "systemctl", "daemon-reexec"); err != nil {
				t.Fatal(err)
			}
			// Release the command only once the manager is back.
			if _, err := sys.Output(t.Context(), "sh", "-c", "echo go > "+fifo); err != nil {
				t.Fatal(err)
			}
			if code := b.wait(t, 30*time.Second); code != 4 {
				t.Fatalf("exit %d, want 4; stderr %q", code, b.stderr.String())
			}
			if !strings.Contains(b.stderr.String(), "code=exited/status=4") {
				t.Errorf("summary lacks the true status: %q", b.stderr.String())
			}
			if got := showProps(t, "borgrun-reexec-"+tt.name+"-now.service", "LoadState")["LoadState"]; got != "not-found" {
				t.Errorf("unit left behind: LoadState %q", got)
			}
		})
	}
}
