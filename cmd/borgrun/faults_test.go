package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/borgrun/borgrun/transient"
)

// badCase is one bad command line: borgrun must exit 2 with one line
// containing want (the bad token), and contact no manager. inSandbox
// marks the sample that is also run as a real process in the sandbox.
type badCase struct {
	args      []string
	want      string
	inSandbox bool
}

// fast are the options that make a job cheap to set up; they are valid
// and never the reason a case is bad.
var fast = []string{"--hardening=off", "--inhibit=no", "--priority=normal", "--no-network-wait"}

func schedArgs(args ...string) []string { return append([]string{"schedule", "--daily"}, args...) }
func nowArgs(args ...string) []string   { return append([]string{"now"}, args...) }

// badInputCases covers every command: flags, names, calendar specs, spans,
// each property family, paths, missing commands and conflicting options.
func badInputCases() []badCase {
	const tr = "/bin/true"
	return []badCase{
		// Commands.
		{[]string{"frobnicate"}, `unknown command "frobnicate"`, true},
		{[]string{"--frob"}, `unknown command "--frob"`, false},
		{[]string{"Schedule"}, `unknown command "Schedule"`, false},
		{[]string{""}, `unknown command ""`, false},
		{[]string{"help", "frobnicate"}, `"frobnicate"`, false},
		{[]string{"help", "--bogus"}, `"--bogus"`, false},
		{[]string{"help", ""}, `help: unknown command ""`, false},

		// schedule: flags and when.
		{schedArgs("--bogus"), "unknown flag: --bogus", true},
		{schedArgs("-z"), "'z'", false},
		{[]string{"schedule", "--on-calendar"}, "--on-calendar", false},
		{schedArgs("--name"), "--name", false},
		{[]string{"schedule", "--daily=maybe"}, `"maybe"`, false},
		{[]string{"schedule", "--", tr}, "say when", true},
		{schedArgs("--", "/bin/sh", "-c", "borgmatic; echo done"), `argument "borgmatic; echo done": a scheduled command cannot hold "$" or ";"`, true},
		{schedArgs("--", tr, "$HOME"), `argument "$HOME"`, false},
		{[]string{"schedule"}, "say when", false},
		{schedArgs("--dry-run=perhaps"), `"perhaps"`, false},
		{schedArgs("--replace=2"), `"2"`, false},
		{schedArgs("--user=maybe"), `"maybe"`, false},
		{schedArgs("--json=x"), `"x"`, false},

		// Names.
		{schedArgs("--name", "a b", "--", tr), `name "a b"`, true},
		{schedArgs("--name", "-x", "--", tr), `name "-x"`, false},
		{schedArgs("--name", "", "--", tr), `name ""`, false},
		{schedArgs("--name", strings.Repeat("a", 65), "--", tr), `1 to 64 characters`, false},
		{schedArgs("--name", "a/b", "--", tr), `name "a/b"`, false},
		{schedArgs("--name", "ä", "--", tr), `name "ä"`, false},
		{schedArgs("--name", ".hidden", "--", tr), `name ".hidden"`, false},
		{schedArgs("--name", "a@b", "--", tr), `name "a@b"`, false},
		{schedArgs("--name", "x\ny", "--", tr), `name "x\ny"`, false},
		{schedArgs("--name", "a*", "--", tr), `name "a*"`, false},
		{nowArgs("--name", "a:b", "--", tr), `name "a:b"`, true},
		{nowArgs("--name", "../x", "--", tr), `name "../x"`, false},

		// Calendar specs.
		{[]string{"schedule", "--on-calendar", "Mon 25:00", "--", tr}, `"Mon 25:00"`, true},
		{[]string{"schedule", "--on-calendar", "Febtober 1", "--", tr}, `"Febtober 1"`, false},
		{[]string{"schedule", "--on-calendar", "2001-01-01", "--", tr}, `"2001-01-01"`, true},
		{[]string{"schedule", "--on-calendar", "", "--", tr}, `""`, false},
		{[]string{"schedule", "--on-calendar", "*-*-* 24:00", "--", tr}, `"*-*-* 24:00"`, false},
		{[]string{"schedule", "--on-calendar", "Mon..Bogus", "--", tr}, `"Mon..Bogus"`, false},
		{[]string{"schedule", "--on-calendar", "*-02-30", "--", tr}, `"*-02-30"`, false},
		{[]string{"schedule", "--on-calendar", "1999-01-01 00:00 UTC", "--", tr}, `"1999-01-01 00:00 UTC"`, false},
		{[]string{"schedule", "--on-calendar", "hourly", "--on-calendar", "bogus", "--", tr}, `"bogus"`, false},
		{[]string{"schedule", "--on-calendar", "@abc", "--", tr}, `"@abc"`, false},
		{[]string{"schedule", "--on-calendar", "12:60", "--", tr}, `"12:60"`, false},
		{[]string{"schedule", "--on-calendar", "daily Mars/Olympus", "--", tr}, `"daily Mars/Olympus"`, false},

		// Spans.
		{schedArgs("--randomized-delay", "5x", "--", tr), `"5x"`, true},
		{schedArgs("--randomized-delay", "infinity", "--", tr), `"infinity"`, false},
		{schedArgs("--randomized-delay", "-1s", "--", tr), `"-1s"`, false},
		{schedArgs("--randomized-delay", "", "--", tr), `--randomized-delay ""`, false},
		{schedArgs("--accuracy", "1x", "--", tr), `"1x"`, false},
		{schedArgs("--accuracy", "1 fortnight", "--", tr), `"1 fortnight"`, false},
		{schedArgs("--boot-delay", "forever", "--", tr), `"forever"`, false},
		{schedArgs("--boot-delay", "99999999999y", "--", tr), `"99999999999y"`, false},

		// Enumerations.
		{schedArgs("--inhibit", "maybe", "--", tr), `"maybe"`, false},
		{schedArgs("--inhibit", "", "--", tr), `--inhibit ""`, false},
		{schedArgs("--priority", "lazy", "--", tr), `"lazy"`, false},
		{nowArgs("--priority", "", "--", tr), `--priority ""`, false},
		{schedArgs("--hardening", "wild", "--", tr), `"wild"`, true},
		{nowArgs("--hardening", "", "--", tr), `""`, false},

		// Service properties, one or more per family: names, numbers,
		// sizes, percentages, booleans, spans, enums, signals, limits,
		// CPU sets, capabilities, addresses, conditions, timer-only.
		{schedArgs("-p", "Nicee=5", "--", tr), `did you mean "Nice"`, true},
		{schedArgs("-p", "Nice=99", "--", tr), `"Nice=99"`, false},
		{schedArgs("-p", "NoEquals", "--", tr), `"NoEquals"`, false},
		{schedArgs("-p", "=5", "--", tr), `"=5"`, false},
		{schedArgs("-p", "MemoryMax=12Q", "--", tr), `"MemoryMax=12Q"`, true},
		{schedArgs("-p", "CPUQuota=fifty%", "--", tr), `"CPUQuota=fifty%"`, false},
		{schedArgs("-p", "TasksMax=lots", "--", tr), `"TasksMax=lots"`, false},
		{schedArgs("-p", "NoNewPrivileges=perhaps", "--", tr), `"NoNewPrivileges=perhaps"`, false},
		{schedArgs("-p", "TimeoutStartSec=5x", "--", tr), `"TimeoutStartSec=5x"`, false},
		{schedArgs("-p", "RuntimeMaxSec=forever", "--", tr), `"RuntimeMaxSec=forever"`, false},
		{schedArgs("-p", "CPUSchedulingPolicy=turbo", "--", tr), `"CPUSchedulingPolicy=turbo"`, false},
		{schedArgs("-p", "IOSchedulingClass=urgent", "--", tr), `"IOSchedulingClass=urgent"`, false},
		{schedArgs("-p", "IOSchedulingPriority=8", "--", tr), `"IOSchedulingPriority=8"`, false},
		{schedArgs("-p", "CPUAffinity=abc", "--", tr), `"CPUAffinity=abc"`, false},
		{schedArgs("-p", "AllowedCPUs=x", "--", tr), `"AllowedCPUs=x"`, false},
		{schedArgs("-p", "LimitNOFILE=lots", "--", tr), `"LimitNOFILE=lots"`, false},
		{schedArgs("-p", "UMask=999", "--", tr), `"UMask=999"`, false},
		{schedArgs("-p", "KillSignal=SIGBOGUS", "--", tr), `"KillSignal=SIGBOGUS"`, false},
		{schedArgs("-p", "IPAddressDeny=300.1.1.1", "--", tr), `"IPAddressDeny=300.1.1.1"`, false},
		{schedArgs("-p", "IOWeight=0", "--", tr), `"IOWeight=0"`, false},
		{schedArgs("-p", "CPUWeight=0", "--", tr), `"CPUWeight=0"`, false},
		{schedArgs("-p", "LogLevelMax=loud", "--", tr), `"LogLevelMax=loud"`, false},
		{schedArgs("-p", "SyslogFacility=bogus", "--", tr), `"SyslogFacility=bogus"`, false},
		{schedArgs("-p", "TimeoutStopSec=x", "--", tr), `"TimeoutStopSec=x"`, false},
		{schedArgs("-p", "MemoryLow=1Z", "--", tr), `"MemoryLow=1Z"`, false},
		{schedArgs("-p", "CPUQuota=-5%", "--", tr), `"CPUQuota=-5%"`, false},
		{schedArgs("-p", "LimitCORE=x", "--", tr), `"LimitCORE=x"`, false},
		{schedArgs("-p", "Nice=-21", "--", tr), `"Nice=-21"`, false},
		{schedArgs("-p", `ExecStartPre=/bin/sh "unterminated`, "--", tr), `ExecStartPre=/bin/sh \"unterminated`, false},
		{schedArgs("-p", `Environment="A=1`, "--", tr), `Environment=\"A=1`, false},
		{schedArgs("-p", "RuntimeRandomizedExtraSec=2x", "--", tr), `"RuntimeRandomizedExtraSec=2x"`, false},
		{schedArgs("-p", "ConditionPathExists=", "-p", "MemoryMax=1%%", "--", tr), `"MemoryMax=1%%"`, false},
		{schedArgs("-p", "RandomizedDelaySec=5", "--", tr), `use --timer-property`, false},
		{schedArgs("-p", "OnCalendar=daily", "--", tr), `"OnCalendar=daily"`, false},
		// Refused by the manager, so refused before anything is sent
		// (props' manager checks).
		{schedArgs("-p", "ProtectSystem=extreme", "--", tr), `"ProtectSystem=extreme": want yes, no, full, strict`, true},
		{schedArgs("-p", "Restart=sometimes", "--", tr), `"Restart=sometimes": want no, on-success`, false},
		{schedArgs("-p", "StandardOutput=nowhere", "--", tr), `"StandardOutput=nowhere"`, false},
		{schedArgs("-p", "OOMScoreAdjust=2000", "--", tr), `"OOMScoreAdjust=2000": out of range -1000..1000`, false},
		{schedArgs("-p", "Type=bogus", "--", tr), `"Type=bogus": want simple`, true},
		{schedArgs("-p", "RequiresMountsFor=relative", "--", tr), `"RequiresMountsFor=relative"`, false},
		{nowArgs("-p", "StateDirectory=/abs", "--", tr), `"StateDirectory=/abs"`, true},
		{nowArgs("-p", "ExecStart=", "-p", "Bogus=1", "--", tr), `"Bogus=1"`, true},
		{nowArgs("-p", "MemoryHigh=-1", "--", tr), `"MemoryHigh=-1"`, false},
		{nowArgs("-p", "RandomizedDelaySec=1m", "--", tr), `use --timer-property`, false},

		// Timer properties.
		{schedArgs("--timer-property", "Nice=5", "--", tr), `use -p`, true},
		{schedArgs("--timer-property", "Persistent=perhaps", "--", tr), `"Persistent=perhaps"`, false},
		{schedArgs("--timer-property", "AccuracySec=1x", "--", tr), `"AccuracySec=1x"`, false},
		{schedArgs("--timer-property", "Bogus=1", "--", tr), `"Bogus=1"`, false},
		{schedArgs("--timer-property", "NoEquals", "--", tr), `"NoEquals"`, false},
		{schedArgs("--timer-property", "RandomizedDelaySec=-5", "--", tr), `"RandomizedDelaySec=-5"`, false},

		// Environment.
		{schedArgs("-E", "=x", "--", tr), `"=x"`, false},
		{schedArgs("-E", "A B=1", "--", tr), `"A B=1"`, false},
		{nowArgs("-E", "", "--", tr), `--setenv ""`, false},
		{nowArgs("--setenv", "\tX=1", "--", tr), `"\tX=1"`, false},

		// Paths.
		{schedArgs("--writable", "var/tmp", "--", tr), `"var/tmp": must be absolute`, true},
		{schedArgs("--writable", "", "--", tr), `""`, false},
		{schedArgs("--hardening=off", "--writable", "/var/tmp", "--", tr), `--writable has no effect`, false},
		{nowArgs("--passphrase-file", "pp", "--", tr), `--passphrase-file "pp"`, true},
		{nowArgs("--passphrase-file", "/nonexistent/pp", "--", tr), `"/nonexistent/pp"`, false},
		{nowArgs("--passphrase-file", "/etc", "--", tr), `--passphrase-file "/etc"`, false},
		{nowArgs("--passphrase-file", "/dev/null", "--", tr), `--passphrase-file "/dev/null"`, false},
		{nowArgs("--passphrase-credential", "pp.cred", "--", tr), `--passphrase-credential "pp.cred"`, false},
		{nowArgs("--passphrase-credential", "/nonexistent/pp.cred", "--", tr), `--passphrase-credential "/nonexistent/pp.cred"`, false},
		{schedArgs("--passphrase-credential", "/etc", "--", tr), `--passphrase-credential "/etc"`, false},
		{nowArgs("--passphrase-file", "/etc/hostname", "--passphrase-credential", "/etc/hostname", "--", tr), `not both`, true},
		{nowArgs("--", "borgmatic", "-c", "/nonexistent/b.yaml"), `"/nonexistent/b.yaml"`, false},

		// Commands that don't exist or can't run.
		{schedArgs("--", "no-such-command-xyz"), `"no-such-command-xyz"`, true},
		{nowArgs("--", "no-such-command-xyz"), `"no-such-command-xyz"`, false},
		{nowArgs("--", "/nonexistent/bin/x"), `"/nonexistent/bin/x"`, false},
		{nowArgs("--", "/etc"), `"/etc"`, false},
		{nowArgs("--", "/etc/passwd"), `"/etc/passwd"`, false},
		{nowArgs("--", ""), `command ""`, false},

		// now: flags that belong elsewhere or take no value.
		{nowArgs("--quiet=maybe"), `"maybe"`, false},
		{nowArgs("--wait-running=x"), `"x"`, false},
		{nowArgs("--ac-only=2"), `"2"`, false},
		{nowArgs("--daily"), "unknown flag: --daily", true},
		{nowArgs("--replace"), "unknown flag: --replace", false},
		{nowArgs("--dry-run"), "unknown flag: --dry-run", false},
		{nowArgs("--timer-property", "Persistent=yes"), "unknown flag: --timer-property", false},
		{nowArgs("--name", "", "--", tr), "--name", false},

		// list and remove.
		{[]string{"list", "extra"}, `"extra"`, true},
		{[]string{"list", "--bogus"}, "--bogus", false},
		{[]string{"list", "--json=maybe"}, `"maybe"`, false},
		{[]string{"list", "--user=maybe"}, `"maybe"`, false},
		{[]string{"remove"}, "NAME... or --all", true},
		{[]string{"remove", "--force"}, "NAME... or --all", false},
		{[]string{"remove", "--all", "x"}, "not both", false},
		{[]string{"remove", "x", "--all"}, "not both", false},
		{[]string{"remove", "bad name"}, `"bad name"`, false},
		{[]string{"remove", "ok", "bad/name"}, `"bad/name"`, false},
		{[]string{"remove", "--bogus", "x"}, "--bogus", false},
		{[]string{"remove", "--all=maybe"}, `"maybe"`, false},
		{[]string{"remove", "--force=2", "x"}, `"2"`, false},

		// export.
		{[]string{"export"}, "NAME...", true},
		{[]string{"export", "--dir", "/tmp"}, "NAME...", false},
		{[]string{"export", "bad name"}, `"bad name"`, false},
		{[]string{"export", "ok", "-x"}, "-x", false},
		{[]string{"export", "--bogus", "x"}, "--bogus", false},
		{[]string{"export", "x", "--dir"}, "--dir", false},
		{[]string{"export", "x", "--dir", ""}, `--dir ""`, false},
		{[]string{"export", "x", "--dir", "/nonexistent/d"}, `--dir "/nonexistent/d": want an existing directory`, true},
		{[]string{"export", "x", "--dir", "/etc/passwd"}, `--dir "/etc/passwd": not a directory`, true},
		{[]string{"export", "x", "--user=maybe"}, `"maybe"`, false},
		{[]string{"export", "x", "--all"}, "--all", false},

		// run.
		{[]string{"run", "--bogus", tr}, "'--bogus'", true},
		{[]string{"run"}, "COMMAND", false},
		{[]string{"run", "--wait", "--no-block", tr}, "--no-block", false},
		{[]string{"run", "--on-calendar", "Mon 25:00", tr}, `"Mon 25:00"`, false},
		{[]string{"run", "-u", "x.socket", tr}, `"x.socket"`, false},
		{[]string{"run", "--nice", "20", tr}, `"20"`, false},
		{[]string{"run", "borgrun-no-such-command"}, `"borgrun-no-such-command"`, false},
		{[]string{"run", "-p", "Nice=99", tr}, `"Nice=99"`, false},
		{[]string{"run", "--on-active", "5x", tr}, `"OnActiveSec=5x"`, false},
		{[]string{"run", "--pipe", "--on-active=1h", tr}, "--pipe", false},
		{[]string{"run", "--scope", "--wait", tr}, "--scope", false},
		{[]string{"run", "--slice=x.service", tr}, `"x.service"`, false},
		{[]string{"run", "-E", "1X=y", tr}, `"1X=y"`, false},
		{[]string{"run", "--timer-property=Bogus=1", "--on-active=1h", tr}, `"Bogus=1"`, false},
		{[]string{"run", "--timer-property=Persistent=yes", tr}, "Persistent=yes", false},
	}
}

