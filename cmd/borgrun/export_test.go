package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// showAll returns every property systemctl show --all prints for unit. A
// property printed on several lines (DeviceAllow=, one line per entry) has
// its values joined by newlines.
func showAll(t *testing.T, unit string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(systemctl(t, "show", "--all", unit)), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			if old, dup := m[k]; dup {
				v = old + "\n" + v
			}
			m[k] = v
		}
	}
	return m
}

// depLists are the properties that list units (or paths, or addresses) from a set the
// manager keeps in a hash table: their order differs between two loads of
// the same unit and means nothing, so they are compared as sets.
var depLists = map[string]bool{
	"Requires": true, "Requisite": true, "Wants": true, "BindsTo": true, "PartOf": true, "Upholds": true,
	"RequiredBy": true, "RequisiteOf": true, "WantedBy": true, "BoundBy": true, "UpheldBy": true,
	"ConsistsOf": true, "Conflicts": true, "ConflictedBy": true, "Before": true, "After": true,
	"OnFailure": true, "OnFailureOf": true, "OnSuccess": true, "OnSuccessOf": true,
	"Triggers": true, "TriggeredBy": true, "PropagatesReloadTo": true, "ReloadPropagatedFrom": true,
	"PropagatesStopTo": true, "StopPropagatedFrom": true, "JoinsNamespaceOf": true,
	"References": true, "ReferencedBy": true, "RequiresMountsFor": true,
	// Address sets, printed in the order of the manager's set.
	"IPAddressAllow": true, "IPAddressDeny": true,
}

// runState reports whether a property describes this incarnation of the
// unit rather than its definition, and so legitimately differs between
// the transient unit and the one loaded from the exported file: when it
// was started (every …Timestamp and …TimestampMonotonic: state changes,
// condition and assert checks), its InvocationID (new at every start),
// and the timer's last trigger (LastTriggerUSec…, read from the Persistent
// stamp file, which the transient timer created under the same name:
// the catch-up state that is meant to carry over).
func runState(k string) bool {
	return k == "InvocationID" || strings.HasSuffix(k, "Timestamp") || strings.HasSuffix(k, "TimestampMonotonic") ||
		strings.HasPrefix(k, "LastTriggerUSec")
}

// compareLoaded compares systemctl show of a unit before (transient) and
// after (loaded from the exported file). Run state is skipped, dependency
// lists are compared as sets, the properties in changed must have their
// given value after (what being a unit file rather than a transient unit
// changes), and every other property must be identical.
func compareLoaded(t *testing.T, unit string, before, after, changed map[string]string) {
	t.Helper()
	keys := map[string]bool{}
	for k := range before {
		keys[k] = true
	}
	for k := range after {
		keys[k] = true
	}
	var sorted []string
	for k := range keys {
		sorted = append(sorted, k)
	}
	slices.Sort(sorted)
	for _, k := range sorted {
		b, bok := before[k]
		a, aok := after[k]
		switch want, ok := changed[k]; {
		case ok:
			if a != want {
				t.Errorf("%s: %s = %q after loading the file, want %q (was %q)", unit, k, a, want, b)
			}
		case runState(k):
		case bok != aok:
			t.Errorf("%s: %s present before (%v) and after (%v) differ: %q vs %q", unit, k, bok, aok, b, a)
		case strings.Contains(a+b, "\n"):
			// Entries of a list property the manager keeps unordered
			// (DeviceAllow=): the same entries, in any order.
			bl, al := strings.Split(b, "\n"), strings.Split(a, "\n")
			slices.Sort(bl)
			slices.Sort(al)
			if !slices.Equal(bl, al) {
				t.Errorf("%s: %s = %q after, was %q", unit, k, a, b)
			}
		case depLists[k]:
			bw, aw := strings.Fields(b), strings.Fields(a)
			slices.Sort(bw)
			slices.Sort(aw)
			if !slices.Equal(bw, aw) {
				t.Errorf("%s: %s = %q after, was %q", unit, k, a, b)
			}
		case a != b:
			t.Errorf("%s: %s = %q after loading the file, was %q in the transient unit", unit, k, a, b)
		}
	}
}

