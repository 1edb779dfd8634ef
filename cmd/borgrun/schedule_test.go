package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cleanupJob removes a job's units when the test ends, whatever happened.
func cleanupJob(t *testing.T, name string) {
	t.Cleanup(func() {
		_, _ = sandbox.Get(t).Output(context.Background(), "systemctl", "stop",
			"borgrun-"+name+".timer", "borgrun-"+name+".service")
	})
}

func TestScheduleDefaults(t *testing.T) {
	cleanupJob(t, "defaults")
	_, stderr, code := borgrun(t, "schedule", "--daily", "--name", "defaults", "-E", "FOO=bar baz", "--", "/bin/true")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	svc := showProps(t, "borgrun-defaults.service", "Wants", "After", "Nice", "CPUSchedulingPolicy",
		"IOSchedulingClass", "LogRateLimitIntervalUSec", "Environment", "ExecStartPre", "SyslogIdentifier")
	for k, want := range map[string]string{
		"Nice":                     "19",
		"CPUSchedulingPolicy":      "3",
		"IOSchedulingClass":        "best-effort", // systemd prints "2" on some versions
		"LogRateLimitIntervalUSec": "0",
		"SyslogIdentifier":         "true",
	} {
		if svc[k] != want && !(k == "IOSchedulingClass" && svc[k] == "2") {
			t.Errorf("service %s = %q, want %q", k, svc[k], want)
		}
	}
	for k, want := range map[string]string{
		"Wants":        "network-online.target",
		"After":        "network-online.target",
		"Environment":  `"FOO=bar baz" BORGRUN_SCHEDULE=`,
		"ExecStartPre": "/proc/uptime",
	} {
		if !strings.Contains(svc[k], want) {
			t.Errorf("service %s = %q, want it to contain %q", k, svc[k], want)
		}
	}
	ioprio := showProps(t, "borgrun-defaults.service", "IOSchedulingPriority")["IOSchedulingPriority"]
	if ioprio != "7" {
		t.Errorf("IOSchedulingPriority = %q, want 7", ioprio)
	}
	timer := showProps(t, "borgrun-defaults.timer", "FixedRandomDelay", "RandomizedDelayUSec", "Persistent")
	if timer["FixedRandomDelay"] != "yes" || timer["RandomizedDelayUSec"] != "10min" || timer["Persistent"] != "yes" {
		t.Errorf("timer = %v", timer)
	}
}

func TestScheduleOptOuts(t *testing.T) {
	cleanupJob(t, "optout")
	_, stderr, code := borgrun(t, "schedule", "--on-calendar", "Mon..Fri 12:30", "--on-calendar", "Sat 09:00", "--name", "optout",
		"--no-network-wait", "--priority", "normal", "--allow-battery", "--boot-delay", "0",
		"--randomized-delay", "0", "--no-persistent", "--inhibit", "no", "--accuracy", "1s", "--hardening=off",
		"-p", "Nice=5", "-p", "MemoryMax=1G", "--timer-property", "RemainAfterElapse=no", "--", "/bin/true", "arg")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	svc := showProps(t, "borgrun-optout.service", "Wants", "Nice", "ExecStartPre", "ExecStart", "MemoryMax", "CPUSchedulingPolicy")
	if svc["Wants"] != "" || svc["ExecStartPre"] != "" || svc["Nice"] != "5" || svc["MemoryMax"] != "1073741824" || svc["CPUSchedulingPolicy"] != "0" {
		t.Errorf("service = %v", svc)
	}
	if !strings.HasPrefix(svc["ExecStart"], "{ path=/bin/true ; argv[]=/bin/true arg ;") {
		t.Errorf("ExecStart = %q, want the bare command", svc["ExecStart"])
	}
	if got := conditions(t, "borgrun-optout.service"); got != "a(sbbsi) 0" {
		t.Errorf("Conditions = %q, want none (--allow-battery)", got)
	}
	timer := showProps(t, "borgrun-optout.timer", "FixedRandomDelay", "RandomizedDelayUSec", "Persistent", "AccuracyUSec", "RemainAfterElapse", "TimersCalendar")
	for k, want := range map[string]string{"FixedRandomDelay": "no", "RandomizedDelayUSec": "0", "Persistent": "no", "AccuracyUSec": "1s", "RemainAfterElapse": "no"} {
		if timer[k] != want {
			t.Errorf("timer %s = %q, want %q", k, timer[k], want)
		}
	}
	if cal := systemctl(t, "show", "-p", "TimersCalendar", "borgrun-optout.timer"); !strings.Contains(cal, "Mon..Fri *-*-* 12:30:00") || !strings.Contains(cal, "Sat *-*-* 09:00:00") {
		t.Errorf("TimersCalendar = %q", cal)
	}
}