// TestBadInputTable runs every bad command line in-process: exit 2, one
// line "borgrun: ..." naming the bad token, and no manager contacted.
func TestBadInputTable(t *testing.T) {
	cases := badInputCases()
	if len(cases) < 100 {
		t.Fatalf("only %d cases, want at least 100", len(cases))
	}
	for _, tt := range cases {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := newBadInputEnv(t, &stdout, &stderr).main(tt.args); code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			msg := stderr.String()
			if strings.Count(msg, "\n") != 1 || !strings.HasSuffix(msg, "\n") || !strings.HasPrefix(msg, "borgrun: ") || !strings.Contains(msg, tt.want) {
				t.Errorf("stderr %q: want one line starting \"borgrun: \" containing %q", msg, tt.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
		})
	}
}

// unitList returns the manager's unit list, one "unit load active sub"
// line per unit.
func unitList(t *testing.T) []string {
	t.Helper()
	out := systemctl(t, "list-units", "--all", "--plain", "--no-legend", "--no-pager")
	var units []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(l); len(f) >= 4 {
			units = append(units, strings.Join(f[:4], " "))
		}
	}
	slices.Sort(units)
	return units
}

// managedUnits is the part of the unit list that a borgrun command could
// change: every unit but those that follow the kernel's mount and device
// tables (credential mounts of units that ended come and go on their own),
// as "unit load".
func managedUnits(t *testing.T) []string {
	t.Helper()
	var units []string
	for _, l := range unitList(t) {
		f := strings.Fields(l)
		switch filepath.Ext(f[0]) {
		case ".mount", ".automount", ".device", ".swap":
			continue
		}
		units = append(units, f[0]+" "+f[1])
	}
	return units
}

