package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/borgrun/borgrun/props"
	"github.com/borgrun/borgrun/transient"
	"github.com/borgrun/borgrun/transient/backup"
)

// sshPortInterrupt is the port of the sshd now -H reaches in
// TestInterruptAtAnyMoment.
const sshPortInterrupt = 2313

// interrupted runs borgrun in-process against the shared sandbox's
// manager and, after delay, cancels it as main does when sig arrives.
func interrupted(t *testing.T, sig syscall.Signal, delay time.Duration, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return interruptedSSH(t, []string{"/nonexistent/ssh"}, sig, delay, args...)
}

// interruptedSSH is interrupted with ssh as the ssh command of -H.
func interruptedSSH(t *testing.T, ssh []string, sig syscall.Signal, delay time.Duration, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	sys := sandbox.Get(t)
	ctx, cancel := context.WithCancelCause(t.Context())
	defer cancel(nil)
	var out, errb bytes.Buffer
	e := &env{ctx: ctx, stdout: &out, stderr: &errb, now: time.Now, lookPath: exec.LookPath,
		ssh: ssh, dial: transient.DialOptions{Stream: sys.BusStream}}
	timer := time.AfterFunc(delay, func() { cancel(signalCause{sig}) })
	defer timer.Stop()
	code = e.main(args)
	return out.String(), errb.String(), code
}

// loadStates returns the LoadState of each unit, in one systemctl call.
func loadStates(t *testing.T, units ...string) []string {
	t.Helper()
	var states []string
	for _, block := range strings.Split(systemctl(t, append([]string{"show", "-p", "LoadState", "--"}, units...)...), "\n\n") {
		states = append(states, strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(block), "LoadState=")))
	}
	return states
}

// waitGone waits (bounded) until the manager has unloaded unit.
func waitGone(t *testing.T, c *transient.Conn, unit string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := c.WaitGone(ctx, unit); err != nil {
		t.Fatalf("%s left behind: %v", unit, err)
	}
}

