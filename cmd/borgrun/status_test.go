package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// removeAfter removes the jobs when the test ends, failed state and all.
func removeAfter(t *testing.T, names ...string) {
	t.Cleanup(func() {
		for _, n := range names {
			u := "borgrun-" + n
			_, _ = sandbox.Get(t).Output(context.Background(), "systemctl", "stop", u+".timer", u+".service")
			_, _ = sandbox.Get(t).Output(context.Background(), "systemctl", "reset-failed", u+".timer", u+".service")
		}
	})
}

// runService starts a job's service as its timer would, waits for the
// end, and has journald write out what it holds.
func runService(t *testing.T, name string) {
	t.Helper()
	// A oneshot: systemctl start returns when the run has ended, with
	// an error when it failed.
	_, _ = sandbox.Get(t).Output(t.Context(), "systemctl", "start", "borgrun-"+name+".service")
	_, _ = sandbox.Get(t).Output(t.Context(), "journalctl", "--sync")
}

// writeSandbox writes a file inside the sandbox (path is the sandbox's).
func writeSandbox(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(sandbox.Get(t).Root(), path), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCheckAndLastSuccess: a job whose last run failed makes check exit 1
// naming it, and list still shows its earlier success, from the journal;
// a job that succeeded passes check, until --max-age makes it overdue.
func TestCheckAndLastSuccess(t *testing.T) {
	removeAfter(t, "chkflaky", "chkok")
	flag := "/run/borgrun-chkflaky-ok"
	for _, args := range [][]string{
		{"schedule", "--daily", "--hardening=off", "--boot-delay", "0", "--name", "chkflaky", "--", "/usr/bin/test", "-e", flag},
		{"schedule", "--daily", "--hardening=off", "--boot-delay", "0", "--name", "chkok", "--", "/bin/true"},
	} {
		if _, stderr, code := borgrun(t, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}
	// Scheduled, never run: nothing to complain about yet.
	if stdout, stderr, code := borgrun(t, "check", "chkflaky", "chkok"); code != 0 || stdout != "OK: 2 jobs\n" {
		t.Fatalf("check before any run: exit %d, %q %q", code, stdout, stderr)
	}
	writeSandbox(t, flag, "")
	runService(t, "chkflaky")
	runService(t, "chkok")
	if stdout, stderr, code := borgrun(t, "check", "chkflaky", "chkok"); code != 0 || stdout != "OK: 2 jobs\n" {
		t.Fatalf("check after good runs: exit %d, %q %q", code, stdout, stderr)
	}
	firstSuccess := time.Now()
	if err := os.Remove(filepath.Join(sandbox.Get(t).Root(), flag)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // a later second than the success
	runService(t, "chkflaky")

	stdout, stderr, code := borgrun(t, "check", "chkflaky", "chkok")
	if code != 1 || !strings.HasPrefix(stdout, "chkflaky: last run failed: exit-code (1)") || strings.Contains(stdout, "chkok") || !strings.Contains(stdout, "last success") {
		t.Errorf("check with a failed run: exit %d, %q %q", code, stdout, stderr)
	}
	stdout, stderr, code = borgrun(t, "list", "--json")
	if code != 0 {
		t.Fatalf("list --json: exit %d: %s", code, stderr)
	}
	var jobs []listedJob
	if err := json.Unmarshal([]byte(stdout), &jobs); err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, j := range jobs {
		switch j.Name {
		case "chkflaky":
			found++
			// The earlier success, from the journal (to the second).
			if j.Result != "exit-code" || j.Status != 1 || j.LastSuccess.IsZero() || j.LastSuccess.After(firstSuccess.Add(time.Second)) || j.Overdue {
				t.Errorf("chkflaky = %+v, want exit-code (1) with the earlier success, not overdue", j)
			}
		case "chkok":
			found++
			if j.Result != "success" || j.LastSuccess.IsZero() || j.Overdue || j.Due.Before(j.LastSuccess.Add(time.Hour)) {
				t.Errorf("chkok = %+v, want success, a last success and a deadline after it", j)
			}
		}
	}
	if found != 2 {
		t.Errorf("list --json lacks a job: %s", stdout)
	}
	stdout, _, _ = borgrun(t, "list")
	if !strings.Contains(stdout, "LAST SUCCESS") || !strings.Contains(stdout, "exit-code (1)") {
		t.Errorf("list = %q", stdout)
	}

	// Overdue: a last success older than --max-age.
	time.Sleep(1100 * time.Millisecond)
	stdout, stderr, code = borgrun(t, "check", "chkok", "--max-age", "1s")
	if code != 1 || !strings.HasPrefix(stdout, "chkok: overdue: last success ") {
		t.Errorf("check --max-age 1s: exit %d, %q %q", code, stdout, stderr)
	}
	if stdout, _, _ := borgrun(t, "list", "--max-age", "1s"); !strings.Contains(stdout, "OVERDUE") {
		t.Errorf("list --max-age 1s shows no OVERDUE: %q", stdout)
	}
	if stdout, stderr, code := borgrun(t, "check", "nosuchjob"); code != 1 || stdout != "nosuchjob: not scheduled\n" {
		t.Errorf("check of a job not scheduled: exit %d, %q %q", code, stdout, stderr)
	}
	if _, stderr, code := borgrun(t, "check", "--max-age", "soon"); code != 2 {
		t.Errorf("check --max-age soon: exit %d, %q", code, stderr)
	}
}

// TestLogs: logs shows the real output of the last run, -n 2 of the last
// two, and nothing of a job that never ran.
func TestLogs(t *testing.T) {
	removeAfter(t, "logsjob")
	msg := "/run/borgrun-logs-msg"
	if _, stderr, code := borgrun(t, "schedule", "--daily", "--hardening=off", "--boot-delay", "0", "--name", "logsjob", "--", "/bin/cat", msg); code != 0 {
		t.Fatalf("schedule: exit %d: %s", code, stderr)
	}
	if _, stderr, code := borgrun(t, "logs", "logsjob"); code != 1 || !strings.Contains(stderr, "no run in the journal") {
		t.Errorf("logs before a run: exit %d, %q", code, stderr)
	}
	for i := range 3 {
		writeSandbox(t, msg, "output-of-run-"+strconv.Itoa(i+1)+"\n")
		runService(t, "logsjob")
	}
	stdout, stderr, code := borgrun(t, "logs", "logsjob")
	if code != 0 || !strings.Contains(stdout, "output-of-run-3") || strings.Contains(stdout, "output-of-run-2") {
		t.Errorf("logs: exit %d, %q %q", code, stdout, stderr)
	}
	stdout, stderr, code = borgrun(t, "logs", "logsjob", "-n", "2")
	if code != 0 || !strings.Contains(stdout, "output-of-run-3") || !strings.Contains(stdout, "output-of-run-2") || strings.Contains(stdout, "output-of-run-1") {
		t.Errorf("logs -n 2: exit %d, %q %q", code, stdout, stderr)
	}
}

func TestShowStatusOutputs(t *testing.T) {
	if os.Getenv("BORGRUN_SHOW") == "" {
		t.Skip()
	}
	removeAfter(t, "demo-ok", "demo-fail")
	borgrun(t, "schedule", "--daily", "--hardening=off", "--boot-delay", "0", "--name", "demo-ok", "--", "/bin/echo", "hello from a backup")
	borgrun(t, "schedule", "--hourly", "--hardening=off", "--boot-delay", "0", "--name", "demo-fail", "--", "/bin/false")
	runService(t, "demo-ok")
	runService(t, "demo-fail")
	for _, a := range [][]string{{"list"}, {"check"}, {"check", "demo-ok"}, {"logs", "demo-ok"}, {"check", "demo-ok", "--max-age", "1s"}} {
		time.Sleep(1100 * time.Millisecond)
		o, e, c := borgrun(t, a...)
		t.Logf("$ borgrun %s  (exit %d)\n%s%s", strings.Join(a, " "), c, o, e)
	}
}
