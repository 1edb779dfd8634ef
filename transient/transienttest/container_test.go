package transienttest_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/borgrun/borgrun/transient/transienttest"
)

// TestContainerBootsAndReboots: a trixie container boots under nspawn in
// the sandbox of the host's root, its own systemd 257 answers inside, and
// a reboot keeps what it wrote unless it is ephemeral.
func TestContainerBootsAndReboots(t *testing.T) {
	transienttest.RequireSuite(t, transienttest.Trixie)
	sys := sandbox.Get(t)
	for _, ephemeral := range []bool{false, true} {
		name := "persistent"
		if ephemeral {
			name = "ephemeral"
		}
		t.Run(name, func(t *testing.T) {
			c := sys.TestContainer(t, transienttest.ContainerOptions{Name: "tt-" + name, Suite: transienttest.Trixie, Ephemeral: ephemeral})
			if err := os.MkdirAll(c.ImagePath("/etc/borgrun-image"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(c.ImagePath("/etc/borgrun-image/layer"), []byte("image\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if err := c.Boot(t.Context()); err != nil {
				t.Fatal(err)
			}
			t.Logf("boot: %v", time.Since(start))
			out, err := c.Output(t.Context(), "systemctl", "is-system-running")
			if state := strings.TrimSpace(out); state != "running" && state != "degraded" {
				t.Fatalf("is-system-running in the container = %q (%v)", state, err)
			}
			if out, err := c.Output(t.Context(), "systemctl", "--version"); err != nil || !strings.HasPrefix(out, "systemd 257 ") {
				t.Fatalf("systemctl --version in the container = %q (%v), want 257", out, err)
			}
			if out, err := c.Output(t.Context(), "cat", "/etc/borgrun-image/layer"); err != nil || out != "image\n" {
				t.Fatalf("image layer file: %q (%v)", out, err)
			}
			if _, err := c.Output(t.Context(), "touch", "/var/lib/written"); err != nil {
				t.Fatal(err)
			}
			start = time.Now()
			if err := c.Reboot(t.Context()); err != nil {
				t.Fatal(err)
			}
			t.Logf("reboot: %v", time.Since(start))
			_, err = c.Output(t.Context(), "test", "-e", "/var/lib/written")
			if kept := err == nil; kept == ephemeral {
				t.Errorf("after a reboot /var/lib/written kept = %v, want %v", kept, !ephemeral)
			}
		})
	}
}

// TestContainerBootFails: a container that cannot boot (its root has no
// systemd) makes Boot fail within BootTimeout, saying why, and Close of it
// succeeds.
func TestContainerBootFails(t *testing.T) {
	transienttest.RequireSuite(t, transienttest.Trixie)
	sys := sandbox.Get(t)
	c, err := sys.NewContainer(t.Context(), transienttest.ContainerOptions{Name: "tt-broken", Suite: transienttest.Trixie, BootTimeout: 10 * time.Second})
	if errors.Is(err, transienttest.ErrNoContainers) && os.Getenv(transienttest.EnvRequire) == "" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	// An image layer that hides the init: a whiteout (a 0/0 device).
	for _, p := range []string{"/usr/lib/systemd/systemd", "/sbin/init"} {
		if _, err := sys.Output(t.Context(), "/bin/sh", "-c", `mkdir -p "$(dirname "$1")" && mknod "$1" c 0 0`, "sh", strings.TrimPrefix(c.ImagePath(p), sys.Root())); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	err = c.Boot(t.Context())
	t.Logf("failed boot after %v: %v", time.Since(start).Round(time.Millisecond), err)
	if err == nil || !strings.Contains(err.Error(), "/sbin/init) failed: No such file or directory") {
		t.Fatalf("Boot of a root without systemd: %v, want an error quoting the container's log", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close after a failed boot: %v", err)
	}
}