// TestBadInputLeavesManagerUntouched runs a sample of the bad command
// lines as real processes in the sandbox: each exits 2 and the manager's
// unit list (its units and their load states, but for mounts and devices,
// which change on their own) is the same afterwards.
func TestBadInputLeavesManagerUntouched(t *testing.T) {
	var sample []badCase
	for _, tt := range badInputCases() {
		if tt.inSandbox {
			sample = append(sample, tt)
		}
	}
	if len(sample) < 15 {
		t.Fatalf("sample of %d cases, want at least 15", len(sample))
	}
	for _, tt := range sample {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			before := managedUnits(t)
			_, stderr, code := borgrun(t, tt.args...)
			if code != exitUsage || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q: want %d and one line containing %q", code, stderr, exitUsage, tt.want)
			}
			if after := managedUnits(t); !slices.Equal(before, after) {
				t.Errorf("the unit list changed:\n%s", lineDiff(strings.Join(after, "\n"), strings.Join(before, "\n")))
			}
		})
	}
}

// TestManagerRejectsPair: properties that borgrun's parser accepts but the
// manager refuses make schedule fail with exit 1 and leave neither unit
// (and now leave no unit).
func TestManagerRejectsPair(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in the manager's message
	}{
		// Values the manager refuses that props does not check (see
		// props/manager.go); the others now fail as bad input.
		{"svcprop", []string{"-p", "Personality=bogus"}, "Personality"},
		{"timerprop", []string{"--timer-property", "OnActiveSec="}, "borgrun-reject-timerprop.timer has a bad unit file setting"},
		{"archs", []string{"-p", "SystemCallArchitectures=bogus"}, "Invalid argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "reject-" + tt.name
			cleanupJob(t, name)
			args := append(append([]string{"schedule", "--daily", "--name", name}, tt.args...), "--", "/bin/true")
			stdout, stderr, code := borgrun(t, args...)
			// Refused as invalid by the manager: bad input, as what
			// props refuses itself (exit 2), and nothing created.
			if code != exitUsage || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q: want %d and one line from the manager naming %s", code, stdout, stderr, exitUsage, tt.want)
			}
			assertNoPair(t, name)
		})
	}
	t.Run("now", func(t *testing.T) {
		_, stderr, code := borgrun(t, "now", "--name", "reject-now", "-p", "Personality=bogus", "--", "/bin/true")
		if code != exitUsage || !strings.Contains(stderr, "Personality") {
			t.Errorf("exit %d, stderr %q: want %d naming Personality", code, stderr, exitUsage)
		}
		if ls := showProps(t, "borgrun-reject-now-now.service", "LoadState")["LoadState"]; ls != "not-found" {
			t.Errorf("borgrun-reject-now-now.service LoadState = %q, want not-found", ls)
		}
	})
}

