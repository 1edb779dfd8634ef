package backup

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestBootDelayScript runs the boot grace's ExecStartPre= script with
// /proc/uptime and sleep replaced, for uptimes below, at and above the
// grace: it must sleep exactly the seconds left, and not at all once the
// grace is over.
func TestBootDelayScript(t *testing.T) {
	b := &Job{Name: "x", Command: []string{"/bin/true"}, BootDelay: 300 * time.Second}
	var script string
	for _, a := range b.ServiceAssignments("oneshot") {
		if rest, ok := strings.CutPrefix(a, "ExecStartPre="); ok && strings.Contains(rest, "/proc/uptime") {
			w := strings.Fields(rest)
			script = strings.Trim(strings.Join(w[2:], " "), `"`)
		}
	}
	if script == "" || strings.ContainsAny(script, "$;") {
		t.Fatalf("boot delay script %q: missing, or has $ or ;", script)
	}
	for _, tc := range []struct{ uptime, want string }{
		{"12.34 5.0", "sleep 288"}, {"299.99 1", "sleep 1"}, {"300.5 1", "sleep 0"}, {"301.0 1", ""}, {"86400.1 2", ""},
	} {
		up := t.TempDir() + "/uptime"
		s := strings.ReplaceAll(script, "/proc/uptime", up)
		s = strings.ReplaceAll(s, "xargs -r sleep", "xargs -r echo sleep")
		cmd := exec.Command("/bin/sh", "-c", "echo '"+tc.uptime+"' > "+up+" && "+s)
		out, err := cmd.Output()
		if err != nil || strings.TrimSpace(string(out)) != tc.want {
			t.Errorf("uptime %s: %q, %v; want %q", tc.uptime, out, err, tc.want)
		}
	}
}
