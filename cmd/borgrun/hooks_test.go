package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/borgrun/borgrun/transient/transienttest"
)

// hookDir holds, inside the sandbox, the scripts of the hook tests.
const hookDir = "/srv/borgrun-hooks"

// hookTestScripts writes into the sandbox a job command (run.sh: prints a
// line, exits with the status in hookDir/status), a hook (hook.sh KIND:
// writes its kind, environment and the journal of the run it reports to
// the FIFO hookDir/messages) and a credential reader, and returns the
// FIFO's reader.
func hookTestScripts(t *testing.T) *transienttest.Messages {
	t.Helper()
	sys := sandbox.Get(t)
	files := map[string]string{
		"run.sh": "#!/bin/sh\necho the run says hello\nexit \"$(cat " + hookDir + "/status)\"\n",
		"hook.sh": "#!/bin/sh\njournalctl --sync\nid=$MONITOR_INVOCATION_ID\n" +
			"msg=\"kind=$1\n$(env)\njournal:\n$(journalctl --no-pager -o cat _SYSTEMD_INVOCATION_ID=$id + INVOCATION_ID=$id 2>&1)\"\n" +
			"printf '%s\\nEND\\n' \"$msg\" > " + hookDir + "/messages\n",
		// Succeeds only if the credential's path holds the secret.
		"readcred.sh": "#!/bin/sh\ntest \"$(cat \"$RESTIC_PASSWORD_FILE\")\" = " + credSecret + "\n",
		"restic-pw":   credSecret + "\n",
		"status":      "0\n",
	}
	if err := os.MkdirAll(sys.Root()+hookDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range files {
		if err := os.WriteFile(sys.Root()+hookDir+"/"+name, []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	m, err := sys.Messages(hookDir + "/messages")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// credSecret is the secret of the credential tests: no unit may show it.
const credSecret = "s3cret-hooks-7f1d"

func setRunStatus(t *testing.T, status string) {
	t.Helper()
	if err := os.WriteFile(sandbox.Get(t).Root()+hookDir+"/status", []byte(status+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// nextHook waits for the next hook's message and returns its variables
// (and "kind") and the journal lines it read.
func nextHook(t *testing.T, m *transienttest.Messages) (map[string]string, string) {
	t.Helper()
	msg, err := m.Next(60 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	head, journal, _ := strings.Cut(msg, "\njournal:\n")
	env := map[string]string{}
	for _, l := range strings.Split(head, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			env[k] = v
		}
	}
	return env, journal
}

// checkHook checks a hook's message against the run of unit it reports.
func checkHook(t *testing.T, env map[string]string, journal, kind, job, unit, result, status string) {
	t.Helper()
	want := map[string]string{"kind": kind, "BORGRUN_JOB": job, "MONITOR_UNIT": unit, "MONITOR_SERVICE_RESULT": result,
		"MONITOR_EXIT_CODE": "exited", "MONITOR_EXIT_STATUS": status}
	if id := showProps(t, unit, "InvocationID")["InvocationID"]; id != "" {
		want["MONITOR_INVOCATION_ID"] = id // unit still loaded: a scheduled one
	} else if len(env["MONITOR_INVOCATION_ID"]) != 32 {
		t.Errorf("MONITOR_INVOCATION_ID=%q, want an invocation ID", env["MONITOR_INVOCATION_ID"])
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s hook of %s: %s=%q, want %q", kind, unit, k, env[k], v)
		}
	}
	// As in transient/backup's TestHooksStayLoaded: the manager's lines
	// about the run are there; its own last line may not be yet.
	wantLine := unit + ": Deactivated successfully."
	if status != "0" {
		wantLine = unit + ": Main process exited, code=exited, status=" + status + "/"
	}
	if !strings.Contains(journal, wantLine) {
		t.Errorf("%s hook of %s did not read the run's journal entries: no %q in %q", kind, unit, wantLine, journal)
	}
	if !strings.Contains(journal, "the run says hello") && !strings.HasSuffix(unit, "-now.service") {
		t.Logf("the run's own output line was not yet in the journal when the hook read it: %q", journal)
	}
}

// notRun checks that unit (a hook) has neither run since invocation nor a
// job queued: both hooks would be queued at the same moment.
func notRun(t *testing.T, unit, invocation string) {
	t.Helper()
	if p := showProps(t, unit, "InvocationID", "Job"); p["InvocationID"] != invocation || p["Job"] != "" {
		t.Errorf("%s ran too: InvocationID %q (was %q), Job %q", unit, p["InvocationID"], invocation, p["Job"])
	}
}

// TestHooksScheduled: a scheduled run that fails fires the failure hook,
// one that succeeds the success hook, and neither fires for the other,
// also after daemon-reload and when ExecStartPre= fails; the hooks are in
// list, unchanged on a re-run, a different definition when they differ,
// exported as files and removed with the job.
func TestHooksScheduled(t *testing.T) {
	msgs := hookTestScripts(t)
	sys := sandbox.Get(t)
	const job = "hk"
	service, failure, success := "borgrun-hk.service", "borgrun-hk@on-failure.service", "borgrun-hk@on-success.service"
	t.Cleanup(func() {
		sys.Output(context.Background(), "systemctl", "stop", "borgrun-hk.timer", service, failure, success)
		sys.Output(context.Background(), "systemctl", "reset-failed")
	})
	args := []string{"schedule", "--name", job, "--daily", "--boot-delay", "0", "--inhibit=no",
		"--on-failure", hookDir + "/hook.sh failure", "--on-success", hookDir + "/hook.sh success", "--", hookDir + "/run.sh"}
	if _, stderr, code := borgrun(t, args...); code != 0 {
		t.Fatalf("schedule: exit %d, %q", code, stderr)
	}
	if stdout, stderr, code := borgrun(t, args...); code != 0 || !strings.Contains(stdout, "unchanged") {
		t.Errorf("schedule again: exit %d, %q %q; want unchanged", code, stdout, stderr)
	}
	other := append([]string{}, args...)
	other[8] = "/bin/echo other" // --on-failure's value
	if _, stderr, code := borgrun(t, other...); code != 1 || !strings.Contains(stderr, "different definition") {
		t.Errorf("schedule with another hook: exit %d, %q; want 1, a different definition", code, stderr)
	}
	if p := showProps(t, service, "OnFailure", "OnSuccess"); p["OnFailure"] != failure || p["OnSuccess"] != success {
		t.Errorf("%s: %v", service, p)
	}
	if stdout, _, code := borgrun(t, "list"); code != 0 || !strings.Contains(stdout, "on-failure,on-success") {
		t.Errorf("list: exit %d, does not show the hooks:\n%s", code, stdout)
	}
	if stdout, _, code := borgrun(t, "list", "--json"); code != 0 || !strings.Contains(stdout, `"on-failure"`) {
		t.Errorf("list --json: exit %d, does not show the hooks:\n%s", code, stdout)
	}

	run := func(status, kind string) {
		t.Helper()
		setRunStatus(t, status)
		hook, otherHook, result := failure, success, "exit-code"
		if kind == "success" {
			hook, otherHook, result = success, failure, "success"
		}
		before := showProps(t, otherHook, "InvocationID")["InvocationID"]
		systemctl(t, "reset-failed", service) // many runs: not the start limit
		_, err := sys.Output(t.Context(), "systemctl", "start", service)
		if (err != nil) != (kind == "failure") {
			t.Fatalf("run with status %s: %v", status, err)
		}
		env, journal := nextHook(t, msgs)
		checkHook(t, env, journal, kind, job, service, result, status)
		notRun(t, otherHook, before)
		if ls := showProps(t, hook, "LoadState")["LoadState"]; ls != "loaded" {
			t.Errorf("%s after it ran: LoadState=%s", hook, ls)
		}
	}
	run("3", "failure")
	run("0", "success")
	run("4", "failure")
	systemctl(t, "daemon-reload")
	run("5", "failure")
	run("0", "success")

	exportDir := "/srv/borgrun-hooks-export"
	if err := os.MkdirAll(sys.Root()+exportDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := borgrun(t, "export", job, "--dir", exportDir); code != 0 {
		t.Fatalf("export: exit %d, %q", code, stderr)
	}
	for name, want := range map[string]string{
		service: "OnFailure=" + failure,
		failure: `ExecStart="` + hookDir + `/hook.sh" "failure"`,
		success: `ExecStart="` + hookDir + `/hook.sh" "success"`,
	} {
		text, err := os.ReadFile(filepath.Join(sys.Root()+exportDir, name))
		if err != nil || !strings.Contains(string(text), want) {
			t.Errorf("exported %s: %v; lacks %q:\n%s", name, err, want, text)
		}
	}
	if out, err := sys.Output(t.Context(), "systemd-analyze", "verify", exportDir+"/"+failure); err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("systemd-analyze verify %s: %v\n%s", failure, err, out)
	}

	if _, stderr, code := borgrun(t, "remove", job); code != 0 {
		t.Fatalf("remove: exit %d, %q", code, stderr)
	}
	for _, u := range []string{service, failure, success} {
		if ls := showProps(t, u, "LoadState")["LoadState"]; ls != "not-found" {
			t.Errorf("after remove, %s: LoadState=%s", u, ls)
		}
	}
}

// TestHooksOnStartPreFailure: a run whose ExecStartPre= fails (as a
// sandbox that cannot be set up) fires the failure hook.
func TestHooksOnStartPreFailure(t *testing.T) {
	msgs := hookTestScripts(t)
	sys := sandbox.Get(t)
	t.Cleanup(func() {
		sys.Output(context.Background(), "systemctl", "stop", "borgrun-hkpre.timer", "borgrun-hkpre.service")
		sys.Output(context.Background(), "systemctl", "reset-failed")
	})
	setRunStatus(t, "0")
	if _, stderr, code := borgrun(t, "schedule", "--name", "hkpre", "--daily", "--boot-delay", "0", "--inhibit=no",
		"-p", "ExecStartPre=/bin/false", "--on-failure", hookDir+"/hook.sh failure", "--", hookDir+"/run.sh"); code != 0 {
		t.Fatalf("schedule: exit %d, %q", code, stderr)
	}
	if _, err := sys.Output(t.Context(), "systemctl", "start", "borgrun-hkpre.service"); err == nil {
		t.Fatal("the run succeeded despite ExecStartPre=/bin/false")
	}
	env, _ := nextHook(t, msgs)
	// The main process never ran: MONITOR_EXIT_CODE and _STATUS, which
	// describe it, are empty.
	for k, v := range map[string]string{"kind": "failure", "MONITOR_SERVICE_RESULT": "exit-code", "MONITOR_EXIT_STATUS": "", "BORGRUN_JOB": "hkpre"} {
		if env[k] != v {
			t.Errorf("%s=%q, want %q", k, env[k], v)
		}
	}
	if _, _, code := borgrun(t, "remove", "hkpre"); code != 0 {
		t.Errorf("remove: exit %d", code)
	}
}

// TestHooksNow: now fires the hooks too, and leaves nothing loaded.
func TestHooksNow(t *testing.T) {
	msgs := hookTestScripts(t)
	c := dialSandbox(t)
	service := "borgrun-hknow-now.service"
	failure, success := "borgrun-hknow-now@on-failure.service", "borgrun-hknow-now@on-success.service"
	for _, tt := range []struct{ status, kind, result, other string }{
		{"3", "failure", "exit-code", success},
		{"0", "success", "success", failure},
		{"6", "failure", "exit-code", success},
	} {
		setRunStatus(t, tt.status)
		_, stderr, code := borgrun(t, "now", "--name", "hknow", "--inhibit=no", "--quiet",
			"--on-failure", hookDir+"/hook.sh failure", "--on-success", hookDir+"/hook.sh success", "--", hookDir+"/run.sh")
		if want := tt.status; code != int(want[0]-'0') {
			t.Errorf("now with status %s: exit %d, %q", tt.status, code, stderr)
		}
		env, journal := nextHook(t, msgs)
		checkHook(t, env, journal, tt.kind, "hknow", service, tt.result, tt.status)
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		for _, u := range []string{service, failure, success} {
			if err := c.WaitGone(ctx, u); err != nil {
				t.Errorf("after now: %s not unloaded: %v", u, err)
			}
		}
		cancel()
		// Both hooks are gone, so one that ran has written its message:
		// there is none but the one read.
		if msg, err := msgs.Next(100 * time.Millisecond); err == nil {
			t.Errorf("after now with status %s, another hook ran too: %q", tt.status, msg)
		}
	}
}

// TestHooksDryRun: --dry-run prints the hook units.
func TestHooksDryRun(t *testing.T) {
	stdout, stderr, code := borgrun(t, "schedule", "--dry-run", "--name", "hkdry", "--daily", "--hardening=off",
		"--on-failure", "/bin/echo 'failed: x'", "--on-success", "true", "--", "/bin/true")
	if code != 0 {
		t.Fatalf("exit %d, %q", code, stderr)
	}
	for _, want := range []string{"OnFailure=borgrun-hkdry@on-failure.service\n", "OnSuccess=borgrun-hkdry@on-success.service\n",
		"# borgrun-hkdry@on-failure.service\n", "ExecStart=\"/bin/echo\" \"failed: x\"\n", "Environment=\"BORGRUN_JOB=hkdry\"\n",
		"# borgrun-hkdry@on-success.service\n", "ExecStart=\"/usr/bin/true\"\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("--dry-run lacks %q:\n%s", want, stdout)
		}
	}
	if ls := showProps(t, "borgrun-hkdry@on-failure.service", "LoadState")["LoadState"]; ls != "not-found" {
		t.Errorf("--dry-run created the hook: %s", ls)
	}
}

// TestHooksAndSecretsBadInput: exit 2, one line, nothing created.
func TestHooksAndSecretsBadInput(t *testing.T) {
	hookTestScripts(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"empty hook", []string{"--on-failure", ""}, "--on-failure \"\": no command"},
		{"unknown hook", []string{"--on-success", "no-such-hook-cmd x"}, "command \"no-such-hook-cmd\" not found"},
		{"unterminated", []string{"--on-failure", "/bin/echo 'x"}, "--on-failure"},
		{"dollar in a scheduled hook", []string{"--on-failure", "/bin/echo $HOME"}, "a scheduled hook cannot hold"},
		{"passphrase", []string{"-E", "BORG_PASSPHRASE=" + credSecret}, "environment BORG_PASSPHRASE: a secret in a unit's environment can be read by every local user (systemctl show); use --passphrase-file FILE"},
		{"restic", []string{"-E", "RESTIC_PASSWORD=" + credSecret}, "use --credential NAME=FILE, which the command reads from the file %d/NAME (e.g. -E RESTIC_PASSWORD_FILE=%d/NAME)"},
		{"token by -p", []string{"-p", "Environment=GITHUB_TOKEN=" + credSecret}, "environment GITHUB_TOKEN: a secret"},
		{"aws", []string{"-E", "AWS_SECRET_ACCESS_KEY=" + credSecret}, "environment AWS_SECRET_ACCESS_KEY: a secret"},
		{"credential without =", []string{"--credential", "restic"}, "--credential \"restic\": want NAME=FILE"},
		{"credential relative", []string{"--credential", "restic=pw"}, "FILE must be an absolute path"},
		{"credential missing", []string{"--credential", "restic=/nonexistent/pw"}, "FILE must be an existing regular file"},
		{"credential name", []string{"--credential", "a/b=" + hookDir + "/restic-pw"}, "want NAME=FILE, NAME without"},
	}
	for _, tt := range tests {
		for _, cmd := range []string{"schedule", "now"} {
			if cmd == "now" && strings.HasPrefix(tt.name, "dollar") {
				continue // now's commands may hold "$": the manager expands it
			}
			t.Run(cmd+"/"+tt.name, func(t *testing.T) {
				args := append(append([]string{cmd, "--name", "hkbad", "--daily"}, tt.args...), "--", hookDir+"/run.sh")
				if cmd == "now" {
					args = append(append([]string{cmd, "--name", "hkbad"}, tt.args...), "--", hookDir+"/run.sh")
				}
				stdout, stderr, code := borgrun(t, args...)
				if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tt.want) {
					t.Errorf("exit %d, stderr %q; want 2 and one line containing %q (stdout %q)", code, stderr, tt.want, stdout)
				}
				for _, u := range []string{"borgrun-hkbad.timer", "borgrun-hkbad.service", "borgrun-hkbad-now.service"} {
					if ls := showProps(t, u, "LoadState")["LoadState"]; ls != "not-found" {
						t.Errorf("%s created: %s", u, ls)
					}
				}
			})
		}
	}
}

// TestCredentialPath: --credential hands the command a file whose path
// -E VAR=%d/NAME gives (borgrun writes the real path: the manager does not
// expand %d over D-Bus), in a scheduled run and now; the secret is in no
// property of any unit borgrun made.
func TestCredentialPath(t *testing.T) {
	msgs := hookTestScripts(t)
	sys := sandbox.Get(t)
	units := []string{"borgrun-cred.timer", "borgrun-cred.service", "borgrun-cred@on-failure.service", "borgrun-cred@on-success.service"}
	t.Cleanup(func() {
		sys.Output(context.Background(), "systemctl", append([]string{"stop"}, units...)...)
		sys.Output(context.Background(), "systemctl", "reset-failed")
	})
	flags := []string{"--name", "cred", "--inhibit=no", "--credential", "restic=" + hookDir + "/restic-pw",
		"-E", "RESTIC_PASSWORD_FILE=%d/restic", "--on-failure", hookDir + "/hook.sh failure", "--on-success", hookDir + "/hook.sh success"}
	if _, stderr, code := borgrun(t, append(append([]string{"schedule", "--daily", "--boot-delay", "0"}, flags...), "--", hookDir+"/readcred.sh")...); code != 0 {
		t.Fatalf("schedule: exit %d, %q", code, stderr)
	}
	if got := showProps(t, "borgrun-cred.service", "Environment")["Environment"]; !strings.Contains(got, "RESTIC_PASSWORD_FILE=/run/credentials/borgrun-cred.service/restic") {
		t.Errorf("Environment=%s", got)
	}
	if out, err := sys.Output(t.Context(), "systemctl", "start", "borgrun-cred.service"); err != nil {
		t.Errorf("the scheduled run did not read the secret through RESTIC_PASSWORD_FILE: %v %s", err, out)
	}
	if env, _ := nextHook(t, msgs); env["kind"] != "success" {
		t.Errorf("after the scheduled run: the %s hook ran", env["kind"])
	}
	for _, u := range units {
		for k, v := range showAll(t, u) {
			if strings.Contains(v, credSecret) {
				t.Errorf("%s shows the secret in %s", u, k)
			}
		}
	}
	_, stderr, code := borgrun(t, append(append([]string{"now", "--quiet"}, flags...), "--", hookDir+"/readcred.sh")...)
	if code != 0 {
		t.Errorf("now did not read the secret through RESTIC_PASSWORD_FILE: exit %d, %q", code, stderr)
	}
	if env, _ := nextHook(t, msgs); env["kind"] != "success" {
		t.Errorf("after now: the %s hook ran", env["kind"])
	}
}

// TestHooksOnSetupFailure: a run whose sandbox the manager cannot set up
// (here a root directory that does not exist: 226/NAMESPACE) fires the
// failure hook.
func TestHooksOnSetupFailure(t *testing.T) {
	msgs := hookTestScripts(t)
	_, stderr, code := borgrun(t, "now", "--name", "hksetup", "--inhibit=no", "--quiet", "-p", "RootDirectory=/nonexistent-root",
		"--on-failure", hookDir+"/hook.sh failure", "--", hookDir+"/run.sh")
	if code == 0 {
		t.Fatalf("now under a missing root directory: exit 0, %q", stderr)
	}
	env, _ := nextHook(t, msgs)
	for k, v := range map[string]string{"kind": "failure", "MONITOR_SERVICE_RESULT": "exit-code", "MONITOR_EXIT_STATUS": "226", "BORGRUN_JOB": "hksetup"} {
		if env[k] != v {
			t.Errorf("%s=%q, want %q", k, env[k], v)
		}
	}
}

// TestHooksAndCredentialUser: under the user manager, the credential's
// path is $XDG_RUNTIME_DIR/credentials/UNIT (borgrun writes it) and the
// hooks fire, for a scheduled run and now.
func TestHooksAndCredentialUser(t *testing.T) {
	msgs := hookTestScripts(t)
	sys := sandbox.Get(t)
	systemctl(t, "start", "user@0.service")
	env := []string{"XDG_RUNTIME_DIR=/run/user/0"}
	user := func(args ...string) (string, error) {
		return sys.Output(t.Context(), "env", append([]string{"XDG_RUNTIME_DIR=/run/user/0", "systemctl", "--user"}, args...)...)
	}
	t.Cleanup(func() {
		sys.Output(context.Background(), "env", "XDG_RUNTIME_DIR=/run/user/0", "systemctl", "--user", "stop",
			"borgrun-ucred.timer", "borgrun-ucred.service")
	})
	flags := []string{"--user", "--name", "ucred", "--hardening=off", "--priority=normal", "--inhibit=no",
		"--credential", "restic=" + hookDir + "/restic-pw", "-E", "RESTIC_PASSWORD_FILE=%d/restic",
		"--on-failure", hookDir + "/hook.sh failure", "--on-success", hookDir + "/hook.sh success"}
	if _, stderr, code := borgrunEnv(t, env, append(append([]string{"schedule", "--daily", "--boot-delay", "0"}, flags...), "--", hookDir+"/readcred.sh")...); code != 0 {
		t.Fatalf("schedule --user: exit %d, %q", code, stderr)
	}
	out, err := user("show", "-p", "Environment", "borgrun-ucred.service")
	if err != nil || !strings.Contains(out, "RESTIC_PASSWORD_FILE=/run/user/0/credentials/borgrun-ucred.service/restic") {
		t.Errorf("user service: %q, %v", out, err)
	}
	if out, err := user("start", "borgrun-ucred.service"); err != nil {
		t.Errorf("the user's scheduled run did not read the secret through RESTIC_PASSWORD_FILE: %v %s", err, out)
	}
	if env, _ := nextHook(t, msgs); env["kind"] != "success" || env["MONITOR_UNIT"] != "borgrun-ucred.service" {
		t.Errorf("after the user's scheduled run: %v", env)
	}
	_, stderr, code := borgrunEnv(t, env, append(append([]string{"now", "--quiet"}, flags...), "--", hookDir+"/readcred.sh")...)
	if code != 0 {
		t.Errorf("now --user did not read the secret: exit %d, %q", code, stderr)
	}
	if env, _ := nextHook(t, msgs); env["kind"] != "success" || env["MONITOR_UNIT"] != "borgrun-ucred-now.service" {
		t.Errorf("after now --user: %v", env)
	}
	if _, stderr, code := borgrunEnv(t, env, "remove", "--user", "ucred"); code != 0 {
		t.Errorf("remove --user: exit %d, %q", code, stderr)
	}
	if out, _ := user("show", "-p", "LoadState", "borgrun-ucred@on-failure.service"); out != "LoadState=not-found\n" {
		t.Errorf("after remove --user, the hook: %q", out)
	}
}

// TestNowBesideRunningHook: a now whose earlier run's hook still runs
// says so (its hook unit exists) instead of blaming another now.
func TestNowBesideRunningHook(t *testing.T) {
	hookTestScripts(t)
	sys := sandbox.Get(t)
	c := dialSandbox(t)
	gate := hookDir + "/gate"
	mkfifo(t, gate)
	hook := "borgrun-hkbusy-now@on-failure.service"
	args := []string{"now", "--name", "hkbusy", "--inhibit=no", "--quiet", "--on-failure", "/bin/sh -c 'read x < " + gate + "'", "--", "/bin/false"}
	if _, stderr, code := borgrun(t, args...); code != 1 {
		t.Fatalf("first now: exit %d, %q", code, stderr)
	}
	t.Cleanup(func() { sys.Output(context.Background(), "systemctl", "stop", hook) })
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := c.WaitActiveState(ctx, hook, "activating"); err != nil {
		t.Fatalf("the failure hook did not start: %v", err)
	}
	_, stderr, code := borgrun(t, args...)
	if want := "borgrun: now: " + hook + ", the on-failure hook of an earlier borgrun now --name hkbusy, is still running; run again once it is done\n"; code != 1 || stderr != want {
		t.Errorf("now beside the running hook: exit %d, %q; want 1, %q", code, stderr, want)
	}
	if _, err := sys.Output(t.Context(), "sh", "-c", "echo go > "+gate); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitGone(ctx, hook); err != nil {
		t.Errorf("the hook did not end and unload: %v", err)
	}
}
