package transient_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/borgrun/borgrun/transient"
	"github.com/borgrun/borgrun/transient/transienttest"
)

var sandbox transienttest.Shared

func TestMain(m *testing.M) { os.Exit(sandbox.Run(m)) }

// dial connects to the shared throwaway systemd's system bus.
func dial(t *testing.T) (*transient.Conn, *transienttest.Systemd) {
	t.Helper()
	sys := sandbox.Get(t)
	c, err := transient.Dial(t.Context(), transient.DialOptions{Stream: sys.BusStream})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, sys
}

// show returns `systemctl show` of unit inside the sandbox as a map.
func show(t *testing.T, sys *transienttest.Systemd, unit string) map[string]string {
	t.Helper()
	out, err := sys.Output(t.Context(), "systemctl", "show", unit)
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]string)
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m
}

func TestRunPropagatesExitStatus(t *testing.T) {
	c, sys := dial(t)
	tests := []struct {
		name       string
		argv       []string
		wantResult string
		wantStatus int
	}{
		{"success", []string{"/bin/true"}, "success", 0},
		{"exit7", []string{"/bin/sh", "-c", "exit 7"}, "exit-code", 7},
		{"killed", []string{"/bin/sh", "-c", "kill -9 $$$$"}, "signal", 255},
		{"sigterm-is-clean", []string{"/bin/sh", "-c", "kill -15 $$$$"}, "success", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := transient.Backup{Name: "run-" + tt.name, Command: tt.argv}
			props, err := b.Service("exec")
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.Run(t.Context(), b.NowUnit(), props)
			if res == nil {
				t.Fatalf("Run: no result: %v", err)
			}
			if res.Result != tt.wantResult || res.ExitStatus() != tt.wantStatus {
				t.Fatalf("Run = result %q status %d, want %q %d", res.Result, res.ExitStatus(), tt.wantResult, tt.wantStatus)
			}
			var exitErr *transient.ExitError
			if (tt.wantResult == "success") != (err == nil) || (err != nil && !errors.As(err, &exitErr)) {
				t.Fatalf("Run error = %v, want nil iff success, else *ExitError", err)
			}
			if !res.Ran {
				t.Fatal("Ran = false for a unit that ran")
			}
			// Nothing is left behind.
			if err := c.WaitGone(t.Context(), b.NowUnit()); err != nil {
				t.Fatal(err)
			}
			if got := show(t, sys, b.NowUnit())["LoadState"]; got != "not-found" {
				t.Fatalf("after Run, LoadState of %s = %q, want not-found", b.NowUnit(), got)
			}
		})
	}
}

func TestStartTimerCreatesPair(t *testing.T) {
	c, sys := dial(t)
	b := transient.Backup{
		Name:            "pair",
		Command:         []string{"/bin/true"},
		Calendars:       []string{"daily"},
		Persistent:      true,
		RandomizedDelay: 10 * time.Minute,
		ACPowerOnly:     true,
		Inhibitor:       "/usr/bin/systemd-inhibit",
	}
	timerProps, err := b.Timer()
	if err != nil {
		t.Fatal(err)
	}
	serviceProps, err := b.Service("oneshot")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.StartTimer(t.Context(), b.TimerUnit(), timerProps, b.ServiceUnit(), serviceProps); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(context.Background(), b.TimerUnit(), b.ServiceUnit()); err != nil {
			t.Error(err)
		}
	})
	timer := show(t, sys, b.TimerUnit())
	for k, want := range map[string]string{
		"ActiveState":         "active",
		"TimersCalendar":      "{ OnCalendar=*-*-* 00:00:00 ; next_elapse=",
		"Persistent":          "yes",
		"RandomizedDelayUSec": "10min",
		"FixedRandomDelay":    "yes",
		"Triggers":            b.ServiceUnit(),
		"FragmentPath":        "/run/systemd/transient/" + b.TimerUnit(),
	} {
		if got := timer[k]; !strings.HasPrefix(got, want) {
			t.Errorf("timer %s = %q, want prefix %q", k, got, want)
		}
	}
	svc := show(t, sys, b.ServiceUnit())
	for k, want := range map[string]string{
		"LoadState":        "loaded",
		"ActiveState":      "inactive",
		"Type":             "oneshot",
		"ConditionResult":  "no", // not evaluated yet
		"SyslogIdentifier": "true",
		"ExecStart":        "{ path=/usr/bin/systemd-inhibit ; argv[]=/usr/bin/systemd-inhibit --what=sleep:shutdown --mode=block --who=borgrun --why=borgrun backup pair is running /bin/true ;",
		"FragmentPath":     "/run/systemd/transient/" + b.ServiceUnit(),
	} {
		if got := svc[k]; !strings.HasPrefix(got, want) {
			t.Errorf("service %s = %q, want prefix %q", k, got, want)
		}
	}
	st, err := c.Timer(t.Context(), b.TimerUnit())
	if err != nil {
		t.Fatal(err)
	}
	if st.Next.IsZero() || time.Until(st.Next) > 24*time.Hour+10*time.Minute {
		t.Errorf("next elapse %v is not within the next day", st.Next)
	}
	// A second identical start is refused by name: UnitExists.
	err = c.StartTimer(t.Context(), b.TimerUnit(), timerProps, b.ServiceUnit(), serviceProps)
	if !errors.Is(err, transient.ErrUnitExists) {
		t.Fatalf("second StartTimer error = %v, want ErrUnitExists", err)
	}
}

