package transient_test

import (
	"context"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/borgrun/borgrun/props"
	"github.com/borgrun/borgrun/transient"
	"github.com/borgrun/borgrun/transient/transienttest"
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

// TestStopAllManyRepeated: the batched waits are driven by signals alone,
// so a lost signal stalls them: here every wait is bounded and one that
// does not end fails the test, naming the units still loaded. (It found
// StopAll forgetting a JobRemoved that came while it read the answers.)
// Many units are stopped together, round after round (StopAll then
// WaitAllGone, or UnloadAll, in turn), over a bus and over
// the private socket, running services and idle timer pairs mixed, while
// another connection starts and stops unrelated units so that the
// manager's signals keep coming (on the private socket, every one of them
// reaches the waiter's buffer). With a buffer of 4 signals, the waits
// drop signals (always on the private socket), and must still end, by
// asking again.
func TestStopAllManyRepeated(t *testing.T) {
	sys := sandbox.Get(t)
	const units, rounds = 120, 4
	for _, route := range routes(sys, 4) {
		t.Run(route.name, func(t *testing.T) {
			c := dialVia(t, route.open)
			if route.buffer > 0 {
				transient.SetWaitBuffer(c, route.buffer)
				defer func() {
					if transient.Drops(c) == 0 && route.mustDrop {
						t.Errorf("a buffer of %d signals dropped none: the path that asks again was not tried", route.buffer)
					}
				}()
			}
			noise := dialVia(t, sys.BusStream)
			sleep, err := encode(props.Service, "ExecStart=/bin/sleep 300")
			if err != nil {
				t.Fatal(err)
			}
			oneshot, err := encode(props.Service, "Type=oneshot", "ExecStart=/bin/true")
			if err != nil {
				t.Fatal(err)
			}
			timer, err := encode(props.Timer, "OnCalendar=daily")
			if err != nil {
				t.Fatal(err)
			}
			for r := range rounds {
				prefix := "many-" + route.name + "-" + strconv.Itoa(r) + "-"
				var names []string
				for i := range units {
					n := prefix + strconv.Itoa(i)
					var err error
					if i%2 == 0 {
						err = c.StartTransient(t.Context(), n+".service", sleep, nil, false)
						names = append(names, n+".service")
					} else {
						err = c.StartTimer(t.Context(), n+".timer", timer, n+".service", oneshot)
						names = append(names, n+".timer", n+".service")
					}
					if err != nil {
						t.Fatal(err)
					}
				}
				// Unrelated units come and go meanwhile.
				stopNoise := make(chan struct{})
				noiseDone := make(chan struct{})
				go func() {
					defer close(noiseDone)
					for i := 0; ; i++ {
						select {
						case <-stopNoise:
							return
						default:
						}
						n := prefix + "noise-" + strconv.Itoa(i) + ".service"
						if noise.StartTransient(t.Context(), n, oneshot, nil, true) != nil {
							return
						}
					}
				}()
				ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
				var err error
				if r%2 == 0 {
					err = c.StopAll(ctx, names...)
					if err == nil {
						err = c.WaitAllGone(ctx, names...)
					}
				} else {
					err = c.UnloadAll(ctx, names...)
				}
				cancel()
				close(stopNoise)
				<-noiseDone
				if err != nil {
					loaded := stillLoaded(t, sys, c, names)
					t.Fatalf("round %d: %v; still loaded: %q (%d signals dropped)", r, err, loaded, transient.Drops(c))
				}
			}
			t.Logf("%d signals dropped for full waiters", transient.Drops(c))
		})
	}
}

// route is a way to the manager for the batched waits' tests.
type route struct {
	name string
	open func(context.Context) (io.ReadWriteCloser, error)
	// buffer, if not 0, is the signals the waits buffer (the default
	// otherwise).
	buffer int
	// mustDrop: that buffer always overflows (the private socket gets
	// every signal; on a bus, only a waiter that falls behind drops).
	mustDrop bool
}

// routes are the bus and the private socket as they are, then both with a
// buffer of small signals, so that the waits drop signals.
func routes(sys *transienttest.Systemd, small int) []route {
	return []route{
		{"bus", sys.BusStream, 0, false},
		{"private", sys.PrivateStream, 0, false},
		{"bus-dropping", sys.BusStream, small, false},
		{"private-dropping", sys.PrivateStream, small, true},
	}
}

// stillLoaded describes each of names that is still loaded: its states
// and, if it failed, how.
func stillLoaded(t *testing.T, sys *transienttest.Systemd, c *transient.Conn, names []string) []string {
	t.Helper()
	var loaded []string
	for _, st := range mustUnits(t, c, names) {
		if st.LoadState == "not-found" {
			continue
		}
		d := st.Name + " " + st.LoadState + "/" + st.ActiveState
		if st.ActiveState == "failed" {
			p := sys.Show(t, st.Name)
			journal, _ := sys.Output(t.Context(), "journalctl", "--no-pager", "-q", "-n", "5", "-u", st.Name)
			d += " (" + p["Result"] + ", " + p["ExecMainCode"] + "/" + p["ExecMainStatus"] + "; " + journal + ")"
		}
		loaded = append(loaded, d)
	}
	return loaded
}

func mustUnits(t *testing.T, c *transient.Conn, names []string) []transient.UnitStatus {
	t.Helper()
	sts, err := c.Units(context.Background(), names...)
	if err != nil {
		t.Fatal(err)
	}
	return sts
}

// TestWaitAllGoneBurst: many services that end by themselves at about the
// same moment unload in a burst of UnitRemoved signals, which WaitAllGone
// must all see (or, when its buffer drops some, look again for); bounded.
func TestWaitAllGoneBurst(t *testing.T) {
	sys := sandbox.Get(t)
	const units, rounds = 120, 2
	var drops int64
	defer func() {
		// A quick reader can keep up with a burst even one signal
		// at a time, but not through all the rounds of both routes.
		if !t.Failed() && drops == 0 {
			// Inconclusive, not wrong: the path that looks again
			// was not tried this time (TestStopAllManyRepeated's
			// buffer of 4 tries it too).
			t.Log("a buffer of one signal dropped none: the path that looks again was not tried")
		}
	}()
	for _, route := range routes(sys, 1) {
		t.Run(route.name, func(t *testing.T) {
			c := dialVia(t, route.open)
			if route.buffer > 0 {
				transient.SetWaitBuffer(c, route.buffer)
			}
			// The command's second is the workload, not a
			// synchronisation: WaitAllGone is right whether it looks
			// before or after they end. A unit that failed would
			// stay loaded (in one of about 40 runs, under load, one
			// unit of each private-socket route failed, for a reason
			// not recorded): this test is about the burst of
			// unloads, so failed ones unload too.
			sleep, err := encode(props.Service, "ExecStart=/bin/sleep 1", "CollectMode=inactive-or-failed")
			if err != nil {
				t.Fatal(err)
			}
			for r := range rounds {
				var names []string
				for i := range units {
					n := "burst-" + route.name + "-" + strconv.Itoa(r) + "-" + strconv.Itoa(i) + ".service"
					if err := c.StartTransient(t.Context(), n, sleep, nil, false); err != nil {
						t.Fatal(err)
					}
					names = append(names, n)
				}
				ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
				err := c.WaitAllGone(ctx, names...)
				cancel()
				if err != nil {
					loaded := stillLoaded(t, sys, c, names)
					t.Fatalf("round %d: %v; still loaded: %q (%d signals dropped)", r, err, loaded, transient.Drops(c))
				}
			}
			drops += transient.Drops(c)
			t.Logf("%d signals dropped for full waiters", transient.Drops(c))
		})
	}
}

// TestWaitAllGoneAcrossReload: a daemon-reload frees every unit and loads
// it again, sending UnitRemoved for each; WaitAllGone must not take those
// for the units' end. It waits on running services through two reloads,
// and must still be waiting, then end once they are stopped.
func TestWaitAllGoneAcrossReload(t *testing.T) {
	sys := sandbox.Get(t)
	for _, route := range routes(sys, 0)[:2] {
		t.Run(route.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			c := dialVia(t, route.open)
			other := dialVia(t, sys.BusStream)
			sleep, err := encode(props.Service, "ExecStart=/bin/sleep 300")
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for i := range 20 {
				n := "reload-" + route.name + "-" + strconv.Itoa(i) + ".service"
				if err := c.StartTransient(ctx, n, sleep, nil, false); err != nil {
					t.Fatal(err)
				}
				names = append(names, n)
			}
			type result struct {
				err    error
				loaded []string // when it returned
			}
			looked := make(chan struct{})
			done := make(chan result, 1)
			go func() {
				err := transient.WaitAllGoneLooked(ctx, c, func() { close(looked) }, names...)
				var loaded []string
				if sts, uerr := other.Units(context.Background(), names...); uerr == nil {
					for _, st := range sts {
						if st.LoadState == "loaded" {
							loaded = append(loaded, st.Name)
						}
					}
				}
				done <- result{err, loaded}
			}()
			select {
			case <-looked:
			case r := <-done:
				t.Fatalf("WaitAllGone ended before waiting: %v", r.err)
			}
			for range 2 {
				if out, err := sys.Output(ctx, "systemctl", "daemon-reload"); err != nil {
					t.Fatalf("daemon-reload: %v: %s", err, out)
				}
			}
			// The reloads' signals reached c before this answer.
			if _, err := c.PropertiesOf(ctx, []string{"-.slice"}, transient.UnitInterface, "Id"); err != nil {
				t.Fatal(err)
			}
			select {
			case r := <-done:
				t.Fatalf("WaitAllGone ended (%v) while %d of %d units were loaded", r.err, len(r.loaded), len(names))
			default:
			}
			if err := other.StopAll(ctx, names...); err != nil {
				t.Fatal(err)
			}
			r := <-done
			if r.err != nil || len(r.loaded) > 0 {
				t.Fatalf("WaitAllGone = %v, with %q still loaded", r.err, r.loaded)
			}
		})
	}
}