func TestScheduleRerunIsNoOp(t *testing.T) {
	cleanupJob(t, "rerun")
	args := []string{"schedule", "--daily", "--name", "rerun", "--", "/bin/true"}
	if _, stderr, code := borgrun(t, args...); code != 0 {
		t.Fatalf("first: exit %d: %s", code, stderr)
	}
	stdout, stderr, code := borgrun(t, args...)
	if code != 0 || !strings.HasPrefix(stdout, "already scheduled, unchanged: rerun") {
		t.Fatalf("second: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	_, stderr, code = borgrun(t, "schedule", "--weekly", "--name", "rerun", "--", "/bin/true")
	if code != 1 || !strings.Contains(stderr, "different definition; use --replace") || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("different: exit %d, stderr %q", code, stderr)
	}
	stdout, stderr, code = borgrun(t, "schedule", "--weekly", "--replace", "--json", "--name", "rerun", "--", "/bin/true")
	if code != 0 {
		t.Fatalf("replace: exit %d: %s", code, stderr)
	}
	var res scheduleResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("--json output %q: %v", stdout, err)
	}
	if res.Outcome != "replaced" || res.Timer != "borgrun-rerun.timer" || len(res.Calendars) != 1 || res.Calendars[0] != "Mon *-*-* 00:00:00" || res.Next.IsZero() {
		t.Fatalf("--json = %+v", res)
	}
}

func TestListAndRemove(t *testing.T) {
	cleanupJob(t, "lista")
	cleanupJob(t, "listb")
	for _, n := range []string{"lista", "listb"} {
		if _, stderr, code := borgrun(t, "schedule", "--hourly", "--name", n, "--", "/bin/true"); code != 0 {
			t.Fatalf("schedule %s: exit %d: %s", n, code, stderr)
		}
	}
	stdout, stderr, code := borgrun(t, "list")
	if code != 0 || !strings.HasPrefix(stdout, "NAME") {
		t.Fatalf("list: exit %d, %q %q", code, stdout, stderr)
	}
	for _, n := range []string{"lista", "listb"} {
		if !strings.Contains(stdout, "\n"+n+" ") || !strings.Contains(stdout, "*-*-* *:00:00") {
			t.Errorf("list lacks %s: %q", n, stdout)
		}
	}
	stdout, _, _ = borgrun(t, "list", "--json")
	var jobs []struct{ Name, State string }
	if err := json.Unmarshal([]byte(stdout), &jobs); err != nil {
		t.Fatalf("list --json %q: %v", stdout, err)
	}
	seen := map[string]string{}
	for _, j := range jobs {
		seen[j.Name] = j.State
	}
	if seen["lista"] != "active" || seen["listb"] != "active" {
		t.Errorf("list --json states = %v", seen)
	}
	if stdout, stderr, code = borgrun(t, "remove", "lista"); code != 0 || stdout != "removed lista\n" {
		t.Fatalf("remove: exit %d %q %q", code, stdout, stderr)
	}
	if got := showProps(t, "borgrun-lista.timer", "LoadState")["LoadState"]; got != "not-found" {
		t.Errorf("after remove, timer LoadState = %q", got)
	}
	if _, stderr, code = borgrun(t, "remove", "lista"); code != 1 || !strings.Contains(stderr, `no schedule named "lista"`) {
		t.Errorf("remove again: exit %d, %q", code, stderr)
	}
}

