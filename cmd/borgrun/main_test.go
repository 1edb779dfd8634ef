package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/borgrun/borgrun/transient"
	"github.com/borgrun/borgrun/transient/transienttest"
)

// The integration tests run this test binary as borgrun inside a throwaway
// systemd: with BORGRUN_TEST_MAIN=1 it is borgrun's main.
var sandbox transienttest.Shared

func TestMain(m *testing.M) {
	if os.Getenv(envSlowLink) != "" {
		slowLinkMain() // the test's slow ssh wrapper (slowlink_test.go)
	}
	if os.Getenv("BORGRUN_TEST_MAIN") == "1" {
		main()
	}
	if exe, err := os.Executable(); err == nil {
		sandbox.Options.Binds = []string{filepath.Dir(exe)}
	}
	// A directory the benchmark report builds the real binary into.
	dir, err := os.MkdirTemp("", "borgrun-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	benchBin = dir
	sandbox.Options.Binds = append(sandbox.Options.Binds, dir)
	code := sandbox.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// skipUnlessRequired skips t for lack of something the integration tests
// need (a tool, root), or fails it when transienttest.EnvRequire is set,
// so that CI cannot silently stop running it.
func skipUnlessRequired(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv(transienttest.EnvRequire) != "" {
		t.Fatalf(transienttest.EnvRequire+" is set but "+format, args...)
	}
	t.Skipf(format, args...)
}

// borgrun runs borgrun with args inside the shared sandbox and returns its
// stdout, stderr and exit status.
func borgrun(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return borgrunEnv(t, nil, args...)
}

// borgrunEnv is borgrun with extra environment variables for borgrun.
func borgrunEnv(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return borgrunIn(t, sandbox.Get(t), env, args...)
}

// borgrunIn runs borgrun with args and extra environment variables inside
// the throwaway systemd sys (of any suite).
func borgrunIn(t *testing.T, sys *transienttest.Systemd, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := sys.Command(t.Context(), exe, args...)
	cmd.Env = append(append(cmd.Env, "BORGRUN_TEST_MAIN=1"), env...)
	return runCapture(t, cmd)
}

// runCapture runs cmd and returns its stdout, stderr and exit status; a
// command that cannot be run at all fails the test.
func runCapture(t *testing.T, cmd *exec.Cmd) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func systemctl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := sandbox.Get(t).Output(t.Context(), "systemctl", args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func showProps(t *testing.T, unit string, names ...string) map[string]string {
	t.Helper()
	return showPropsIn(t, sandbox.Get(t), unit, names...)
}

// showPropsIn is showProps in the throwaway systemd sys.
func showPropsIn(t *testing.T, sys *transienttest.Systemd, unit string, names ...string) map[string]string {
	t.Helper()
	out, err := sys.Output(t.Context(), "systemctl", "show", unit, "--property="+strings.Join(names, ","))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m
}

// conditions returns the unit's Conditions property as busctl prints it.
func conditions(t *testing.T, unit string) string {
	t.Helper()
	out, err := sandbox.Get(t).Output(t.Context(), "busctl", "get-property", "org.freedesktop.systemd1",
		"/org/freedesktop/systemd1/unit/"+strings.NewReplacer("-", "_2d", ".", "_2e").Replace(unit),
		"org.freedesktop.systemd1.Unit", "Conditions")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

func TestScheduleDailyCreatesTimerAndService(t *testing.T) {
	stdout, stderr, code := borgrun(t, "schedule", "--daily", "--name", "skeleton", "--", "/bin/true")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	t.Cleanup(func() {
		sandbox.Get(t).Output(context.Background(), "systemctl", "stop", "borgrun-skeleton.timer", "borgrun-skeleton.service")
	})
	for _, want := range []string{"scheduled skeleton: borgrun-skeleton.timer triggers borgrun-skeleton.service", "when:    *-*-* 00:00:00", "next run "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout %q lacks %q", stdout, want)
		}
	}
	timer := showProps(t, "borgrun-skeleton.timer", "ActiveState", "Persistent", "RandomizedDelayUSec", "TimersCalendar", "Triggers", "FragmentPath")
	for k, want := range map[string]string{
		"ActiveState":         "active",
		"Persistent":          "yes",
		"RandomizedDelayUSec": "10min",
		"Triggers":            "borgrun-skeleton.service",
		"FragmentPath":        "/run/systemd/transient/borgrun-skeleton.timer",
	} {
		if timer[k] != want {
			t.Errorf("timer %s = %q, want %q", k, timer[k], want)
		}
	}
	if !strings.HasPrefix(timer["TimersCalendar"], "{ OnCalendar=*-*-* 00:00:00 ;") {
		t.Errorf("timer TimersCalendar = %q", timer["TimersCalendar"])
	}
	svc := showProps(t, "borgrun-skeleton.service", "LoadState", "Type", "ExecStart", "SyslogIdentifier", "ConditionACPower")
	if svc["LoadState"] != "loaded" || svc["Type"] != "oneshot" || svc["SyslogIdentifier"] != "true" {
		t.Errorf("service = %v", svc)
	}
	if !strings.Contains(svc["ExecStart"], "argv[]=/usr/bin/systemd-inhibit --what=sleep:shutdown --mode=block --who=borgrun") ||
		!strings.Contains(svc["ExecStart"], " /bin/true ;") {
		t.Errorf("service ExecStart = %q, want the command under systemd-inhibit", svc["ExecStart"])
	}
	// ConditionACPower is on the service (systemctl show lists conditions
	// only in the unit file view; check via the D-Bus Conditions property).
	if got, want := conditions(t, "borgrun-skeleton.service"), `a(sbbsi) 1 "ConditionACPower" false false "true" 0`; got != want {
		t.Errorf("service Conditions = %q, want %q", got, want)
	}
	if got, want := conditions(t, "borgrun-skeleton.timer"), "a(sbbsi) 0"; got != want {
		t.Errorf("timer Conditions = %q, want %q (AC power is the service's condition)", got, want)
	}
	// No unit file was written anywhere but the manager's transient dir.
	if out := systemctl(t, "list-unit-files", "borgrun-*", "--no-legend"); strings.Contains(out, "/etc/") {
		t.Errorf("unit files on disk: %q", out)
	}
}

func TestNowPropagatesExitStatus(t *testing.T) {
	stdout, stderr, code := borgrun(t, "now", "--", "/bin/sh", "-c", "echo out; echo err >&2; exit 7")
	if code != 7 {
		t.Fatalf("exit %d, want 7; stderr %q", code, stderr)
	}
	if stdout != "out\n" {
		t.Errorf("stdout %q, want the command's output streamed", stdout)
	}
	for _, want := range []string{"Running as unit: borgrun-sh-now.service\n", "err\n", "Finished with result: exit-code\n", "Main processes terminated with: code=exited/status=7\n", "Service runtime: ", "CPU time consumed: "} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q lacks %q", stderr, want)
		}
	}
	if got := showProps(t, "borgrun-sh-now.service", "LoadState")["LoadState"]; got != "not-found" {
		t.Errorf("after now, LoadState = %q, want not-found (nothing left behind)", got)
	}
}

// TestNowOverPrivateSocket: with no system bus, now falls back to the
// manager's private socket, where the unit cannot be pinned; the result must
// still be right and nothing left behind.
func TestNowOverPrivateSocket(t *testing.T) {
	_, stderr, code := borgrunEnv(t, []string{"DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent"},
		"now", "--name", "private", "--", "/bin/sh", "-c", "exit 5")
	if code != 5 || !strings.Contains(stderr, "code=exited/status=5") || !strings.Contains(stderr, "Finished with result: exit-code") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if got := showProps(t, "borgrun-private-now.service", "LoadState")["LoadState"]; got != "not-found" {
		t.Errorf("after now, LoadState = %q, want not-found", got)
	}
}

func TestNowSuccessQuiet(t *testing.T) {
	stdout, stderr, code := borgrun(t, "now", "--quiet", "--name", "quiet", "--", "/bin/echo", "hello")
	if code != 0 || stdout != "hello\n" || stderr != "" {
		t.Fatalf("now --quiet: exit %d stdout %q stderr %q", code, stdout, stderr)
	}
}

// TestBadInput runs borgrun in-process: every case must exit 2 with one line
// naming the bad token, before any connection to a manager is attempted.
func TestBadInput(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"schedule", "--", "/bin/true"}, "say when"},
		{[]string{"schedule", "--daily", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"schedule", "--on-calendar", "Mon 25:00", "--", "/bin/true"}, `"Mon 25:00"`},
		{[]string{"schedule", "--on-calendar", "Febtober 1", "--", "/bin/true"}, `"Febtober 1"`},
		{[]string{"schedule", "--daily", "--randomized-delay", "5x", "--", "/bin/true"}, `"5x"`},
		{[]string{"schedule", "--daily", "--name", "a b", "--", "/bin/true"}, `name "a b"`},
		{[]string{"schedule", "--daily", "--name", "-x", "--", "/bin/true"}, `name "-x"`},
		{[]string{"schedule", "--daily", "--inhibit", "maybe", "--", "/bin/true"}, `"maybe"`},
		{[]string{"schedule", "--daily", "--", "no-such-command-xyz"}, `"no-such-command-xyz"`},
		{[]string{"now", "--", "no-such-command-xyz"}, `"no-such-command-xyz"`},
		{[]string{"now", "--name", "", "--", "/bin/true"}, `--name`},
		{[]string{"now", "--quiet=maybe"}, `"maybe"`},
		{[]string{"help", "frobnicate"}, `"frobnicate"`},
		{[]string{"schedule", "--daily", "--priority", "lazy", "--", "/bin/true"}, `"lazy"`},
		{[]string{"schedule", "--daily", "--hardening", "wild", "--", "/bin/true"}, `"wild"`},
		{[]string{"schedule", "--daily", "--writable", "var/tmp", "--", "/bin/true"}, `"var/tmp": must be absolute`},
		{[]string{"schedule", "--daily", "--hardening=off", "--writable", "/var/tmp", "--", "/bin/true"}, `--writable has no effect`},
		{[]string{"schedule", "--daily", "--relax", "wx,nope", "--", "/bin/true"}, `relaxation "nope": want known-hosts, wx, snapshots`},
		{[]string{"now", "--relax", "", "--", "/bin/true"}, `relaxation "": want known-hosts, wx, snapshots`},
		{[]string{"now", "--hardening=off", "--relax", "wx", "--", "/bin/true"}, `--relax has no effect with --hardening=off`},
		{[]string{"now", "--passphrase-file", "pp", "--", "/bin/true"}, `--passphrase-file "pp"`},
		{[]string{"now", "--passphrase-file", "/nonexistent/pp", "--", "/bin/true"}, `"/nonexistent/pp"`},
		{[]string{"now", "--", "borgmatic", "-c", "/nonexistent/b.yaml"}, `"/nonexistent/b.yaml"`},
		{[]string{"schedule", "--daily", "--boot-delay", "forever", "--", "/bin/true"}, `"forever"`},
		{[]string{"schedule", "--daily", "--accuracy", "1x", "--", "/bin/true"}, `"1x"`},
		{[]string{"schedule", "--daily", "--randomized-delay", "infinity", "--", "/bin/true"}, `"infinity"`},
		{[]string{"schedule", "--daily", "-p", "Nicee=5", "--", "/bin/true"}, `did you mean "Nice"`},
		{[]string{"schedule", "--daily", "-p", "Nice=99", "--", "/bin/true"}, `"Nice=99"`},
		{[]string{"schedule", "--daily", "-p", "RandomizedDelaySec=5", "--", "/bin/true"}, `use --timer-property`},
		{[]string{"schedule", "--daily", "--timer-property", "Nice=5", "--", "/bin/true"}, `use -p`},
		{[]string{"schedule", "--daily", "-p", "NoEquals", "--", "/bin/true"}, `"NoEquals"`},
		{[]string{"schedule", "--daily", "-E", "=x", "--", "/bin/true"}, `"=x"`},
		{[]string{"schedule", "--on-calendar", "2001-01-01", "--", "/bin/true"}, `"2001-01-01"`},
		{[]string{"now", "--priority", "", "--", "/bin/true"}, `--priority ""`},
		{[]string{"now", "-p", "ExecStart=", "-p", "Bogus=1", "--", "/bin/true"}, `"Bogus=1"`},
		{[]string{"list", "extra"}, `"extra"`},
		{[]string{"list", "--bogus"}, `--bogus`},
		{[]string{"remove"}, `NAME... or --all`},
		{[]string{"remove", "--all", "x"}, `not both`},
		{[]string{"remove", "bad name"}, `"bad name"`},
		{[]string{"schedule", "--daily", "-H", "a b", "--", "/bin/true"}, `host "a b": bad host name`},
		{[]string{"schedule", "--daily", "-H", "db1", "--user", "--", "/bin/true"}, `cannot be combined with --user`},
		{[]string{"schedule", "--daily", "-H", "db1:0", "--", "/bin/true"}, `"db1:0": port must be 1..65535`},
		{[]string{"schedule", "--daily", "-H", "db1", "--writable", "/srv", "--", "/bin/true"}, `--writable with -H`},
		{[]string{"schedule", "--daily", "-H", "db1", "--", "bin/x"}, `"bin/x"`},
		{[]string{"list", "-H", "db1", "-H", "db1"}, `-H "db1" given twice`},
		{[]string{"list", "-H", "db1", "--parallel", "0"}, `--parallel 0`},
		{[]string{"list", "-H", "-oProxyCommand=x"}, `"-oProxyCommand=x"`},
		{[]string{"remove", "--json", "x"}, `--json goes with -H`},
		{[]string{"remove", "x", "-H", "u@"}, `"u@"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := newBadInputEnv(t, &stdout, &stderr).main(tt.args); code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			msg := stderr.String()
			if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "borgrun: ") || !strings.Contains(msg, tt.want) {
				t.Errorf("stderr %q: want one line starting \"borgrun: \" containing %q", msg, tt.want)
			}
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"help", "schedule"}, {"help", "now"}, {"help", "export"}, {"export", "--help"}, {"schedule", "--help"}, {"now", "-h"}, {"--version"}} {
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), args, &stdout, &stderr); code != 0 || stdout.Len() == 0 || stderr.Len() != 0 {
			t.Errorf("%v: exit %d, stdout %d bytes, stderr %q", args, code, stdout.Len(), stderr.String())
		}
	}
}

// TestHelpShowsPlainSwitches: a flag that takes no value reads --name in
// every command's help, not --name[=true|false] or --name value[=true].
func TestHelpShowsPlainSwitches(t *testing.T) {
	for _, tt := range []struct {
		cmd   string
		plain []string
	}{
		{"schedule", []string{"      --daily ", "      --dry-run ", "      --system ", "      --no-persistent "}},
		{"now", []string{"  -q, --quiet ", "      --detach ", "      --user ", "      --system "}},
		{"list", []string{"      --json ", "      --system "}},
		{"remove", []string{"      --system "}},
		{"export", []string{"      --system "}},
	} {
		var stdout, stderr bytes.Buffer
		if code := newBadInputEnv(t, &stdout, &stderr).main([]string{"help", tt.cmd}); code != 0 {
			t.Fatalf("help %s: exit %d, stderr %q", tt.cmd, code, stderr.String())
		}
		out := stdout.String()
		if strings.Contains(out, "[=") {
			t.Errorf("help %s shows an optional value:\n%s", tt.cmd, out)
		}
		for _, p := range tt.plain {
			if !strings.Contains(out, "\n"+p) {
				t.Errorf("help %s lacks a line starting %q:\n%s", tt.cmd, p, out)
			}
		}
	}
}

// newBadInputEnv returns an in-process borgrun whose manager connection
// fails the test if it is ever attempted.
func newBadInputEnv(t *testing.T, stdout, stderr io.Writer) *env {
	return &env{ctx: t.Context(), stdout: stdout, stderr: stderr, now: testNow, lookPath: exec.LookPath,
		ssh: []string{"/nonexistent/bad-input-reached-ssh"},
		dial: transient.DialOptions{Stream: func(context.Context) (io.ReadWriteCloser, error) {
			t.Error("bad input reached the manager")
			return nil, errors.New("no manager in this test")
		}}}
}

// dialSandbox connects the test to the shared sandbox's system bus; the
// connection is closed when the test ends.
func dialSandbox(t *testing.T) *transient.Conn {
	t.Helper()
	c, err := transient.Dial(t.Context(), transient.DialOptions{Stream: sandbox.Get(t).BusStream})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}
