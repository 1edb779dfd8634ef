package transient_test

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// TestStopAllRunning: StopAll stops running services and units that are
// idle together, resets the failed state of those a SIGTERM failed, and
// WaitAllGone sees all unloaded.
func TestStopAllRunning(t *testing.T) {
	c, sys := dial(t)
	var units []string
	for i := range 3 {
		u := "stopall-" + strconv.Itoa(i) + ".service"
		if _, err := sys.Output(t.Context(), "systemd-run", "--quiet", "--unit="+u, "-p", "Type=oneshot", "--no-block", "/bin/sleep", "300"); err != nil {
			t.Fatal(err)
		}
		units = append(units, u)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for _, u := range units {
		if err := c.WaitActiveState(ctx, u, "activating"); err != nil {
			t.Fatal(err)
		}
	}
	units = append(units, "stopall-none.service")
	if err := c.StopAll(ctx, units...); err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	if err := c.WaitAllGone(wctx, units...); err != nil {
		for _, u := range units {
			t.Log(u, sys.Show(t, u)["ActiveState"], sys.Show(t, u)["LoadState"])
		}
		t.Fatal(err)
	}
}