// TestExportEquivalence schedules a range of transient pairs, exports
// them, checks the files with systemd-analyze verify, replaces the
// transient pair with the files (in /etc/systemd/system, enabled as
// exported) and requires the same units: systemctl show --all of timer and
// service identical but for the run state and what being a file changes.
func TestExportEquivalence(t *testing.T) {
	setupBorgmatic(t)
	sys := sandbox.Get(t)
	tests := []struct {
		name string
		args []string // schedule's options and command
		// dropIn, if set, is run after schedule to give the service a
		// drop-in (systemctl set-property).
		dropIn []string
	}{
		{"plain", []string{"--daily", "--", "/bin/true"}, nil},
		{"fast", append(append([]string{"--hourly"}, fast...), "--", "/bin/echo", "a b", "50%", `q"uo\te`, "", "tab\there", "'s'", "~", "*"), nil},
		{"borgmatic", []string{"--daily", "--", "/usr/bin/borgmatic", "-c", bmConfig}, nil},
		{"borgmatic-strict-idle", []string{"--weekly", "--hardening=strict", "--priority", "idle", "--passphrase-file", bmPassFile,
			"-E", "FOO=a b$c%d", "-E", "EMPTY=", "--", "/usr/bin/borgmatic", "-c", bmNoPassConfig, "--verbosity", "1"}, nil},
		{"calendars", []string{"--on-calendar", "Mon..Fri 12:30", "--on-calendar", "Sat 09:00", "--no-persistent",
			"--randomized-delay", "0", "--boot-delay", "0", "--accuracy", "1s", "--allow-battery", "--no-network-wait",
			"--priority", "normal", "--inhibit", "no", "--timer-property", "RemainAfterElapse=no", "--", "/bin/sh", "-c", "exit 0"}, nil},
		{"props", []string{"--monthly", "-p", "MemoryMax=1G", "-p", "RestrictNamespaces=cgroup ipc", "-p", "TimeoutStartSec=2h",
			"-p", "ExecStartPost=-/bin/echo done %n", "-p", "ExecStopPost=:/bin/echo $X", "-p", "Environment=X=1",
			"--writable", "/srv/borgrun-test/extra", "--", "/bin/true"}, nil},
		{"dropin", []string{"--daily", "--", "/bin/true"}, []string{"set-property", "--runtime", "borgrun-dropin.service", "CPUWeight=50", "MemoryHigh=2G"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			timer, service := "borgrun-"+tt.name+".timer", "borgrun-"+tt.name+".service"
			dir := "/run/borgrun-export/" + tt.name
			t.Cleanup(func() {
				ctx := context.Background()
				sys.Output(ctx, "systemctl", "stop", timer, service)
				sys.Output(ctx, "sh", "-c", "rm -rf "+dir+" /etc/systemd/system/borgrun-"+tt.name+".* /etc/systemd/system/timers.target.wants/"+timer+
					" && systemctl daemon-reload")
			})
			args := append([]string{"schedule", "--name", tt.name}, tt.args...)
			if _, stderr, code := borgrun(t, args...); code != 0 {
				t.Fatalf("schedule: exit %d: %s", code, stderr)
			}
			if tt.dropIn != nil {
				systemctl(t, tt.dropIn...)
			}
			before := map[string]map[string]string{timer: showAll(t, timer), service: showAll(t, service)}
			if _, err := sys.Output(t.Context(), "mkdir", "-p", dir); err != nil {
				t.Fatal(err)
			}
			// Twice: the second export replaces the first's files.
			for range 2 {
				stdout, stderr, code := borgrun(t, "export", tt.name, "--dir", dir)
				if code != 0 || stderr != "" {
					t.Fatalf("export: exit %d, stderr %q", code, stderr)
				}
				if want := "exported " + tt.name + " to " + dir + ": " + timer + ", " + service + ", timers.target.wants/" + timer + "\n"; stdout != want {
					t.Errorf("export stdout %q, want %q", stdout, want)
				}
			}
			if out, _ := sys.Output(t.Context(), "sh", "-c", "cd "+dir+" && find . | sort"); out != ".\n./"+service+"\n./"+timer+"\n./timers.target.wants\n./timers.target.wants/"+timer+"\n" {
				t.Errorf("files in %s: %q, want the two units and the link, nothing else", dir, out)
			}
			files := map[string]string{}
			for _, u := range []string{timer, service} {
				p := filepath.Join(sys.Root(), dir, u)
				data, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o644 {
					t.Errorf("%s: mode %v, want 0644", u, fi.Mode().Perm())
				}
				files[u] = string(data)
			}
			if link, err := os.Readlink(filepath.Join(sys.Root(), dir, "timers.target.wants", timer)); err != nil || link != "../"+timer {
				t.Errorf("enable link: %q, %v; want ../%s", link, err, timer)
			}
			// Without --dir, the same files on stdout.
			stdout, stderr, code := borgrun(t, "export", tt.name)
			want := "# /run/systemd/transient/" + timer + "\n" + files[timer] + "\n# /run/systemd/transient/" + service + "\n" + files[service]
			if code != 0 || stdout != want {
				t.Errorf("export to stdout: exit %d, stderr %q, stdout differs from the files:\n%s", code, stderr, lineDiff(stdout, want))
			}
			if !strings.HasSuffix(files[timer], "\n[Install]\nWantedBy=timers.target\n") {
				t.Errorf("timer file does not end with [Install] WantedBy=timers.target:\n%s", files[timer])
			}
			// systemd reads the files without a word of complaint.
			cmd := sys.Command(t.Context(), "systemd-analyze", "verify", dir+"/"+timer, dir+"/"+service)
			if out, err := cmd.CombinedOutput(); err != nil || len(out) != 0 {
				t.Errorf("systemd-analyze verify: %v\n%s\n%s", err, out, files[service])
			}
			// Replace the transient pair with the files, as the files'
			// header says: export into /etc/systemd/system, remove the
			// transient pair, daemon-reload.
			if _, stderr, code := borgrun(t, "export", tt.name, "--dir", "/etc/systemd/system"); code != 0 {
				t.Fatalf("export --dir /etc/systemd/system: exit %d, %q", code, stderr)
			}
			for _, u := range []string{timer, service} {
				if data, err := os.ReadFile(filepath.Join(sys.Root(), "/etc/systemd/system", u)); err != nil || string(data) != files[u] {
					t.Errorf("/etc/systemd/system/%s differs from the first export (%v)", u, err)
				}
			}
			if link, err := os.Readlink(filepath.Join(sys.Root(), "/etc/systemd/system/timers.target.wants", timer)); err != nil || link != "../"+timer {
				t.Errorf("enable link in /etc/systemd/system: %q, %v", link, err)
			}
			if stdout, stderr, code := borgrun(t, "remove", tt.name); code != 0 {
				t.Fatalf("remove beside the exported files: exit %d %q %q", code, stdout, stderr)
			}
			systemctl(t, "daemon-reload")
			if out, err := sys.Output(t.Context(), "systemctl", "is-enabled", timer); err != nil || out != "enabled\n" {
				t.Errorf("is-enabled %s: %q, %v", timer, out, err)
			}
			if got := showProps(t, timer, "ActiveState")["ActiveState"]; got != "inactive" {
				t.Fatalf("timer ActiveState = %q before timers.target is started, want inactive", got)
			}
			// As at boot: timers.target pulls the enabled timer in.
			systemctl(t, "start", "timers.target")
			after := map[string]map[string]string{timer: showAll(t, timer), service: showAll(t, service)}
			compareLoaded(t, timer, before[timer], after[timer], map[string]string{
				"Transient": "no", "FragmentPath": "/etc/systemd/system/" + timer,
				"UnitFileState": "enabled", "WantedBy": "timers.target",
			})
			changed := map[string]string{"Transient": "no", "FragmentPath": "/etc/systemd/system/" + service, "UnitFileState": "static"}
			if tt.dropIn != nil {
				if !strings.Contains(before[service]["DropInPaths"], service+".d/50-CPUWeight.conf") ||
					!strings.Contains(files[service], "\n# From the drop-in ") {
					t.Errorf("set-property made no drop-in, or it was not exported: DropInPaths = %q", before[service]["DropInPaths"])
				}
				// Folded into the exported file.
				changed["DropInPaths"] = ""
				// set-property realises the unit's cgroup at once: run
				// state of the transient unit (a unit that never ran
				// has none), not part of its definition.
				changed["ControlGroup"], changed["ControlGroupId"], changed["CPUUsageNSec"] = "", "0", "[not set]"
			}
			compareLoaded(t, service, before[service], after[service], changed)

			// borgrun no longer treats the names as its own, and says so.
			_, stderr, code = borgrun(t, args...)
			if code != 1 || !strings.Contains(stderr, "exists and was not created by borgrun") {
				t.Errorf("schedule over the loaded files: exit %d, %q", code, stderr)
			}
			_, stderr, code = borgrun(t, "export", tt.name)
			if code != 1 || !strings.Contains(stderr, "not transient: loaded from \"/etc/systemd/system/"+timer+"\"") || strings.Count(stderr, "\n") != 1 {
				t.Errorf("export of the loaded files: exit %d, %q", code, stderr)
			}
			_, stderr, code = borgrun(t, "remove", tt.name)
			if code != 1 || !strings.Contains(stderr, timer+": exists and was not created by borgrun") {
				t.Errorf("remove of the loaded files: exit %d, %q", code, stderr)
			}
			if stdout, _, _ := borgrun(t, "list"); !strings.Contains(stdout, "\n"+tt.name+" ") {
				t.Errorf("list lacks %s: %q", tt.name, stdout)
			}
			if slices.Contains(tt.args, "/usr/bin/borgmatic") {
				runExported(t, service)
			}
		})
	}
}