func TestRemoveRefusesRunningThenForces(t *testing.T) {
	cleanupJob(t, "busyrm")
	if _, stderr, code := borgrun(t, "schedule", "--daily", "--name", "busyrm", "--", "/bin/sleep", "300"); code != 0 {
		t.Fatalf("schedule: %d %s", code, stderr)
	}
	systemctl(t, "start", "--no-block", "borgrun-busyrm.service")
	// Wait, driven by the manager's signals and bounded, for the run.
	c := dialSandbox(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := c.WaitActiveState(ctx, "borgrun-busyrm.service", "activating"); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := borgrun(t, "now", "--name", "busyrm", "--", "/bin/true")
	if code != 1 || !strings.Contains(stderr, "scheduled run of busyrm (borgrun-busyrm.service) is in progress") {
		t.Errorf("now beside a scheduled run: exit %d, %q", code, stderr)
	}
	_, stderr, code = borgrun(t, "remove", "busyrm")
	if code != 1 || !strings.Contains(stderr, "a run is in progress; use --force") {
		t.Fatalf("remove while running: exit %d, %q", code, stderr)
	}
	if got := showProps(t, "borgrun-busyrm.service", "ActiveState")["ActiveState"]; got != "activating" {
		t.Fatalf("the run was disturbed: %q", got)
	}
	if stdout, stderr, code := borgrun(t, "remove", "--force", "busyrm"); code != 0 || stdout != "removed busyrm\n" {
		t.Fatalf("remove --force: exit %d %q %q", code, stdout, stderr)
	}
}

// TestNowSignalStopsUnit: SIGINT (Ctrl-C) or SIGTERM to borgrun during now
// stops the unit, waits for it, reports, and exits 130 or 143.
func TestNowSignalStopsUnit(t *testing.T) {
	for _, tt := range []struct {
		name  string
		sig   syscall.Signal
		code  int
		flags []string
	}{
		{"sigint", syscall.SIGINT, 130, fast},
		{"sigterm", syscall.SIGTERM, 143, nil}, // with every default
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := startBorgrun(t, append(append([]string{"now", "--name", tt.name}, tt.flags...), "--", "/bin/sh", "-c", "echo started; exec sleep 300")...)
			if line := b.readLine(t); line != "started\n" {
				t.Fatalf("first line %q", line)
			}
			b.signal(t, tt.sig)
			if code := b.wait(t, 30*time.Second); code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tt.code, b.stderr.String())
			}
			if !strings.Contains(b.stderr.String(), "Finished with result:") {
				t.Errorf("no summary after %v: %q", tt.sig, b.stderr.String())
			}
			if got := showProps(t, "borgrun-"+tt.name+"-now.service", "LoadState")["LoadState"]; got != "not-found" {
				t.Errorf("unit left behind after %v: LoadState %q", tt.sig, got)
			}
		})
	}
}