// assertNoPair checks that neither unit of job name is loaded, in the
// unit list or by name.
func assertNoPair(t *testing.T, name string) {
	t.Helper()
	for _, u := range []string{"borgrun-" + name + ".timer", "borgrun-" + name + ".service"} {
		if ls := showProps(t, u, "LoadState")["LoadState"]; ls != "not-found" {
			t.Errorf("%s LoadState = %q, want not-found", u, ls)
		}
		for _, l := range unitList(t) {
			if strings.HasPrefix(l, u+" ") {
				t.Errorf("%s is in the unit list: %q", u, l)
			}
		}
	}
}

// TestReplaceRejectedKeepsNoHalfPair: a --replace whose new pair the
// manager refuses never leaves half a pair, and says that the previous
// schedule is gone.
func TestReplaceRejectedKeepsNoHalfPair(t *testing.T) {
	cleanupJob(t, "rejrepl")
	if _, stderr, code := borgrun(t, "schedule", "--daily", "--name", "rejrepl", "--", "/bin/true"); code != 0 {
		t.Fatalf("schedule: exit %d: %s", code, stderr)
	}
	_, stderr, code := borgrun(t, "schedule", "--weekly", "--replace", "--name", "rejrepl", "-p", "Personality=bogus", "--", "/bin/true")
	if code != exitUsage || !strings.Contains(stderr, "Personality") {
		t.Fatalf("replace: exit %d, stderr %q: want %d naming Personality", code, stderr, exitUsage)
	}
	timer := showProps(t, "borgrun-rejrepl.timer", "LoadState")["LoadState"]
	service := showProps(t, "borgrun-rejrepl.service", "LoadState")["LoadState"]
	if timer != service {
		t.Errorf("half a pair after a rejected replace: timer %s, service %s", timer, service)
	}
	if timer != "loaded" && !strings.Contains(stderr, "the previous schedule of rejrepl was removed first") {
		t.Errorf("the previous schedule is gone (timer %s) and stderr %q does not say so", timer, stderr)
	}
}