func TestScheduleIsIdempotent(t *testing.T) {
	c, sys := dial(t)
	b := &transient.Backup{Name: "idem", Command: []string{"/bin/true"}, Calendars: []string{"daily"}, Persistent: true}
	t.Cleanup(func() {
		if err := c.Remove(context.Background(), b.Name, true); err != nil {
			t.Error(err)
		}
	})

	// Concurrent identical schedules end with exactly one pair: one
	// Created, the rest Unchanged.
	const n = 20
	outcomes := make(chan transient.Outcome, n)
	errs := make(chan error, n)
	for range n {
		go func() {
			o, err := c.Schedule(t.Context(), b, false)
			outcomes <- o
			errs <- err
		}()
	}
	count := map[transient.Outcome]int{}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		count[<-outcomes]++
	}
	if count[transient.Created] != 1 || count[transient.Unchanged] != n-1 {
		t.Fatalf("outcomes %v, want 1 created and %d unchanged", count, n-1)
	}
	if got := show(t, sys, b.ServiceUnit())["Environment"]; !strings.Contains(got, transient.FingerprintVar+"="+b.Fingerprint()) {
		t.Errorf("service Environment = %q, want the fingerprint", got)
	}

	// A different definition under the same name is refused...
	other := *b
	other.Calendars = []string{"weekly"}
	if _, err := c.Schedule(t.Context(), &other, false); !errors.Is(err, transient.ErrScheduleDiffers) {
		t.Fatalf("different schedule: err = %v, want ErrScheduleDiffers", err)
	}
	if got := show(t, sys, b.TimerUnit())["TimersCalendar"]; !strings.Contains(got, "*-*-* 00:00:00") {
		t.Fatalf("refused replacement changed the timer: %q", got)
	}
	// ...unless replace is asked for.
	if o, err := c.Schedule(t.Context(), &other, true); err != nil || o != transient.Replaced {
		t.Fatalf("replace: %v, %v; want replaced", o, err)
	}
	if got := show(t, sys, b.TimerUnit())["TimersCalendar"]; !strings.Contains(got, "Mon *-*-* 00:00:00") {
		t.Fatalf("after replace, TimersCalendar = %q, want weekly", got)
	}
	if o, err := c.Schedule(t.Context(), &other, true); err != nil || o != transient.Unchanged {
		t.Fatalf("same schedule with replace: %v, %v; want unchanged", o, err)
	}
	// A stopped timer (its service left behind) is re-armed, not
	// "unchanged".
	if _, err := sys.Output(t.Context(), "systemctl", "stop", b.TimerUnit()); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitGone(t.Context(), b.TimerUnit()); err != nil {
		t.Fatal(err)
	}
	if o, err := c.Schedule(t.Context(), &other, false); err != nil || o != transient.Created {
		t.Fatalf("after the timer was stopped: %v, %v; want created", o, err)
	}
	if got := show(t, sys, b.TimerUnit())["ActiveState"]; got != "active" {
		t.Fatalf("re-armed timer ActiveState = %q", got)
	}
}

func TestScheduleNeverKillsARun(t *testing.T) {
	c, sys := dial(t)
	b := &transient.Backup{Name: "busy", Command: []string{"/bin/sleep", "300"}, Calendars: []string{"daily"}}
	t.Cleanup(func() { _ = c.Stop(context.Background(), b.TimerUnit(), b.ServiceUnit()) })
	if _, err := c.Schedule(t.Context(), b, false); err != nil {
		t.Fatal(err)
	}
	// Start the scheduled run by hand; it is a oneshot, so the start job
	// stays pending while it runs (--no-block).
	if _, err := sys.Output(t.Context(), "systemctl", "start", "--no-block", b.ServiceUnit()); err != nil {
		t.Fatal(err)
	}
	if err := waitActiveState(t, c, b.ServiceUnit(), "activating"); err != nil {
		t.Fatal(err)
	}
	other := *b
	other.Calendars = []string{"weekly"}
	if _, err := c.Schedule(t.Context(), &other, true); !errors.Is(err, transient.ErrRunInProgress) {
		t.Fatalf("replace during a run: err = %v, want ErrRunInProgress", err)
	}
	if got := show(t, sys, b.ServiceUnit())["ActiveState"]; got != "activating" {
		t.Fatalf("the run was disturbed: ActiveState = %q", got)
	}
}

func TestScheduleRefusesForeignUnit(t *testing.T) {
	c, sys := dial(t)
	// A unit that borgrun did not create, under a job's name.
	if _, err := sys.Output(t.Context(), "systemd-run", "--unit=borgrun-foreign", "--on-calendar=daily", "/bin/true"); err != nil {
		t.Fatal(err)
	}
	b := &transient.Backup{Name: "foreign", Command: []string{"/bin/true"}, Calendars: []string{"daily"}}
	t.Cleanup(func() { _ = c.Stop(context.Background(), b.TimerUnit(), b.ServiceUnit()) })
	if _, err := c.Schedule(t.Context(), b, true); !errors.Is(err, transient.ErrNotOurs) {
		t.Fatalf("err = %v, want ErrNotOurs", err)
	}
}

// waitActiveState waits, driven by the manager's signals, until unit is in
// state.
func waitActiveState(t *testing.T, c *transient.Conn, unit, state string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	return c.WaitActiveState(ctx, unit, state)
}