// TestPersistentCatchUpAcrossRecreation: a schedule re-created after a
// "reboot" (its transient units gone, its stamp kept under its stable name)
// runs at once the daily run it missed.
func TestPersistentCatchUpAcrossRecreation(t *testing.T) {
	sys := sandbox.Get(t)
	cleanupJob(t, "catchup")
	// The previous incarnation last ran two days ago.
	if _, err := sys.Output(t.Context(), "sh", "-c",
		"mkdir -p /var/lib/systemd/timers && touch -d '2 days ago' /var/lib/systemd/timers/stamp-borgrun-catchup.timer"); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := borgrun(t, "schedule", "--daily", "--name", "catchup", "--randomized-delay", "0", "--boot-delay", "0",
		"--", "/bin/sh", "-c", "echo ran > /run/borgrun-catchup && exec sleep 300")
	if code != 0 {
		t.Fatalf("schedule: exit %d: %s", code, stderr)
	}
	c := dialSandbox(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := c.WaitActiveState(ctx, "borgrun-catchup.service", "activating"); err != nil {
		t.Fatalf("the missed run did not start: %v", err)
	}
	if last := showProps(t, "borgrun-catchup.timer", "LastTriggerUSec")["LastTriggerUSec"]; last == "" || last == "n/a" {
		t.Errorf("LastTriggerUSec = %q, want the catch-up trigger", last)
	}
}

// TestUserManager: --user talks to the calling user's manager (root's,
// here) over $XDG_RUNTIME_DIR/systemd/private.
func TestUserManager(t *testing.T) {
	systemctl(t, "start", "user@0.service")
	env := []string{"XDG_RUNTIME_DIR=/run/user/0"}
	_, stderr, code := borgrunEnv(t, env, "now", "--user", "--name", "usernow", "--", "/bin/sh", "-c", "exit 3")
	if code != 3 || !strings.Contains(stderr, "code=exited/status=3") {
		t.Fatalf("now --user: exit %d, %q", code, stderr)
	}
	if _, stderr, code = borgrunEnv(t, env, "schedule", "--user", "--daily", "--name", "usersched", "--", "/bin/true"); code != 0 {
		t.Fatalf("schedule --user: exit %d, %q", code, stderr)
	}
	out, err := sandbox.Get(t).Output(t.Context(), "env", "XDG_RUNTIME_DIR=/run/user/0", "systemctl", "--user", "show", "-p", "ActiveState", "borgrun-usersched.timer")
	if err != nil || out != "ActiveState=active\n" {
		t.Fatalf("user timer: %q, %v", out, err)
	}
	if out := systemctl(t, "show", "-p", "LoadState", "borgrun-usersched.timer"); out != "LoadState=not-found\n" {
		t.Errorf("the system manager has the user's timer: %q", out)
	}
	stdout, stderr, code := borgrunEnv(t, env, "remove", "--user", "usersched")
	if code != 0 || stdout != "removed usersched\n" {
		t.Fatalf("remove --user: exit %d %q %q", code, stdout, stderr)
	}
}

// TestNowDetach: --detach returns once the run has started; the run goes
// on under systemd and unloads itself when done.
func TestNowDetach(t *testing.T) {
	sys := sandbox.Get(t)
	c := dialSandbox(t)
	fifo := "/run/borgrun-detach"
	mkfifo(t, fifo)
	_, stderr, code := borgrun(t, "now", "--detach", "--hardening=off", "--name", "detached", "--", "/bin/sh", "-c", "read x < "+fifo)
	if code != 0 || !strings.HasPrefix(stderr, "Started borgrun-detached-now.service") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if got := showProps(t, "borgrun-detached-now.service", "ActiveState")["ActiveState"]; got != "active" {
		t.Fatalf("after --detach, ActiveState = %q, want active (still running)", got)
	}
	if _, err := sys.Output(t.Context(), "sh", "-c", "echo go > "+fifo); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := c.WaitGone(ctx, "borgrun-detached-now.service"); err != nil {
		t.Fatalf("the detached run did not end and unload: %v", err)
	}
}

// TestNotRootIsDenied: a user who may not manage the system manager gets a
// one-line error that says what to do, exit 1, and nothing is created.
func TestNotRootIsDenied(t *testing.T) {
	sys := sandbox.Get(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := sys.Command(t.Context(), "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", exe, "schedule", "--daily", "--hardening=off", "--name", "notroot", "--", "/bin/true")
	cmd.Env = append(cmd.Env, "BORGRUN_TEST_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1; stderr %q", err, stderr.String())
	}
	// polkit's default for manage-units is auth_admin: with no agent to
	// ask through, the manager says it would have asked.
	if msg := stderr.String(); strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "as root, or use --user") {
		t.Errorf("stderr %q: want one line saying what to do", msg)
	}
	if got := showProps(t, "borgrun-notroot.timer", "LoadState")["LoadState"]; got != "not-found" {
		t.Errorf("a denied schedule created its timer: %q", got)
	}
}

// TestUnchangedScheduleSkipsProbe: the sandbox probe runs when a pair is
// created, not when the same schedule is run again (at every boot, say).
func TestUnchangedScheduleSkipsProbe(t *testing.T) {
	sys := sandbox.Get(t)
	cleanupJob(t, "probeonce")
	probes := func() int {
		t.Helper()
		if _, err := sys.Output(t.Context(), "journalctl", "--sync"); err != nil {
			t.Fatal(err)
		}
		out, _ := sys.Output(t.Context(), "journalctl", "--no-pager", "-o", "cat", "-u", "borgrun-probeonce:probe-*")
		return strings.Count(out, "Deactivated successfully")
	}
	args := []string{"schedule", "--daily", "--name", "probeonce", "--", "/bin/true"}
	if _, stderr, code := borgrun(t, args...); code != 0 {
		t.Fatalf("schedule: exit %d: %s", code, stderr)
	}
	first := probes()
	if first != 1 {
		t.Fatalf("%d probe runs after creating the pair, want 1", first)
	}
	if stdout, stderr, code := borgrun(t, args...); code != 0 || !strings.Contains(stdout, "unchanged") {
		t.Fatalf("schedule again: exit %d, %q %q", code, stdout, stderr)
	}
	if n := probes(); n != first {
		t.Errorf("%d probe runs after an unchanged schedule, want %d", n, first)
	}
}
