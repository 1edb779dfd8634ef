package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/borgrun/borgrun/transient"
	"github.com/borgrun/borgrun/transient/backup"
	"github.com/borgrun/borgrun/transient/transienttest"
)

// The number of round trips an operation costs is a property of borgrun,
// measured here: borgrun runs in this process, its connection to the
// sandbox's manager passes through a transienttest.Link that counts the
// method calls crossing it and the round trips they cost (a call sent while
// no answer is awaited starts one), with answers held back 25 ms so that
// the count does not depend on the machine's speed. Each operation must
// cost as many round trips with 100 jobs as with 1.

// rtOps are the measured operations, in order; remove --all last. want is
// the exact number of round trips each costs, with 1 job and with 100,
// including the connection's two: Hello (refused by a private socket,
// which has no bus) and go-systemd's AddMatch for JobRemoved, which it
// waits for. A change in either direction fails the test: fewer is a
// reason to lower want (and the README's figures), more a regression.
// Each remaining round trip needs the answer of the one before:
//
//   - list, check: the units matching borgrun-*.timer and .service with
//     their states (one ListUnitsByPatterns), then the properties of
//     those found, all at once (they need the names).
//   - schedule, a new pair: the version, the lookup of the job's units
//     (ListUnitsByNames) and logind (with an inhibitor) together; the
//     probe's start (it needs the version, and is skipped if the lookup
//     finds the pair unchanged; its outcome comes in its signals); the
//     pair's start (only if the probe succeeded); the timer's next run,
//     which exists only once its start job has run.
//   - schedule, unchanged: the same first round trip, then the loaded
//     units' fingerprint, transience and the timer's status together (they
//     need to know what is loaded: reading a unit that is not would load
//     it).
//   - now: the version, whether the scheduled run is going (GetUnit) and
//     logind together; the start; after its end (signals), its figures
//     and the release of its pin (Unref) together.
//   - remove: the lookup (ListUnitsByNames; for --all, the job names
//     first), the properties that say the units are ours, the stops (all
//     at once; their jobs end as signals), then the resets of their
//     failed state (after the stop jobs: a stop can fail the unit) with
//     the look at which are still loaded after them, whose unloading is
//     waited for by signal.
var rtOps = []struct {
	name string
	args []string
	want int
}{
	{"list", []string{"list"}, 4},
	{"list --json", []string{"list", "--json"}, 4},
	{"check", []string{"check"}, 4},
	{"schedule (new pair)", []string{"schedule", "--daily", "--inhibit=no", "--hardening=off", "--name=rtsched", "--", "/bin/true"}, 6},
	{"schedule (unchanged)", []string{"schedule", "--daily", "--inhibit=no", "--hardening=off", "--name=rtsched", "--", "/bin/true"}, 4},
	{"now", []string{"now", "--quiet", "--inhibit=no", "--hardening=off", "--name=rtnow", "--", "/bin/true"}, 5},
	{"remove NAME", []string{"remove", "rtsched"}, 6},
	{"remove --all", []string{"remove", "--all"}, 7},
}

// scheduleJobs schedules n jobs named prefix0… over one connection.
func scheduleJobs(t testing.TB, c *transient.Conn, prefix string, n int) {
	t.Helper()
	for i := range n {
		b := &backup.Job{Name: prefix + strconv.Itoa(i), Command: []string{"/bin/true"}, Calendars: []string{"daily"}}
		if _, err := backup.Schedule(t.Context(), c, b, false); err != nil {
			t.Fatal(err)
		}
	}
}

