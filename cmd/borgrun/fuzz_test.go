package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/borgrun/borgrun/transient"
)

// argSep separates the arguments in FuzzCLI's input: a real argv cannot
// contain NUL.
const argSep = "\x00"

// FuzzCLI runs borgrun in-process on arbitrary argument lists, with a
// manager that cannot be reached. It must not panic or hang; it exits 0,
// 1 or 2; exit 2 (bad input) is one line and never contacts the manager;
// exit 1 is a failure to reach it.
func FuzzCLI(f *testing.F) {
	for _, c := range badInputCases() {
		f.Add(strings.Join(c.args, argSep))
	}
	for _, args := range [][]string{
		{"help"}, {"--version"}, {"help", "schedule"}, {"__complete", "remove", ""}, {"completion", "zsh"}, {"now", "-h"}, {"run", "--help"},
		{"list"}, {"list", "--json"}, {"remove", "--all"}, {"remove", "x", "y"},
		{"export", "x"}, {"export", "x", "y", "--dir", "/tmp"}, {"help", "export"},
		{"schedule", "--daily", "--dry-run", "--", "/bin/true"},
		{"schedule", "--on-calendar", "Mon..Fri 12:30", "--randomized-delay", "0", "--dry-run", "--", "/bin/sh", "-c", "exit 0"},
		{"now", "--quiet", "--", "/bin/true"},
		{"run", "--wait", "-p", "Nice=5", "/bin/true"},
		{"run", "-u", "x", "--on-calendar=daily", "/bin/true"},
		{"list", "-M", "fuzz-nosuch"}, {"run", "-M", "fuzz-nosuch", "--wait", "true"}, {"now", "-M", "a/b"},
		{"schedule", "--daily", "--dry-run", "--on-failure", "/bin/echo 'a b' \\x", "--on-success", "true", "--", "/bin/true"},
		{"now", "--on-failure", "\"", "--credential", "a=/etc/hostname", "-E", "A_FILE=%d/a", "--", "/bin/true"},
		{"schedule", "--daily", "-E", "RESTIC_PASSWORD=x", "-p", "Environment=X_TOKEN=y", "--", "/bin/true"},
	} {
		f.Add(strings.Join(args, argSep))
	}
	f.Fuzz(func(t *testing.T, in string) {
		args := strings.Split(in, argSep)
		if args[0] == "__man" {
			t.Skip("__man writes files where it is told")
		}
		var stdout, stderr bytes.Buffer
		var dialled atomic.Bool
		// -H reaches a host's manager through this ssh, which fails:
		// such an attempt counts as contacting a manager.
		const fuzzSSH = "/nonexistent/borgrun-fuzz-ssh"
		e := &env{ctx: t.Context(), stdout: &stdout, stderr: &stderr, now: testNow, lookPath: exec.LookPath, ssh: []string{fuzzSSH},
			dial: transient.DialOptions{Stream: func(context.Context) (io.ReadWriteCloser, error) {
				dialled.Store(true)
				return nil, errors.New("no manager in this test")
			}}}
		done := make(chan int, 1)
		go func() { done <- e.main(args) }()
		var code int
		select {
		case code = <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%q: no answer within 10s", args)
		}
		msg := stderr.String()
		switch code {
		case 0:
			// --version asks the manager which systemd it is, and
			// says so when none answers.
			version := strings.HasPrefix(stdout.String(), "borgrun ") && strings.Contains(stdout.String(), "\nmanager: ")
			// __complete asks the manager for names, and offers none
			// when it does not answer.
			if dialled.Load() && !version && args[0] != "__complete" {
				t.Errorf("%q: exit 0 without a manager", args)
			}
		case exitFailure:
			if strings.Contains(msg, fuzzSSH) {
				dialled.Store(true)
			}
			// -M asks this machine's systemd-machined for the
			// container, before any manager: that is contact too.
			if strings.Contains(msg, "No machine '") || strings.Contains(msg, "systemd-machined") {
				dialled.Store(true)
			}
			if !dialled.Load() {
				t.Errorf("%q: exit 1 without contacting the manager; stderr %q", args, msg)
			}
		case exitUsage:
			if dialled.Load() {
				t.Errorf("%q: bad input reached the manager; stderr %q", args, msg)
			}
			if strings.Count(msg, "\n") != 1 || !strings.HasSuffix(msg, "\n") || !strings.HasPrefix(msg, "borgrun: ") {
				t.Errorf("%q: exit 2 with stderr %q, want one line \"borgrun: ...\"", args, msg)
			}
		default:
			t.Errorf("%q: exit %d, want 0, 1 or 2; stderr %q", args, code, msg)
		}
	})
}
