package backup_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/borgrun/borgrun/transient"
	"github.com/borgrun/borgrun/transient/backup"
	"github.com/borgrun/borgrun/transient/transienttest"
)

// hookScripts writes, inside sys, a job command that prints a line and
// exits with the status in DIR/status, and a hook that writes its kind,
// environment and the journal lines of the run it reports to the FIFO
// DIR/messages, and returns the FIFO's reader.
func hookScripts(t *testing.T, sys *transienttest.Systemd, dir string) *transienttest.Messages {
	t.Helper()
	files := map[string]string{
		"run.sh": "#!/bin/sh\necho the run says hello\nexit \"$(cat " + dir + "/status)\"\n",
		// journalctl --sync: the run's last lines may still be on their
		// way to the journal when the hook starts.
		"hook.sh": "#!/bin/sh\njournalctl --sync\nmsg=\"kind=$1\n$(env)\njournal:\n$(journalctl --no-pager -o cat _SYSTEMD_INVOCATION_ID=\"$MONITOR_INVOCATION_ID\" + INVOCATION_ID=\"$MONITOR_INVOCATION_ID\" 2>&1)\"\n" +
			"printf '%s\\nEND\\n' \"$msg\" > " + dir + "/messages\n",
		"status": "0\n",
	}
	if err := os.MkdirAll(sys.Root()+dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range files {
		if err := os.WriteFile(sys.Root()+dir+"/"+name, []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	m, err := sys.Messages(dir + "/messages")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// setStatus sets the exit status of the next runs of run.sh in dir.
func setStatus(t *testing.T, sys *transienttest.Systemd, dir, status string) {
	t.Helper()
	if err := os.WriteFile(sys.Root()+dir+"/status", []byte(status+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// hookEnv parses a hook's message into its kind, environment and journal.
func hookEnv(msg string) (env map[string]string, journal string) {
	head, journal, _ := strings.Cut(msg, "\njournal:\n")
	env = map[string]string{}
	for _, l := range strings.Split(head, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			env[k] = v
		}
	}
	return env, journal
}

// checkJournal checks what a hook read from the journal for the run of
// unit that exited with status: the manager's lines about that invocation
// (read with journalctl INVOCATION_ID=$MONITOR_INVOCATION_ID) are there.
// The run's own last output line may not be yet, even after journalctl
// --sync (measured: about 3 hooks in 100, on every suite): journald reads
// a service's output stream in its own time. That is logged, not failed.
func checkJournal(t *testing.T, journal, unit, status string) {
	t.Helper()
	want := unit + ": Deactivated successfully."
	if status != "0" {
		want = unit + ": Main process exited, code=exited, status=" + status + "/"
	}
	if !strings.Contains(journal, want) {
		t.Errorf("the hook did not read the run's journal entries: no %q in %q", want, journal)
	}
	if !strings.Contains(journal, "the run says hello") {
		t.Logf("the run's own output line was not yet in the journal when the hook read it: %q", journal)
	}
}

// invocation returns the unit's InvocationID as systemctl shows it.
func invocation(t *testing.T, sys *transienttest.Systemd, unit string) string {
	t.Helper()
	return sys.Show(t, unit)["InvocationID"]
}

// TestHooksStayLoaded is the measurement behind the hooks' mechanism: the
// hook units, created as auxiliary units in the pair's StartTransientUnit
// call, stay loaded while they are not running (the service's OnFailure=
// and OnSuccess= reference them, so the manager does not collect them),
// across daemon-reloads and across many runs, and each run fires exactly
// its hook, with the monitored run's details, on every suite's systemd.
// Once the pair is removed, they are gone too.
func TestHooksStayLoaded(t *testing.T) {
	for _, s := range transienttest.Suites() {
		t.Run(s.String(), func(t *testing.T) {
			sys := sandbox.GetSuite(t, s)
			c, err := transient.Dial(t.Context(), transient.DialOptions{Stream: sys.BusStream})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			dir := "/srv/hooks-loaded"
			msgs := hookScripts(t, sys, dir)
			b := &backup.Job{Name: "hooks-loaded", Command: []string{dir + "/run.sh"}, Calendars: []string{"2099-01-01"},
				OnFailure: []string{dir + "/hook.sh", "failure"}, OnSuccess: []string{dir + "/hook.sh", "success"}}
			failure, success := backup.HookUnit(b.ServiceUnit(), backup.HookFailure), backup.HookUnit(b.ServiceUnit(), backup.HookSuccess)
			t.Cleanup(func() { backup.Remove(context.Background(), c, b.Name, true) })
			if out, err := backup.Schedule(t.Context(), c, b, false); err != nil || out != backup.Created {
				t.Fatalf("Schedule: %v, %v", out, err)
			}
			loaded := func(when string) {
				t.Helper()
				for _, u := range []string{failure, success} {
					p := sys.Show(t, u)
					if p["LoadState"] != "loaded" || p["Transient"] != "yes" {
						t.Fatalf("%s: %s: LoadState=%s Transient=%s, want loaded, yes", when, u, p["LoadState"], p["Transient"])
					}
				}
			}
			loaded("after schedule")
			if _, err := sys.Output(t.Context(), "systemctl", "daemon-reload"); err != nil {
				t.Fatal(err)
			}
			loaded("after daemon-reload")
			run := func(status, kind string) {
				t.Helper()
				setStatus(t, sys, dir, status)
				other := failure
				if kind == "failure" {
					other = success
				}
				before := invocation(t, sys, other)
				// Many runs in a few seconds would hit the default start
				// limit (5 in 10 s; result start-limit-hit, which fires
				// the failure hook too): reset it.
				if _, err := sys.Output(t.Context(), "systemctl", "reset-failed", b.ServiceUnit()); err != nil {
					t.Fatal(err)
				}
				_, err := sys.Output(t.Context(), "systemctl", "start", b.ServiceUnit())
				if (err != nil) != (kind == "failure") {
					t.Fatalf("run with status %s: %v", status, err)
				}
				msg, err := msgs.Next(30 * time.Second)
				if err != nil {
					t.Fatal(err)
				}
				env, journal := hookEnv(msg)
				want := map[string]string{"kind": kind, "BORGRUN_JOB": b.Name, "MONITOR_UNIT": b.ServiceUnit(),
					"MONITOR_EXIT_CODE": "exited", "MONITOR_EXIT_STATUS": status,
					"MONITOR_INVOCATION_ID": invocation(t, sys, b.ServiceUnit())}
				want["MONITOR_SERVICE_RESULT"] = "success"
				if kind == "failure" {
					want["MONITOR_SERVICE_RESULT"] = "exit-code"
				}
				for k, v := range want {
					if env[k] != v {
						t.Errorf("hook after a run with status %s: %s=%q, want %q", status, k, env[k], v)
					}
				}
				checkJournal(t, journal, b.ServiceUnit(), status)
				// Both hooks would have been queued at the same moment:
				// the other one has neither run nor a job.
				if p := sys.Show(t, other); p["InvocationID"] != before || p["Job"] != "" {
					t.Errorf("%s ran too: InvocationID %q (was %q), Job %q", other, p["InvocationID"], before, p["Job"])
				}
				loaded("after a run with status " + status)
			}
			for range 3 {
				run("3", "failure")
			}
			run("0", "success")
			if _, err := sys.Output(t.Context(), "systemctl", "daemon-reload"); err != nil {
				t.Fatal(err)
			}
			loaded("after a second daemon-reload")
			run("0", "success")
			run("5", "failure")
			if err := backup.Remove(t.Context(), c, b.Name, false); err != nil {
				t.Fatal(err)
			}
			for _, u := range []string{failure, success} {
				if p := sys.Show(t, u); p["LoadState"] != "not-found" {
					t.Errorf("after Remove: %s: LoadState=%s, want not-found", u, p["LoadState"])
				}
			}
		})
	}
}

// TestFingerprintWithoutHooks: a job without hooks keeps the fingerprint
// it had before hooks existed (so its schedule stays "unchanged" across an
// upgrade of borgrun); each hook changes it.
func TestFingerprintWithoutHooks(t *testing.T) {
	b := &backup.Job{Name: "fp", Command: []string{"/bin/true"}, Calendars: []string{"daily"}, Persistent: true}
	// The fingerprint of this job before hooks (borgrun 1f75fb8).
	if got, want := b.Fingerprint(), "b08aed7d2e985c12"; got != want {
		t.Errorf("Fingerprint() = %s, want %s (as before hooks)", got, want)
	}
	seen := map[string]bool{b.Fingerprint(): true}
	for _, j := range []backup.Job{
		{OnFailure: []string{"/bin/echo", "x"}}, {OnFailure: []string{"/bin/echo", "y"}}, {OnSuccess: []string{"/bin/echo", "x"}},
	} {
		h := *b
		h.OnFailure, h.OnSuccess = j.OnFailure, j.OnSuccess
		if fp := h.Fingerprint(); seen[fp] {
			t.Errorf("hooks %q %q: fingerprint %s not new", j.OnFailure, j.OnSuccess, fp)
		} else {
			seen[fp] = true
		}
	}
}

// TestSecretNames: what Job.Check refuses in the environment.
func TestSecretNames(t *testing.T) {
	for _, n := range []string{"BORG_PASSPHRASE", "RESTIC_PASSWORD", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "TOKEN",
		"MYSQL_PWD_PASSWORD", "db_password", "B2_APPLICATION_KEY_SECRET", "HC_API_KEY", "SSH_PRIVATE_KEY", "PGPASSWD"} {
		if !backup.SecretName(n) {
			t.Errorf("SecretName(%q) = false, want true", n)
		}
	}
	for _, n := range []string{"BORG_PASSCOMMAND", "RESTIC_PASSWORD_FILE", "RESTIC_PASSWORD_COMMAND", "BORG_PASSPHRASE_FD",
		"BORG_REPO", "AWS_ACCESS_KEY_ID", "PATH", "TOKENIZER", "BORG_KEY_FILE", "HOME", "BORGRUN_SCHEDULE",
		"GOOGLE_APPLICATION_CREDENTIALS", "CREDENTIALS_DIRECTORY", "SECRETS_DIR"} {
		if backup.SecretName(n) {
			t.Errorf("SecretName(%q) = true, want false", n)
		}
	}
	for _, j := range []*backup.Job{
		{Name: "s", Command: []string{"/bin/true"}, Environment: []string{"RESTIC_PASSWORD=x"}},
		{Name: "s", Command: []string{"/bin/true"}, ServiceProperties: []string{`Environment="A=1" GITHUB_TOKEN=x`}},
	} {
		var se *backup.SecretError
		if err := j.Check(252); !errors.As(err, &se) || !errors.Is(err, backup.ErrInvalid) {
			t.Errorf("Check of %+v: %v, want a SecretError wrapping ErrInvalid", j, err)
		}
	}
	ok := &backup.Job{Name: "s", Command: []string{"/bin/true"}, Environment: []string{"RESTIC_PASSWORD_FILE=%d/restic"},
		Credentials: []backup.Credential{{Name: "restic", File: "/etc/restic-pw"}}}
	if err := ok.Check(252); err != nil {
		t.Errorf("Check of a credential and its path: %v", err)
	}
	want := `Environment="RESTIC_PASSWORD_FILE=/run/credentials/borgrun-s.service/restic"`
	if a := strings.Join(ok.ServiceAssignments("oneshot"), "\n"); !strings.Contains(a, want) || !strings.Contains(a, "LoadCredential=restic:/etc/restic-pw") {
		t.Errorf("assignments lack %q or the LoadCredential:\n%s", want, a)
	}
	ok.RuntimeDir = "/run/user/1000"
	want = `Environment="RESTIC_PASSWORD_FILE=/run/user/1000/credentials/borgrun-s-now.service/restic"`
	if a := strings.Join(ok.ServiceAssignments("exec"), "\n"); !strings.Contains(a, want) {
		t.Errorf("assignments of a user manager's now lack %q:\n%s", want, a)
	}
}
