package transient_test

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/borgrun/borgrun/props"
	"github.com/borgrun/borgrun/transient"
	"github.com/borgrun/borgrun/transient/transienttest"
)

var sandbox transienttest.Shared

func TestMain(m *testing.M) { os.Exit(sandbox.Run(m)) }

// dial connects to the shared throwaway systemd's system bus.
func dial(t *testing.T) (*transient.Conn, *transienttest.Systemd) {
	t.Helper()
	sys := sandbox.Get(t)
	return dialVia(t, sys.BusStream), sys
}

// dialVia connects to the shared throwaway systemd through open (its
// BusStream or PrivateStream); the connection is closed when t ends.
func dialVia(t *testing.T, open func(context.Context) (io.ReadWriteCloser, error)) *transient.Conn {
	t.Helper()
	c, err := transient.Dial(t.Context(), transient.DialOptions{Stream: open})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// encode parses assignments with props, as systemd-run would send them.
func encode(t props.UnitType, assignments ...string) ([]transient.Property, error) {
	ps, err := props.ParseAll(t, assignments)
	if err != nil {
		return nil, err
	}
	out := make([]transient.Property, len(ps))
	for i, p := range ps {
		out[i] = transient.Property(p)
	}
	return out, nil
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
			unit := "run-" + tt.name + ".service"
			ps, err := encode(props.Service, "Type=exec", "ExecStart="+props.QuoteArgv(tt.argv))
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.Run(t.Context(), unit, ps)
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
			if err := c.WaitGone(t.Context(), unit); err != nil {
				t.Fatal(err)
			}
			if got := sys.Show(t, unit)["LoadState"]; got != "not-found" {
				t.Fatalf("after Run, LoadState of %s = %q, want not-found", unit, got)
			}
		})
	}
}

// TestRunInterruptedLeavesNothing cancels Run at random moments of its
// first 40 ms, many times: whenever the start call went out, the unit is
// stopped and waited for, so no unit is ever left behind, and the error
// says the run was interrupted.
func TestRunInterruptedLeavesNothing(t *testing.T) {
	c, sys := dial(t)
	ps, err := encode(props.Service, "Type=exec", "ExecStart=/bin/sleep 60")
	if err != nil {
		t.Fatal(err)
	}
	const runs = 40
	started := 0
	for i := range runs {
		unit := "interrupt-" + strconv.Itoa(i) + ".service"
		ctx, cancel := context.WithCancel(t.Context())
		// Half the runs are cancelled in their first 2 ms, around the
		// start call itself.
		limit := 40 * time.Millisecond
		if i%2 == 0 {
			limit = 2 * time.Millisecond
		}
		delay := time.Duration(rand.Int64N(int64(limit)))
		timer := time.AfterFunc(delay, cancel)
		res, err := c.Run(ctx, unit, ps)
		timer.Stop()
		cancel()
		if err == nil || !errors.Is(err, context.Canceled) && !strings.Contains(err.Error(), "context canceled") {
			t.Fatalf("run %d (cancelled after %v): Run = %+v, %v; want context.Canceled", i, delay, res, err)
		}
		if res != nil {
			started++
		}
		wctx, wcancel := context.WithTimeout(t.Context(), 30*time.Second)
		err = c.WaitGone(wctx, unit)
		wcancel()
		if err != nil {
			t.Fatalf("run %d (cancelled after %v): %s still loaded: %v", i, delay, unit, err)
		}
	}
	if out, err := sys.Output(t.Context(), "systemctl", "list-units", "--all", "--plain", "--no-legend", "interrupt-*"); err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("units left behind: %q, %v", out, err)
	}
	t.Logf("%d of %d runs were started before the cancel", started, runs)
}