// TestInterruptAtAnyMoment sends SIGINT or SIGTERM to schedule, now,
// now -H, run --wait and remove at random moments of their first 100 ms, many
// times. Each time the exit status is 0 (done before the signal) or
// 128+N, every line of the report is true, and nothing is left behind:
// no half pair, no probe, no unit of a run.
func TestInterruptAtAnyMoment(t *testing.T) {
	c := dialSandbox(t)
	const rounds = 12
	sigs := []syscall.Signal{syscall.SIGINT, syscall.SIGTERM}
	exits := map[string]map[int]int{}
	count := func(cmd string, code int) {
		if exits[cmd] == nil {
			exits[cmd] = map[int]int{}
		}
		exits[cmd][code]++
	}
	checkCode := func(t *testing.T, sig syscall.Signal, code int, stderr string) {
		t.Helper()
		if code != 0 && code != 128+int(sig) {
			t.Fatalf("exit %d, want 0 or %d; stderr %q", code, 128+int(sig), stderr)
		}
		if strings.Count(stderr, "\n") > 1 {
			t.Errorf("stderr is more than one line: %q", stderr)
		}
	}
	// now -H reaches the same manager over a real ssh: an sshd in the
	// sandbox, and ssh from here entering its network namespace.
	sys := sandbox.Get(t)
	sshDir := t.TempDir()
	d, err := sys.StartSSHD(t.Context(), sshDir, sshPortInterrupt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = sys.Output(context.Background(), "systemctl", "stop", d.Unit) })
	cfg, err := d.ClientConfig(sshDir, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	inNet := []string{"nsenter", "-t", strconv.Itoa(sys.PID()), "-n", "--", "ssh", "-F", cfg}
	host := "127.0.0.1:" + strconv.Itoa(sshPortInterrupt)
	for i := range rounds {
		sig := sigs[i%2]
		delay := func() time.Duration { return time.Duration(rand.Int64N(int64(100 * time.Millisecond))) }

		t.Run("schedule/"+strconv.Itoa(i), func(t *testing.T) {
			name := "int-s" + strconv.Itoa(i)
			j := backup.Job{Name: name}
			t.Cleanup(func() { _ = backup.Remove(context.Background(), c, name, true) })
			stdout, stderr, code := interrupted(t, sig, delay(), "schedule", "--daily", "--name", name, "--", "/bin/true")
			count("schedule", code)
			checkCode(t, sig, code, stderr)
			states := loadStates(t, j.TimerUnit(), j.ServiceUnit())
			created := strings.HasPrefix(stdout, "scheduled "+name+":")
			switch {
			case states[0] == "loaded" && states[1] == "loaded":
				if !created {
					t.Errorf("the pair exists but the report does not say so: exit %d, stdout %q, stderr %q", code, stdout, stderr)
				}
			case states[0] == "not-found" && states[1] == "not-found":
				if created || code == 0 {
					t.Errorf("no pair, but exit %d, stdout %q", code, stdout)
				}
			default:
				t.Errorf("half a pair: timer %s, service %s (exit %d, stderr %q)", states[0], states[1], code, stderr)
			}
			// A probe that ran is unloaded by the manager's garbage
			// collection, a moment after borgrun let go of it.
			for _, line := range strings.Split(strings.TrimSpace(systemctl(t, "list-units", "--all", "--plain", "--no-legend", "borgrun-"+name+":probe-*")), "\n") {
				if f := strings.Fields(line); len(f) > 0 {
					waitGone(t, c, f[0])
				}
			}
		})

		t.Run("now/"+strconv.Itoa(i), func(t *testing.T) {
			name := "int-n" + strconv.Itoa(i)
			_, stderr, code := interrupted(t, sig, delay(), append(append([]string{"now", "--name", name}, fast...), "--", "/bin/sleep", "30")...)
			count("now", code)
			if code != 128+int(sig) {
				t.Fatalf("exit %d, want %d (the run takes 30 s); stderr %q", code, 128+int(sig), stderr)
			}
			waitGone(t, c, "borgrun-"+name+"-now.service")
		})

		t.Run("now-H/"+strconv.Itoa(i), func(t *testing.T) {
			name := "int-h" + strconv.Itoa(i)
			// Its ssh connection alone takes about half a second: the
			// signal comes in its first 1.5 s, to reach every phase.
			d := time.Duration(rand.Int64N(int64(1500 * time.Millisecond)))
			_, stderr, code := interruptedSSH(t, inNet, sig, d, append(append([]string{"now", "-H", host, "--name", name}, fast...), "--", "/bin/sleep", "30")...)
			count("now -H", code)
			if strings.Contains(stderr, "Running as unit") {
				count("now -H, interrupted once the run had started", code)
			}
			// Before the connection is up nothing was sent: 128+N as
			// well.
			if code != 128+int(sig) {
				t.Fatalf("exit %d, want %d (the run takes 30 s); stderr %q", code, 128+int(sig), stderr)
			}
			waitGone(t, c, "borgrun-"+name+"-now.service")
		})

		t.Run("run/"+strconv.Itoa(i), func(t *testing.T) {
			unit := "int-r" + strconv.Itoa(i) + ".service"
			_, stderr, code := interrupted(t, sig, delay(), "run", "--wait", "--quiet", "--unit", unit, "/bin/sleep", "30")
			count("run", code)
			if code != 128+int(sig) {
				t.Fatalf("exit %d, want %d (the run takes 30 s); stderr %q", code, 128+int(sig), stderr)
			}
			waitGone(t, c, unit)
		})

		t.Run("remove/"+strconv.Itoa(i), func(t *testing.T) {
			name := "int-m" + strconv.Itoa(i)
			j := &backup.Job{Name: name, Command: []string{"/bin/true"}, Calendars: []string{"daily"}}
			if _, err := backup.Schedule(t.Context(), c, j, false); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = backup.Remove(context.Background(), c, name, true) })
			stdout, stderr, code := interrupted(t, sig, delay(), "remove", name)
			count("remove", code)
			checkCode(t, sig, code, stderr)
			states := loadStates(t, j.TimerUnit(), j.ServiceUnit())
			removed := strings.Contains(stdout, "removed "+name)
			switch {
			case states[0] == "not-found" && states[1] == "not-found":
				if !removed && !strings.Contains(stderr, "borgrun-"+name) {
					t.Errorf("the pair is gone but the report does not say so: exit %d, stdout %q, stderr %q", code, stdout, stderr)
				}
			case states[0] == "loaded" && states[1] == "loaded":
				if removed || code == 0 {
					t.Errorf("the pair is still there, but exit %d, stdout %q", code, stdout)
				}
			default:
				t.Errorf("half a pair: timer %s, service %s (exit %d, stderr %q)", states[0], states[1], code, stderr)
			}
		})
	}
	t.Logf("exit statuses per command (status: count): %v", exits)
}

// TestStartFailedInterrupted: run's start fails with the context's error
// when the signal comes just before the start is sent (TestInterruptAtAnyMoment
// met that moment once in a clean-clone run, and run exited 1 with
// "borgrun: context canceled"). Interrupted, it exits 128+N and says that
// the manager was not changed.
func TestStartFailedInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(signalCause{syscall.SIGTERM})
	var errb bytes.Buffer
	e := &env{ctx: ctx, stderr: &errb}
	code, failed := e.startFailed(ctx.Err(), "service", false, props.V252, false)
	if !failed || code != 128+int(syscall.SIGTERM) {
		t.Errorf("startFailed = %d, %v; want %d, true", code, failed, 128+int(syscall.SIGTERM))
	}
	if want := "borgrun: interrupted (terminated) before the manager was changed\n"; errb.String() != want {
		t.Errorf("stderr %q, want %q", errb.String(), want)
	}
}