// TestManagerUnreachable runs borgrun on the host, where no systemd runs:
// every command that needs the manager fails at once (well under a second)
// with one line naming each address tried.
func TestManagerUnreachable(t *testing.T) {
	if _, err := os.Stat(transient.PrivateSocket); err == nil {
		t.Skip("the host runs a system manager")
	}
	if os.Geteuid() != 0 {
		skipUnlessRequired(t, "not root: the addresses tried differ")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		append(append([]string{"schedule", "--daily", "--name", "unreach"}, fast...), "--", "/bin/true"),
		{"schedule", "--daily", "--name", "unreach", "--", "/bin/true"},
		append(append([]string{"now", "--name", "unreach"}, fast...), "--", "/bin/true"),
		{"list"},
		{"remove", "unreach"},
		{"remove", "--all"},
		{"export", "unreach"},
		{"run", "/bin/true"},
		{"run", "--wait", "/bin/true"},
		{"run", "--on-active=1h", "/bin/true"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), exe, args...)
			cmd.Env = append(os.Environ(), "BORGRUN_TEST_MAIN=1", "DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			start := time.Now()
			err := cmd.Run()
			took := time.Since(start)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitFailure {
				t.Fatalf("exit %v, want %d; stderr %q", err, exitFailure, stderr.String())
			}
			msg := stderr.String()
			if strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "cannot reach the system manager") ||
				!strings.Contains(msg, transient.PrivateSocket) || !strings.Contains(msg, "/nonexistent") {
				t.Errorf("stderr %q: want one line naming %s and /nonexistent", msg, transient.PrivateSocket)
			}
			if took >= time.Second {
				t.Errorf("took %v, want under 1s", took)
			}
		})
	}
}

// TestManagerRefuses: a bus socket that refuses the caller (permission
// denied for a user who may not connect, or a peer that hangs up at once)
// gives one line naming the address, exit 1, in under a second.
func TestManagerRefuses(t *testing.T) {
	if os.Geteuid() != 0 {
		skipUnlessRequired(t, "not root: needs root to run as another user")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// A world-readable copy of borgrun (the test binary) for nobody.
	dir, err := os.MkdirTemp("", "borgrun-refuse-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "borgrun")
	if err := copyFile(exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	listen := func(t *testing.T, name string, mode os.FileMode, serve func(net.Conn)) string {
		path := filepath.Join(dir, name)
		l, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				serve(c)
			}
		}()
		return path
	}
	tests := []struct {
		name   string
		uid    uint32
		mode   os.FileMode
		serve  func(net.Conn)
		want   string
		wantRe string
	}{
		{"permission denied", 65534, 0o600, func(c net.Conn) { c.Close() }, "permission denied", ""},
		{"hangs up", 0, 0o666, func(c net.Conn) { c.Close() }, "", ""},
		{"hangs up, not root", 65534, 0o666, func(c net.Conn) { c.Close() }, "", ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sock := listen(t, "bus"+strconv.Itoa(i), tt.mode, tt.serve)
			for _, args := range [][]string{{"list"}, {"remove", "x"}, append(append([]string{"now"}, fast...), "--", "/bin/true")} {
				cmd := exec.CommandContext(t.Context(), bin, args...)
				cmd.Env = append(os.Environ(), "BORGRUN_TEST_MAIN=1", "DBUS_SYSTEM_BUS_ADDRESS=unix:path="+sock)
				if tt.uid != 0 {
					cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: tt.uid, Gid: tt.uid}}
				}
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				start := time.Now()
				err := cmd.Run()
				took := time.Since(start)
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != exitFailure {
					t.Errorf("%v: exit %v, want %d; stderr %q", args, err, exitFailure, stderr.String())
					continue
				}
				msg := stderr.String()
				if strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "cannot reach the system manager") || !strings.Contains(msg, sock) || !strings.Contains(msg, tt.want) {
					t.Errorf("%v: stderr %q: want one line naming %s and %q", args, msg, sock, tt.want)
				}
				if took >= time.Second {
					t.Errorf("%v: took %v, want under 1s", args, took)
				}
			}
		})
	}
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// TestNameCollisions: a unit of the job's name that borgrun did not create
// (failed, active, a foreign timer, a unit file, a masked name) makes
// schedule fail with exit 1, says so, and creates nothing beside it.
func TestNameCollisions(t *testing.T) {
	sys := sandbox.Get(t)
	tests := []struct {
		name  string
		setup string // shell, run in the sandbox
		units []string
		want  string
	}{
		{"colfailed", "systemd-run --unit=borgrun-colfailed -p Type=oneshot /bin/false || true", []string{".service"}, "exists and was not created by borgrun"},
		{"colactive", "systemd-run --unit=borgrun-colactive /bin/sleep 300", []string{".service"}, "exists and was not created by borgrun"},
		{"coltimer", "systemd-run --unit=borgrun-coltimer --on-calendar=daily /bin/true", []string{".timer", ".service"}, "exists and was not created by borgrun"},
		{"colfrag", "printf '[Timer]\\nOnCalendar=daily\\n' > /etc/systemd/system/borgrun-colfrag.timer && systemctl daemon-reload", []string{".timer"}, "exists and was not created by borgrun"},
		{"colfragsvc", "printf '[Service]\\nType=oneshot\\nExecStart=/bin/true\\n' > /etc/systemd/system/borgrun-colfragsvc.service && systemctl daemon-reload", []string{".service"}, "exists and was not created by borgrun"},
		{"colmask", "ln -sf /dev/null /etc/systemd/system/borgrun-colmask.timer && systemctl daemon-reload", []string{".timer"}, "exists and was not created by borgrun"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Cleanup(func() {
				ctx := context.Background()
				sys.Output(ctx, "sh", "-c", "rm -f /etc/systemd/system/borgrun-"+tt.name+".* && systemctl daemon-reload")
				sys.Output(ctx, "systemctl", "stop", "borgrun-"+tt.name+".timer", "borgrun-"+tt.name+".service")
				sys.Output(ctx, "systemctl", "reset-failed", "borgrun-"+tt.name+".timer", "borgrun-"+tt.name+".service")
			})
			if _, err := sys.Output(t.Context(), "sh", "-c", tt.setup); err != nil {
				t.Fatal(err)
			}
			all := []string{"borgrun-" + tt.name + ".timer", "borgrun-" + tt.name + ".service"}
			before := map[string]map[string]string{}
			for _, u := range all {
				before[u] = showProps(t, u, "LoadState", "ActiveState", "Transient", "FragmentPath")
			}
			for _, suffix := range tt.units {
				if ls := before["borgrun-"+tt.name+suffix]["LoadState"]; ls == "not-found" {
					t.Fatalf("setup did not create borgrun-%s%s", tt.name, suffix)
				}
			}
			for _, args := range [][]string{
				{"schedule", "--daily", "--name", tt.name, "--", "/bin/true"},
				{"schedule", "--daily", "--replace", "--name", tt.name, "--", "/bin/true"},
				{"remove", tt.name},
				{"remove", "--force", tt.name},
			} {
				stdout, stderr, code := borgrun(t, args...)
				if code != exitFailure || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tt.want) {
					t.Errorf("%v: exit %d, stdout %q, stderr %q: want %d and one line containing %q", args, code, stdout, stderr, exitFailure, tt.want)
				}
				for _, u := range all {
					if got := showProps(t, u, "LoadState", "ActiveState", "Transient", "FragmentPath"); fmt.Sprint(got) != fmt.Sprint(before[u]) {
						t.Errorf("%v changed %s: %v, was %v", args, u, got, before[u])
					}
				}
			}
		})
	}
	t.Run("now", func(t *testing.T) {
		t.Cleanup(func() {
			sys.Output(context.Background(), "systemctl", "stop", "borgrun-colnow-now.service")
		})
		if _, err := sys.Output(t.Context(), "systemd-run", "--unit=borgrun-colnow-now", "/bin/sleep", "300"); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := borgrun(t, append(append([]string{"now", "--name", "colnow"}, fast...), "--", "/bin/true")...)
		if code != exitFailure || !strings.Contains(stderr, "borgrun-colnow-now.service is already running") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
		if got := showProps(t, "borgrun-colnow-now.service", "ActiveState", "ExecStart"); got["ActiveState"] != "active" || !strings.Contains(got["ExecStart"], "/bin/sleep") {
			t.Errorf("the foreign unit was disturbed: %v", got)
		}
	})
}

