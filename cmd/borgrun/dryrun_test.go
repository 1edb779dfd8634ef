package main

import (
	"bytes"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// TestDryRunShowsSandbox: --dry-run lists the paths the derived sandbox
// opens up, each with why, and whether the job keeps the network; with
// --hardening=off it lists none.
func TestDryRunShowsSandbox(t *testing.T) {
	if _, err := exec.LookPath("borgmatic"); err != nil {
		skipUnlessRequired(t, "borgmatic: %v (apt-get install borgmatic)", err)
	}
	root, err := user.LookupId("0")
	if err != nil {
		t.Fatal(err)
	}
	home := root.HomeDir
	config := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(config, []byte("location:\n    source_directories: [/etc]\n    repositories: [/mnt/backup/repo]\n"+
		"storage:\n    temporary_directory: /var/tmp/borg\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	from := " (" + config + ")"
	for _, tt := range []struct {
		name      string
		args      []string
		want, not []string
	}{
		{"default", nil, []string{
			"# sandbox (--hardening=default): paths opened up, and why:\n" +
				"#   " + home + "/.cache/borg            writable, created before each run: borg cache (data and lock)" + from + "\n" +
				"#   " + home + "/.config/borg/security  writable, created before each run: borg security (nonces, manifest timestamps)" + from + "\n" +
				"#   " + home + "/.config/borg/keys      read-only, created before each run: borg keys (read, must exist)" + from + "\n",
			"#   /var/tmp/borg                writable, created before each run: borg temporary files (temporary_directory)" + from + "\n" +
				"#   /mnt/backup/repo             writable: local repository /mnt/backup/repo" + from + "\n" +
				"# network: none (every repository is local and no hook needs it)\n" +
				"# a manager of systemd 257 gets ProtectControlGroupsEx=strict PrivateTmpEx=disconnected instead of PrivateTmp=yes ProtectControlGroups=yes\n" +
				"# a manager of systemd 258 or newer gets ProtectControlGroups=strict PrivateTmp=disconnected PrivateUsers=full instead of PrivateTmp=yes ProtectControlGroups=yes\n" +
				"# next runs",
		}, nil},
		{"writable", []string{"--hardening=strict", "--writable", "/var/lib/x"}, []string{
			"# sandbox (--hardening=strict): paths opened up, and why:\n",
			"\n#   /var/lib/x                   writable, created before each run: --writable\n",
		}, nil},
		{"off", []string{"--hardening=off"}, nil, []string{"# sandbox", "# network"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append(append([]string{"schedule", "--daily", "--dry-run", "--name", "dry"}, tt.args...), "--", "borgmatic", "-c", config)
			if code := newBadInputEnv(t, &stdout, &stderr).main(args); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			out := stdout.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("dry-run output lacks %q:\n%s", w, out)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(out, n) {
					t.Errorf("dry-run output has %q:\n%s", n, out)
				}
			}
		})
	}
}

// TestDryRunBorgCommand: a plain borg job (borg's version asked, no
// borgmatic) lists borg's directories; it must not block.
func TestDryRunBorgCommand(t *testing.T) {
	borg, err := exec.LookPath("borg")
	if err != nil {
		skipUnlessRequired(t, "borg: %v (apt-get install borgbackup)", err)
	}
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- newBadInputEnv(t, &stdout, &stderr).main([]string{"schedule", "--daily", "--dry-run", "--name", "dry", "--", borg, "create", "/r::a", "/etc"})
	}()
	select {
	case code := <-done:
		if code != 0 || !strings.Contains(stdout.String(), "created before each run: borg cache (data and lock)\n") {
			t.Errorf("exit %d, stderr %q; stdout:\n%s", code, stderr.String(), stdout.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("schedule --dry-run of a borg command did not end within 60 s")
	}
}
