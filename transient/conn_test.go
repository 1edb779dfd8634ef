package transient_test

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/borgrun/borgrun/transient"
)

// TestDialUnreachable: no manager at the address gives a *DialError naming
// what was tried, at once.
func TestDialUnreachable(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	_, err := transient.Dial(t.Context(), transient.DialOptions{Address: "unix:path=" + dir + "/private"})
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("Dial took %v, want under 1s", elapsed)
	}
	var de *transient.DialError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), dir+"/private") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Dial error = %q, want a one-line *DialError naming the address", err)
	}
}

// TestDialSilentPeer: a socket that accepts and never answers gives a
// *DialError once the timeout is up, not a hang.
func TestDialSilentPeer(t *testing.T) {
	path := t.TempDir() + "/silent"
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // accept, then say nothing
		}
	}()
	done := make(chan error, 1)
	go func() {
		_, err := transient.Dial(t.Context(), transient.DialOptions{Address: "unix:path=" + path, Timeout: 200 * time.Millisecond})
		done <- err
	}()
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Dial to a silent peer did not return")
	}
	var de *transient.DialError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "no answer within 200ms") {
		t.Fatalf("Dial error = %v, want a *DialError saying there was no answer", err)
	}
}

// TestManagerVersion: the Version the manager states over D-Bus is the
// one its own systemctl prints.
func TestManagerVersion(t *testing.T) {
	c, sys := dial(t)
	v, err := c.ManagerVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out, err := sys.Output(t.Context(), "systemctl", "--version")
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(out, "\n")
	if want := "systemd " + strings.Fields(first)[1] + " (" + v + ")"; first != want {
		t.Fatalf("systemctl --version says %q; the manager's Version is %q", first, v)
	}
	again, err := c.ManagerVersion(t.Context())
	if err != nil || again != v {
		t.Fatalf("second ManagerVersion = %q, %v; want %q", again, err, v)
	}
}