// runParallel runs n jobs, at most width at a time, and waits for all.
func runParallel(n, width int, job func(i int)) {
	sem := make(chan struct{}, width)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			job(i)
		}()
	}
	wg.Wait()
}

// loadWidth is how many borgrun processes the load tests run at once.
const loadWidth = 200

// TestLoadConcurrentNow: 200 borgrun now with different names, 50 at a
// time, all report their command's exit status and leave nothing behind.
func TestLoadConcurrentNow(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	const n = 200
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	sys := sandbox.Get(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var inFlight, maxInFlight atomic.Int32
	codes := make([]int, n)
	stderrs := make([]string, n)
	start := time.Now()
	runParallel(n, loadWidth, func(i int) {
		args := append(append([]string{"now", "--name", fmt.Sprintf("load%03d", i)}, fast...), "--", "/bin/sh", "-c", fmt.Sprintf("exit %d", i%7))
		cmd := sys.Command(ctx, exe, args...)
		cmd.Env = append(cmd.Env, "BORGRUN_TEST_MAIN=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		cur := inFlight.Add(1)
		for m := maxInFlight.Load(); cur > m && !maxInFlight.CompareAndSwap(m, cur); m = maxInFlight.Load() {
		}
		err := cmd.Run()
		inFlight.Add(-1)
		var ee *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee):
			codes[i] = ee.ExitCode()
		default:
			codes[i] = -1
		}
		stderrs[i] = stderr.String()
	})
	took := time.Since(start)
	t.Logf("%d concurrent now (at most %d at once, %d seen): %v, %v each on average", n, loadWidth, maxInFlight.Load(), took, took/n)
	if ctx.Err() != nil {
		t.Fatalf("not done within the bound: %v", ctx.Err())
	}
	if maxInFlight.Load() < 2 {
		t.Errorf("the runs did not overlap")
	}
	wrong := 0
	for i, code := range codes {
		want := i % 7
		if code != want || !strings.Contains(stderrs[i], fmt.Sprintf("code=exited/status=%d\n", want)) {
			if wrong++; wrong <= 10 {
				t.Errorf("load%03d: exit %d, want %d; stderr %q", i, code, want, stderrs[i])
			}
		}
	}
	if wrong > 0 {
		t.Errorf("%d of %d runs reported a wrong status", wrong, n)
	}
	for _, l := range unitList(t) {
		if strings.HasPrefix(l, "borgrun-load") {
			t.Errorf("left behind: %s", l)
		}
	}
}

