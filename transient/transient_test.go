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
			res, err := c.Run(t.Context(), b.NowUnit(), b.Service("exec"))
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
	if err := c.StartTimer(t.Context(), b.TimerUnit(), b.Timer(), b.ServiceUnit(), b.Service("oneshot")); err != nil {
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
	err = c.StartTimer(t.Context(), b.TimerUnit(), b.Timer(), b.ServiceUnit(), b.Service("oneshot"))
	if !errors.Is(err, transient.ErrUnitExists) {
		t.Fatalf("second StartTimer error = %v, want ErrUnitExists", err)
	}
}