// countRoundTrips runs each of rtOps in-process through a counting link
// with n jobs scheduled, and returns the counts by operation.
func countRoundTrips(t *testing.T, n int) map[string]transienttest.LinkCounts {
	sys := sandbox.Get(t)
	c := dialSandbox(t)
	if _, err := backup.Names(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	for _, n := range mustNames(t, c) {
		t.Fatalf("a job %q is left from another test", n)
	}
	scheduleJobs(t, c, "rt"+strconv.Itoa(n)+"-", n)
	// Answers held back 25 ms: a batch of 500 calls must be written
	// before the first answer is back, or it counts as two round trips;
	// on a loaded machine writing them stalled past 10 ms.
	link := &transienttest.Link{Delay: 25 * time.Millisecond}
	counts := map[string]transienttest.LinkCounts{}
	for _, op := range rtOps {
		var stdout, stderr bytes.Buffer
		open := sys.PrivateStream // as -H reaches a host as root
		if op.args[0] == "now" {
			open = sys.BusStream // as now -H: a bus, to pin the unit
		}
		e := &env{ctx: t.Context(), stdout: &stdout, stderr: &stderr, now: time.Now, lookPath: exec.LookPath,
			dial: transient.DialOptions{Stream: link.Wrap(open)}}
		link.Reset()
		code := e.main(op.args)
		if code != 0 && !(op.name == "check" && code == 1) {
			t.Fatalf("%s: exit %d: %s%s", op.name, code, stdout.String(), stderr.String())
		}
		counts[op.name] = link.Counts()
	}
	if left := mustNames(t, c); len(left) > 0 {
		t.Fatalf("remove --all left %q", left)
	}
	return counts
}

func mustNames(t *testing.T, c *transient.Conn) []string {
	t.Helper()
	names, err := backup.Names(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestRoundTripsConstant(t *testing.T) {
	one := countRoundTrips(t, 1)
	hundred := countRoundTrips(t, 100)
	var report strings.Builder
	fmt.Fprintln(&report, "| operation | round trips, 1 job | 100 jobs | calls, 1 job | 100 jobs | bytes in, 1 job | 100 jobs |")
	fmt.Fprintln(&report, "|---|---|---|---|---|---|---|")
	for _, op := range rtOps {
		a, b := one[op.name], hundred[op.name]
		fmt.Fprintf(&report, "| `%s` | %d | %d | %d | %d | %d | %d |\n", op.name, a.RoundTrips, b.RoundTrips, a.Calls, b.Calls, a.BytesIn, b.BytesIn)
		if b.RoundTrips > a.RoundTrips {
			t.Errorf("%s: %d round trips with 1 job, %d with 100", op.name, a.RoundTrips, b.RoundTrips)
		}
		for _, got := range []transienttest.LinkCounts{a, b} {
			if got.RoundTrips != op.want {
				t.Errorf("%s: %d round trips, want exactly %d", op.name, got.RoundTrips, op.want)
			}
		}
	}
	t.Logf("round trips (including the connection's Hello):\n%s", report.String())
}

// TestListReadCost compares, in round trips and bytes, reading the
// properties list needs by name (Get) with reading whole interfaces
// (GetAll), for 100 jobs: the reason List asks by name.
func TestListReadCost(t *testing.T) {
	sys := sandbox.Get(t)
	c := dialSandbox(t)
	scheduleJobs(t, c, "cost", 100)
	t.Cleanup(func() {
		ctx := context.Background()
		if names, err := backup.Names(ctx, c); err == nil {
			backup.RemoveJobs(ctx, c, names, true)
		}
	})
	var timers, services []string
	for _, n := range mustNames(t, c) {
		timers = append(timers, backup.UnitPrefix+n+".timer")
		services = append(services, backup.UnitPrefix+n+".service")
	}
	// Answers held back 10 ms (TestRoundTripsConstant holds them 25): without a
	// distance, a fast manager answers the first calls while the last
	// are still being written, and that counts as another turn-around.
	link := &transienttest.Link{Delay: 10 * time.Millisecond}
	lc, err := transient.Dial(t.Context(), transient.DialOptions{Stream: link.Wrap(sys.PrivateStream)})
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	for _, tc := range []struct {
		what  string
		units []string
		iface string
		names []string
	}{
		{"timer, 4 by name", timers, transient.TimerInterface, []string{"TimersCalendar", "NextElapseUSecRealtime", "LastTriggerUSec", "RandomizedDelayUSec"}},
		{"timer, GetAll", timers, transient.TimerInterface, nil},
		{"service, 4 by name", services, transient.ServiceInterface, []string{"Result", "ExecMainStatus", "ExecMainStartTimestamp", "ExecMainExitTimestamp"}},
		{"service, GetAll", services, transient.ServiceInterface, nil},
	} {
		link.Reset()
		if _, err := lc.PropertiesOf(t.Context(), tc.units, tc.iface, tc.names...); err != nil {
			t.Fatal(err)
		}
		n := link.Counts()
		t.Logf("%-20s %d units: %d calls, %d round trips, %d bytes out, %d bytes in", tc.what, len(tc.units), n.Calls, n.RoundTrips, n.BytesOut, n.BytesIn)
		if n.RoundTrips != 1 {
			t.Errorf("%s: %d round trips, want 1", tc.what, n.RoundTrips)
		}
	}
}
