package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// polkitRule makes polkit answer "ask an administrator" (auth_admin) when
// the user nobody asks to manage units, with root as the administrator.
const polkitRule = `polkit.addRule(function(action, subject) {
	if (action.id == "org.freedesktop.systemd1.manage-units" && subject.user == "nobody") {
		return polkit.Result.AUTH_ADMIN;
	}
});
polkit.addAdminRule(function(action, subject) {
	if (subject.user == "nobody") {
		return ["unix-user:0"];
	}
});
`

// asNobody runs borgrun as the user nobody inside the sandbox, over the
// system bus, where polkit decides.
func asNobody(t *testing.T, args ...string) (stderr string, code int) {
	t.Helper()
	sys := sandbox.Get(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// A copy nobody can execute (the test binary's directory is root's).
	bin := "/usr/local/bin/borgrun-polkit-test"
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sys.Root()+bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(sys.Root()+"/etc/polkit-1/rules.d", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sys.Root()+"/etc/polkit-1/rules.d/10-borgrun-test.rules", []byte(polkitRule), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := sys.Command(t.Context(), "setpriv", append([]string{"--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", bin}, args...)...)
	cmd.Env = append(cmd.Env, "BORGRUN_TEST_MAIN=1", "HOME=/nonexistent")
	_, stderr, code = runCapture(t, cmd)
	return stderr, code
}

// TestPolkitRefusesWithoutAgent: when polkit would ask and there is no
// terminal to ask on, borgrun fails with one line saying how to get a
// prompt, and creates no unit; with or without --no-ask-password.
func TestPolkitRefusesWithoutAgent(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no-ask-password", []string{"--no-ask-password"}},
		{"ask-password", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"now", "--name", "polkit-" + tc.name, "--hardening", "off", "--inhibit", "no"}, tc.args...), "--", "/bin/true")
			stderr, code := asNobody(t, args...)
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if last := lines[len(lines)-1]; code != 1 || !strings.Contains(last, "polkit would ask for a password") {
				t.Fatalf("exit %d, stderr %q; want 1 and a last line saying polkit would ask", code, stderr)
			}
			if out := systemctl(t, "list-units", "--all", "--no-legend", "borgrun-polkit-*"); strings.TrimSpace(out) != "" {
				t.Fatalf("units left: %s", out)
			}
		})
	}
}

// TestPolkitInteractiveFlag: the manager's calls carry D-Bus's
// ALLOW_INTERACTIVE_AUTHORIZATION flag (4 in the header's flags), which
// lets polkit ask through an agent, unless --no-ask-password; as
// systemd-run's do. Read off the real bus by a monitor (busctl monitor).
func TestPolkitInteractiveFlag(t *testing.T) {
	sys := sandbox.Get(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	mon := sys.Command(ctx, "timeout", "30", "busctl", "monitor", "--match=type=method_call,member=StartTransientUnit")
	pr, pw := io.Pipe()
	mon.Stdout, mon.Stderr = pw, pw
	mon.WaitDelay = time.Second
	if err := mon.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = mon.Wait(); pw.Close() }()
	ready := make(chan struct{})
	flags := make(chan [2]string, 8) // unit, flags
	go func() {
		sc := bufio.NewScanner(pr)
		var header string
		for sc.Scan() {
			l := sc.Text()
			switch {
			case strings.Contains(l, "Monitoring bus message stream."):
				close(ready)
			case strings.HasPrefix(strings.TrimSpace(l), "‣ Type=method_call"):
				header = l
			case strings.Contains(l, `STRING "borgrun-polkit-flag-`) && header != "":
				for _, f := range strings.Fields(header) {
					if v, ok := strings.CutPrefix(f, "Flags="); ok {
						flags <- [2]string{strings.Trim(strings.TrimSpace(l), `STRING ";`), v}
					}
				}
				header = ""
			}
		}
	}()
	select {
	case <-ready:
	case <-ctx.Done():
		t.Fatal("busctl monitor did not start")
	}
	for _, tc := range []struct {
		name, flags string
		args        []string
	}{
		{"ask", "4", nil},
		{"no-ask", "0", []string{"--no-ask-password"}},
	} {
		unit := "borgrun-polkit-flag-" + tc.name + "-now.service"
		args := append(append([]string{"now", "--name", "polkit-flag-" + tc.name, "--hardening", "off", "--inhibit", "no"}, tc.args...), "--", "/bin/true")
		if _, code := asNobody(t, args...); code != 1 {
			t.Errorf("%s: exit %d, want 1 (polkit refuses)", tc.name, code)
		}
		select {
		case got := <-flags:
			if got[0] != unit || got[1] != tc.flags {
				t.Errorf("%s: StartTransientUnit for %s with Flags=%s, want %s with Flags=%s", tc.name, got[0], got[1], unit, tc.flags)
			}
		case <-ctx.Done():
			t.Fatalf("%s: no StartTransientUnit call seen on the bus", tc.name)
		}
	}
}
