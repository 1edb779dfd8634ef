package main

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
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
			if _, err := sys.Output(t.Context(), "sh", "-c", "rm -f "+fifo+" && mkfifo "+fifo); err != nil {
				t.Fatal(err)
			}
			exe, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			cmd := sys.Command(t.Context(), exe, "now", "--name", "reexec-"+tt.name, "--", "/bin/sh", "-c", "echo started; read x < "+fifo+"; exit 4")
			cmd.Env = append(append(cmd.Env, "BORGRUN_TEST_MAIN=1"), tt.env...)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "started\n" {
				t.Fatalf("first line %q, %v", line, err)
			}
			if _, err := sys.Output(t.Context(), "systemctl", "daemon-reexec"); err != nil {
				t.Fatal(err)
			}
			// Release the command only once the manager is back.
			if _, err := sys.Output(t.Context(), "sh", "-c", "echo go > "+fifo); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Fatalf("borgrun did not finish within 30s; stderr %q", stderr.String())
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 4 {
				t.Fatalf("exit %v, want 4; stderr %q", err, stderr.String())
			}
			if !strings.Contains(stderr.String(), "code=exited/status=4") {
				t.Errorf("summary lacks the true status: %q", stderr.String())
			}
			if got := showProps(t, "borgrun-reexec-"+tt.name+"-now.service", "LoadState")["LoadState"]; got != "not-found" {
				t.Errorf("unit left behind: LoadState %q", got)
			}
		})
	}
}