// TestLoadConcurrentSchedule: 200 identical borgrun schedule at once end
// with exactly one pair; exactly one says it scheduled it, the others that
// it was already scheduled.
func TestLoadConcurrentSchedule(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	const n = 200
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	sys := sandbox.Get(t)
	cleanupJob(t, "loadsched")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{"schedule", "--daily", "--name", "loadsched"}, fast...), "--", "/bin/true")
	codes := make([]int, n)
	stdouts, stderrs := make([]string, n), make([]string, n)
	start := time.Now()
	runParallel(n, loadWidth, func(i int) {
		cmd := sys.Command(ctx, exe, args...)
		cmd.Env = append(cmd.Env, "BORGRUN_TEST_MAIN=1")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee):
			codes[i] = ee.ExitCode()
		default:
			codes[i] = -1
		}
		stdouts[i], stderrs[i] = stdout.String(), stderr.String()
	})
	took := time.Since(start)
	t.Logf("%d concurrent schedule (at most %d at once): %v", n, loadWidth, took)
	if ctx.Err() != nil {
		t.Fatalf("not done within the bound: %v", ctx.Err())
	}
	created, unchanged := 0, 0
	for i := range n {
		switch {
		case codes[i] != 0:
			t.Errorf("run %d: exit %d, stderr %q", i, codes[i], stderrs[i])
		case strings.HasPrefix(stdouts[i], "scheduled loadsched: "):
			created++
		case strings.HasPrefix(stdouts[i], "already scheduled, unchanged: loadsched: "):
			unchanged++
		default:
			t.Errorf("run %d: stdout %q", i, stdouts[i])
		}
	}
	if created != 1 || unchanged != n-1 {
		t.Errorf("%d said scheduled and %d unchanged, want 1 and %d", created, unchanged, n-1)
	}
	var pair []string
	for _, l := range unitList(t) {
		if strings.HasPrefix(l, "borgrun-loadsched.") {
			pair = append(pair, l)
		}
	}
	if len(pair) != 2 || !strings.HasPrefix(pair[0], "borgrun-loadsched.service loaded") || !strings.HasPrefix(pair[1], "borgrun-loadsched.timer loaded active") {
		t.Errorf("units: %q, want exactly the pair", pair)
	}
}

// bgBorgrun is a borgrun process running in the sandbox in the background.
type bgBorgrun struct {
	cmd    *exec.Cmd
	stdout *bufio.Reader
	stderr *bytes.Buffer
	done   chan error
}

// startBorgrun starts borgrun with args in the sandbox.
func startBorgrun(t *testing.T, args ...string) *bgBorgrun {
	t.Helper()
	return startBorgrunEnv(t, nil, args...)
}

// startBorgrunEnv is startBorgrun with extra environment variables.
func startBorgrunEnv(t *testing.T, env []string, args ...string) *bgBorgrun {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := sandbox.Get(t).Command(t.Context(), exe, args...)
	cmd.Env = append(append(cmd.Env, "BORGRUN_TEST_MAIN=1"), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	b := &bgBorgrun{cmd: cmd, stdout: bufio.NewReader(stdout), stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	cmd.Stderr = b.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return b
}

// readLine returns the next line of borgrun's stdout.
func (b *bgBorgrun) readLine(t *testing.T) string {
	t.Helper()
	line, err := b.stdout.ReadString('\n')
	if err != nil {
		// Say why: borgrun has closed its output, so it is ending.
		code := b.wait(t, 30*time.Second)
		t.Fatalf("reading borgrun's output: %q, %v; borgrun exit %d, stderr %q", line, err, code, b.stderr.String())
	}
	return line
}

// signal sends sig to borgrun itself (nsenter's child inside the sandbox).
func (b *bgBorgrun) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	pid := b.cmd.Process.Pid
	children, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(pid) + "/children")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(children))
	if len(f) == 0 {
		t.Fatal("nsenter has no child")
	}
	child, err := strconv.Atoi(f[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(child, sig); err != nil {
		t.Fatal(err)
	}
}

// exitStatusOf is the exit status of a command whose Wait returned err;
// an error other than an exit status fails t.
func exitStatusOf(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatal(err)
	return -1
}

// wait waits, bounded, for borgrun (and the writers of its output) to end
// and returns its exit status.
func (b *bgBorgrun) wait(t *testing.T, bound time.Duration) int {
	t.Helper()
	go func() { _, _ = io.Copy(io.Discard, b.stdout); b.done <- b.cmd.Wait() }()
	select {
	case err := <-b.done:
		return exitStatusOf(t, err)
	case <-time.After(bound):
		t.Fatalf("borgrun did not end within %v", bound)
	}
	return -1
}

// mkfifo makes a FIFO at path inside the sandbox.
func mkfifo(t *testing.T, path string) {
	t.Helper()
	if _, err := sandbox.Get(t).Output(t.Context(), "sh", "-c", "rm -f "+path+" && mkfifo "+path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sandbox.Get(t).Output(context.Background(), "rm", "-f", path) })
}

// TestNowSIGKILLLeavesBackupRunning: borgrun killed outright during now
// does not take the backup with it: the unit runs to completion under
// systemd.
func TestNowSIGKILLLeavesBackupRunning(t *testing.T) {
	sys := sandbox.Get(t)
	fifo, marker := "/run/borgrun-sigkill.fifo", "/run/borgrun-sigkill.done"
	mkfifo(t, fifo)
	t.Cleanup(func() { sys.Output(context.Background(), "rm", "-f", marker) })
	t.Cleanup(func() { sys.Output(context.Background(), "systemctl", "stop", "borgrun-sigkill-now.service") })
	b := startBorgrun(t, append(append([]string{"now", "--name", "sigkill"}, fast...), "--", "/bin/sh", "-c",
		"echo started; read x < "+fifo+"; echo done > "+marker)...)
	if line := b.readLine(t); line != "started\n" {
		t.Fatalf("first line %q", line)
	}
	c := dialSandbox(t)
	b.signal(t, syscall.SIGKILL)
	// borgrun's end: nsenter reports the child's death by SIGKILL.
	exited := make(chan struct{})
	go func() { _, _ = b.cmd.Process.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("borgrun did not die of SIGKILL within 30s")
	}
	if running, err := c.Running(t.Context(), "borgrun-sigkill-now.service"); err != nil || !running {
		t.Fatalf("after SIGKILL of borgrun the backup is not running (%v, %v)", running, err)
	}
	if _, err := sys.Output(t.Context(), "sh", "-c", "echo go > "+fifo); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := c.WaitIdle(ctx, "borgrun-sigkill-now.service"); err != nil {
		t.Fatal(err)
	}
	out, err := sys.Output(t.Context(), "cat", marker)
	if err != nil || out != "done\n" {
		t.Fatalf("the backup did not complete: marker %q, %v", out, err)
	}
}