// TestExportErrors: what cannot be exported fails on one line with exit 1
// (or 2 for bad input), and nothing is written.
func TestExportErrors(t *testing.T) {
	sys := sandbox.Get(t)
	cleanupJob(t, "exok")
	if _, stderr, code := borgrun(t, append(append([]string{"schedule", "--daily", "--name", "exok"}, fast...), "--", "/bin/true")...); code != 0 {
		t.Fatalf("schedule: %d %s", code, stderr)
	}
	// A transient pair of borgrun's names that borgrun did not create.
	if _, err := sys.Output(t.Context(), "systemd-run", "--unit", "borgrun-exforeign", "--on-calendar", "daily", "/bin/true"); err != nil {
		t.Fatal(err)
	}
	cleanupJob(t, "exforeign")
	dir := "/run/borgrun-export-errors"
	if _, err := sys.Output(t.Context(), "sh", "-c", "mkdir -p "+dir+" && touch /run/borgrun-export-file"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sys.Output(context.Background(), "rm", "-rf", dir, "/run/borgrun-export-file") })
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown", []string{"export", "exnosuch", "--dir", dir}, 1, `export: no schedule named "exnosuch"`},
		{"one-unknown-of-two", []string{"export", "exok", "exnosuch", "--dir", dir}, 1, `export: no schedule named "exnosuch"`},
		{"foreign", []string{"export", "exforeign"}, 1, "borgrun-exforeign.service: exists and was not created by borgrun (no BORGRUN_SCHEDULE in its environment)"},
		{"dir-missing", []string{"export", "exok", "--dir", "/run/no-such-dir"}, 2, `--dir "/run/no-such-dir": want an existing directory`},
		{"dir-file", []string{"export", "exok", "--dir", "/run/borgrun-export-file"}, 2, `--dir "/run/borgrun-export-file": not a directory`},
		{"dir-unwritable", []string{"export", "exok", "--dir", "/proc"}, 1, "export: exok: open /proc/.borgrun-exok.service."},
		{"bad-name", []string{"export", "ex/ok"}, 2, `"ex/ok"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := borgrun(t, tt.args...)
			if code != tt.code || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "borgrun: ") || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q: want %d and one line containing %q", code, stderr, tt.code, tt.want)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if out, _ := sys.Output(t.Context(), "ls", "-A", dir); out != "" {
				t.Errorf("files written to %s: %q", dir, out)
			}
		})
	}
}

// TestExportUser: --user exports from the user manager, with instructions
// for it.
func TestExportUser(t *testing.T) {
	systemctl(t, "start", "user@0.service")
	env := []string{"XDG_RUNTIME_DIR=/run/user/0"}
	if _, stderr, code := borgrunEnv(t, env, "schedule", "--user", "--daily", "--name", "exuser", "--", "/bin/true"); code != 0 {
		t.Fatalf("schedule --user: exit %d, %q", code, stderr)
	}
	t.Cleanup(func() {
		sandbox.Get(t).Output(context.Background(), "env", env[0], "systemctl", "--user", "stop", "borgrun-exuser.timer", "borgrun-exuser.service")
	})
	stdout, stderr, code := borgrunEnv(t, env, "export", "--user", "exuser")
	if code != 0 {
		t.Fatalf("export --user: exit %d, %q", code, stderr)
	}
	for _, want := range []string{"# /run/user/0/systemd/transient/borgrun-exuser.timer\n", "# /run/user/0/systemd/transient/borgrun-exuser.service\n",
		"#   borgrun export --user exuser --dir ~/.config/systemd/user\n", "#   borgrun remove --user exuser\n",
		"systemctl --user daemon-reload && systemctl --user start borgrun-exuser.timer\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("export --user lacks %q:\n%s", want, stdout)
		}
	}
	if _, stderr, code := borgrun(t, "export", "exuser"); code != 1 || !strings.Contains(stderr, `no schedule named "exuser"`) {
		t.Errorf("export from the system manager: exit %d, %q", code, stderr)
	}
}

// runExported starts a borgmatic service loaded from exported files, on a
// machine where borg has never run: it must back up (one more archive),
// its ExecStartPre=+ step creating borg's state directories.
func runExported(t *testing.T, service string) {
	t.Helper()
	sys := sandbox.Get(t)
	out, err := sys.Output(t.Context(), "cut", "-d.", "-f1", "/proc/uptime")
	if up, _ := strconv.Atoi(strings.TrimSpace(out)); err != nil || up < 300 {
		// The unit's boot grace would hold the run for 5 minutes.
		t.Logf("not running %s: uptime %q s is within its boot grace", service, out)
		return
	}
	freshState(t)
	before := len(archives(t))
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	if _, err := sys.Output(ctx, "systemctl", "start", service); err != nil {
		journal, _ := sys.Output(context.Background(), "journalctl", "--no-pager", "-o", "cat", "-u", service)
		t.Fatalf("the exported %s failed: %v\n%s", service, err, journal)
	}
	if got := showProps(t, service, "Result")["Result"]; got != "success" {
		t.Errorf("Result = %q, want success", got)
	}
	if n := len(archives(t)); n != before+1 {
		t.Errorf("%d archives after the run, want %d", n, before+1)
	}
}
