package main

import (
	"strings"
	"testing"
)

// TestNewerPropertyOnOlderManager: a property that only a newer systemd
// takes is bad input for this manager (the host's 252): exit 2, one line
// naming it and the version that has it, and nothing created.
func TestNewerPropertyOnOlderManager(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"schedule -p", []string{"schedule", "--daily", "--name", "newer-p", "-p", "PrivatePIDs=yes", "--", "/bin/true"},
			`PrivatePIDs= needs systemd 257 or newer; this manager is 252`},
		{"schedule --timer-property", []string{"schedule", "--daily", "--name", "newer-tp", "--timer-property", "DeferReactivation=yes", "--", "/bin/true"},
			`DeferReactivation= needs systemd 257 or newer; this manager is 252`},
		{"now -p", []string{"now", "--name", "newer-now", "-p", "RestartMode=direct", "--", "/bin/true"},
			`RestartMode= needs systemd 254 or newer; this manager is 252`},
		{"run -p", []string{"run", "--unit", "borgrun-newer-run", "-p", "PrivatePIDs=yes", "/bin/true"},
			`PrivatePIDs= needs systemd 257 or newer; this manager is 252`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := borgrun(t, tt.args...)
			if code != 2 || !strings.Contains(stderr, tt.want) || strings.Count(stderr, "\n") != 1 {
				t.Fatalf("exit %d, stderr %q; want 2 and one line saying %q", code, stderr, tt.want)
			}
			name := strings.TrimPrefix(tt.args[2], "borgrun-")
			if tt.args[0] != "run" {
				name = tt.args[3]
			}
			for _, u := range []string{"borgrun-" + name + ".timer", "borgrun-" + name + ".service", "borgrun-" + name + "-now.service"} {
				if got := showProps(t, u, "LoadState")["LoadState"]; got != "not-found" {
					t.Errorf("%s LoadState = %q, want not-found", u, got)
				}
			}
		})
	}
}

// TestVersionNamesTheManager: borgrun --version and run --version say
// which systemd they speak to, as the manager's own systemctl states it.
func TestVersionNamesTheManager(t *testing.T) {
	first, _, _ := strings.Cut(systemctl(t, "--version"), "\n") // "systemd 252 (252.38-1~deb12u1)"
	for _, args := range [][]string{{"--version"}, {"run", "--version"}} {
		stdout, stderr, code := borgrun(t, args...)
		if code != 0 || stderr != "" || !strings.Contains(stdout, "manager: "+first+"\n") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want a line %q", args, code, stdout, stderr, "manager: "+first)
		}
	}
}
