package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestDryRun: --dry-run prints both units and the next 3 runs, and never
// contacts a manager.
func TestDryRun(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := newBadInputEnv(t, &stdout, &stderr).main([]string{"schedule", "--daily", "--dry-run", "--name", "dry", "-p", "MemoryMax=2G", "--", "/bin/echo", `a "b" 100%`})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"# borgrun-dry.timer (transient, not created: --dry-run)\n[Unit]\nDescription=borgrun backup dry: /bin/echo a \"b\" 100%%\n\n[Timer]\nOnCalendar=daily\nPersistent=yes\nRandomizedDelaySec=10min\nFixedRandomDelay=yes\n",
		"# borgrun-dry.service\n[Unit]\n",
		"ConditionACPower=true\nWants=network-online.target\nAfter=network-online.target\n",
		"[Service]\nType=oneshot\nNice=19\n",
		`ExecStart="/usr/bin/systemd-inhibit" "--what=sleep:shutdown" "--mode=block" "--who=borgrun" "--why=borgrun backup dry is running" "/bin/echo" "a \"b\" 100%%"` + "\nMemoryMax=2G\n",
		"#   Thu 2026-11-26 00:00:00 UTC, in 6h 45min\n#   Fri 2026-11-27 00:00:00 UTC, in 1d 6h 45min\n#   Sat 2026-11-28 00:00:00 UTC, in 2d 6h 45min\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry-run output lacks %q:\n%s", want, out)
		}
	}
}
