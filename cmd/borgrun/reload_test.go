package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestDaemonReloadKeepsSchedules: a daemon-reload (which apt runs on every
// upgrade of a package with units) makes the manager re-read each transient
// unit from the file it wrote for it. systemd 252 writes some settings in a
// form it reads back differently ("+" commands under ExecStartPreEx=,
// RestrictNamespaces=yes as an empty assignment, "$" and ";" escaped
// literally), so borgrun's units avoid all of those: every property of
// every shape of schedule is the same after the reload, and a borgmatic
// run started after it backs up.
func TestDaemonReloadKeepsSchedules(t *testing.T) {
	setupBorgmatic(t)
	sys := sandbox.Get(t)
	tests := []struct {
		name string
		args []string
		run  bool // start the service after the reload; it must succeed
	}{
		{"plain", []string{"--daily", "--", "/bin/true"}, false},
		{"borgmatic", []string{"--daily", "--boot-delay", "1s", "--", "/usr/bin/borgmatic", "-c", bmConfig}, true},
		{"strict", []string{"--weekly", "--hardening=strict", "--priority", "idle", "--passphrase-file", bmPassFile,
			"--boot-delay", "1s", "-E", "FOO=a b", "--", "/usr/bin/borgmatic", "-c", bmNoPassConfig}, true},
		{"relaxed", []string{"--hourly", "--relax", "known-hosts,wx,snapshots", "--writable", "/srv/borgrun-test/extra",
			"--", "/usr/bin/borgmatic", "-c", bmConfig}, false},
		{"opt-outs", append(append([]string{"--on-calendar", "Mon..Fri 12:30", "--no-persistent", "--randomized-delay", "0",
			"--allow-battery"}, fast...), "--", "/bin/true"), false},
		{"hooks", []string{"--daily", "--on-failure", "/bin/echo 'failed: x'", "--on-success", "/usr/bin/true",
			"--credential", "pw=" + bmPassFile, "-E", "PW_FILE=%d/pw", "--", "/bin/true"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			timer, service := "borgrun-reload-"+tt.name+".timer", "borgrun-reload-"+tt.name+".service"
			t.Cleanup(func() { sys.Output(context.Background(), "systemctl", "stop", timer, service) })
			args := append([]string{"schedule", "--name", "reload-" + tt.name}, tt.args...)
			if _, stderr, code := borgrun(t, args...); code != 0 {
				t.Fatalf("schedule: exit %d: %s", code, stderr)
			}
			units := []string{timer, service}
			if tt.name == "hooks" {
				units = append(units, "borgrun-reload-hooks@on-failure.service", "borgrun-reload-hooks@on-success.service")
			}
			before := map[string]map[string]string{}
			for _, u := range units {
				before[u] = showAll(t, u)
			}
			systemctl(t, "daemon-reload")
			for _, u := range units {
				compareLoaded(t, u, before[u], showAll(t, u), nil)
			}
			// The same schedule is still recognised as unchanged.
			if stdout, stderr, code := borgrun(t, args...); code != 0 || !strings.Contains(stdout, "unchanged") {
				t.Errorf("schedule again after the reload: exit %d, %q %q", code, stdout, stderr)
			}
			if !tt.run {
				return
			}
			freshState(t)
			n := len(archives(t))
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
			defer cancel()
			if _, err := sys.Output(ctx, "systemctl", "start", service); err != nil {
				journal, _ := sys.Output(context.Background(), "journalctl", "--no-pager", "-o", "cat", "-u", service)
				t.Fatalf("%s after the reload: %v\n%s", service, err, journal)
			}
			if got := len(archives(t)); got != n+1 {
				t.Errorf("%d archives after the run, want %d", got, n+1)
			}
		})
	}
}