// TestPassphraseNeverShown: with --passphrase-file the passphrase reaches
// the command, but never systemctl show, systemctl cat or any argv.
func TestPassphraseNeverShown(t *testing.T) {
	sys := sandbox.Get(t)
	secret := "borgrun-secret-" + rand.Text()
	sum := sha256.Sum256([]byte(secret))
	pp, fifo := "/run/borgrun-secret.pp", "/run/borgrun-secret.fifo"
	if _, err := sys.Output(t.Context(), "sh", "-c", "umask 077 && printf %s '"+secret+"' > "+pp); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sys.Output(context.Background(), "rm", "-f", pp) })
	mkfifo(t, fifo)
	cleanupJob(t, "secretsched")
	t.Cleanup(func() { sys.Output(context.Background(), "systemctl", "stop", "borgrun-secret-now.service") })

	if _, stderr, code := borgrun(t, "schedule", "--daily", "--name", "secretsched", "--passphrase-file", pp, "--", "/bin/true"); code != 0 {
		t.Fatalf("schedule: exit %d: %s", code, stderr)
	}
	// The command prints the passphrase's hash (proving it can read it),
	// then waits.
	b := startBorgrun(t, "now", "--name", "secret", "--passphrase-file", pp, "--", "/bin/sh", "-c",
		`sha256sum < "$${CREDENTIALS_DIRECTORY}/borg-passphrase"; read x < `+fifo)
	if line := b.readLine(t); !strings.HasPrefix(line, hex.EncodeToString(sum[:])) {
		t.Fatalf("the command read %q from the credential, want the passphrase's hash", line)
	}
	for _, look := range [][]string{
		{"systemctl", "show", "borgrun-secret-now.service"},
		{"systemctl", "cat", "borgrun-secret-now.service"},
		{"systemctl", "show", "borgrun-secretsched.service", "borgrun-secretsched.timer"},
		{"systemctl", "cat", "borgrun-secretsched.service", "borgrun-secretsched.timer"},
		{"ps", "-eo", "args"},
		{"sh", "-c", "cat /proc/[0-9]*/environ | tr '\\0' '\\n'"},
	} {
		out, err := sys.Output(t.Context(), look[0], look[1:]...)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, secret) {
			t.Errorf("%v shows the passphrase", look)
		}
		// It does look at the right things.
		if want := map[string]string{"show": "borg-passphrase", "cat": "LoadCredential=borg-passphrase:" + pp, "-eo": "read x < " + fifo}[look[1]]; want != "" && !strings.Contains(out, want) {
			t.Errorf("%v lacks %q", look, want)
		}
	}
	if _, err := sys.Output(t.Context(), "sh", "-c", "echo go > "+fifo); err != nil {
		t.Fatal(err)
	}
	if code := b.wait(t, 30*time.Second); code != 0 {
		t.Errorf("now: exit %d; stderr %q", code, b.stderr.String())
	}
}

// TestBorgmaticConfigNotRegular: a borgmatic configuration that is a FIFO
// (or a device) is bad input, reported at once; it must not block borgrun
// (reading a FIFO blocks for ever, /dev/zero never ends).
func TestBorgmaticConfigNotRegular(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "config.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	e := newBadInputEnv(t, &stdout, &stderr)
	done := make(chan int, 1)
	go func() { done <- e.main([]string{"now", "--", "borgmatic", "-c", fifo}) }()
	select {
	case code := <-done:
		if code != exitUsage || strings.Count(stderr.String(), "\n") != 1 || !strings.Contains(stderr.String(), fifo) {
			t.Errorf("exit %d, stderr %q: want %d naming %s", code, stderr.String(), exitUsage, fifo)
		}
	case <-time.After(10 * time.Second):
		// Unblock the reader so that the goroutine ends.
		if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			w.Close()
		}
		<-done
		t.Errorf("borgrun blocked reading the FIFO %s named as borgmatic configuration", fifo)
	}
}

// TestUsageMessageStaysOneLine: bad input containing a newline is
// still reported on one line (pflag quotes the bad token raw, so
// "schedule -\n" used to print two lines; found by FuzzCLI).
func TestUsageMessageStaysOneLine(t *testing.T) {
	for _, args := range [][]string{
		{"schedule", "-\n"},
		{"schedule", "--a\nb"},
		{"now", "--x\r\ny"},
		{"list", "--json=x\ny"},
		{"remove", "--bogus\n", "x"},
		{"now", "--quiet=\n"},
	} {
		t.Run(fmt.Sprintf("%q", args), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := newBadInputEnv(t, &stdout, &stderr).main(args); code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if msg := stderr.String(); strings.Count(msg, "\n") != 1 || !strings.HasSuffix(msg, "\n") {
				t.Errorf("stderr %q: want one line", msg)
			}
		})
	}
}

// TestTimerPropertyCalendarChecked: a calendar spec given as
// --timer-property OnCalendar= is checked before anything is sent, as
// --on-calendar is (it used to reach the manager, which refused it: exit 1).
func TestTimerPropertyCalendarChecked(t *testing.T) {
	for _, spec := range []string{"Febtober", "Mon 25:00", "2001-01-01"} {
		t.Run(spec, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := schedArgs("--timer-property", "OnCalendar="+spec, "--", "/bin/true")
			if code := newBadInputEnv(t, &stdout, &stderr).main(args); code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if msg := stderr.String(); strings.Count(msg, "\n") != 1 || !strings.Contains(msg, strconv.Quote(spec)) {
				t.Errorf("stderr %q: want one line naming %q", msg, spec)
			}
		})
	}
}
