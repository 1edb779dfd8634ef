package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/borgrun/borgrun/transient"
	"github.com/borgrun/borgrun/transient/backup"
)

// The benchmark report (make bench) measures borgrun against systemd-run
// inside the same throwaway systemd. Each comparison alternates one run of
// each tool per round, so that the machine's drift cancels, and reports the
// medians and their ratio. Both sides include one nsenter, and borgrun is
// the binary make build builds (not this test binary).

var (
	benchRounds = flag.Int("bench-rounds", 30, "rounds per comparison in TestBenchReport")
	benchOut    = flag.String("bench-out", "", "also write the report table to this file")
	benchOnly   = flag.String("bench-only", "", "measure only the sections whose names match this regexp (run-wait, now, pair, schedule, library, wait-cost, fleet); the report is not written")
)

// benchWants reports whether TestBenchReport measures the section name
// (see -bench-only).
func benchWants(t *testing.T, name string) bool {
	if *benchOnly == "" {
		return true
	}
	ok, err := regexp.MatchString(*benchOnly, name)
	if err != nil {
		t.Fatalf("-bench-only: %v", err)
	}
	return ok
}

// benchBin is a directory bound into the sandbox where TestBenchReport
// builds borgrun.
var benchBin string

// buildBorgrun builds the real borgrun binary into benchBin once.
var buildBorgrun = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(benchBin, "borgrun")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0") // as make build builds it
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building borgrun: %v: %s", err, out)
	}
	return bin, nil
})

type benchRow struct {
	figure                string
	borgrun, systemdRun   float64
	unit, goal            string
	lowerIsBetter, ratios bool
	met                   bool
	// limit, if not 0, is a goal for borgrun's own figure (in unit),
	// not for the ratio: met when borgrun ≤ limit.
	limit float64
}

func TestBenchReport(t *testing.T) {
	if os.Getenv("BORGRUN_BENCH") != "1" {
		t.Skip("set BORGRUN_BENCH=1 (make bench)")
	}
	sys := sandbox.Get(t)
	bin, err := buildBorgrun()
	if err != nil {
		t.Fatal(err)
	}
	timeCmd := func(args ...string) time.Duration {
		cmd := sys.Command(t.Context(), args[0], args[1:]...)
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", args, err, out)
		}
		return time.Since(start)
	}
	n := *benchRounds
	pair := func(ours, theirs func(i int) []string, after func(i int)) (float64, float64) {
		var a, s []time.Duration
		for i := range n {
			if i%2 == 0 {
				a = append(a, timeCmd(ours(i)...))
				s = append(s, timeCmd(theirs(i)...))
			} else {
				s = append(s, timeCmd(theirs(i)...))
				a = append(a, timeCmd(ours(i)...))
			}
			if after != nil {
				after(i)
			}
		}
		return ms(median(a)), ms(median(s))
	}
	var rows []benchRow

	// 1. Run /bin/true and wait. now is given the same work as
	// systemd-run: no backup defaults (priority, network ordering,
	// inhibitor, sandbox).
	if benchWants(t, "run-wait") {
		ours, theirs := pair(
			func(i int) []string {
				return []string{bin, "run", "--wait", "--quiet", "--collect", "--unit=bw" + strconv.Itoa(i), "/bin/true"}
			},
			func(i int) []string {
				return []string{"systemd-run", "--wait", "--quiet", "--collect", "--unit=sw" + strconv.Itoa(i), "/bin/true"}
			}, nil)
		rows = append(rows, benchRow{figure: "run --wait --quiet --collect /bin/true", borgrun: ours, systemdRun: theirs, unit: "ms", goal: "≤ 1.0", ratios: true, lowerIsBetter: true})
	}
	if benchWants(t, "now") {
		ours, theirs := pair(
			func(i int) []string {
				return []string{bin, "now", "--quiet", "--priority=normal", "--no-network-wait", "--inhibit=no", "--hardening=off", "--name=bn" + strconv.Itoa(i), "--", "/bin/true"}
			},
			func(i int) []string {
				return []string{"systemd-run", "--wait", "--quiet", "--collect", "--unit=sn" + strconv.Itoa(i), "/bin/true"}
			}, nil)
		rows = append(rows, benchRow{figure: "now --quiet /bin/true (no backup defaults) vs systemd-run --wait", borgrun: ours, systemdRun: theirs, unit: "ms", goal: "≤ 1.0", ratios: true, lowerIsBetter: true})
	}

	// 2. Create a timer+service pair.
	stop := func(units ...string) {
		_, _ = sys.Output(t.Context(), "systemctl", append([]string{"stop"}, units...)...)
	}
	if benchWants(t, "pair") {
		ours, theirs := pair(
			func(i int) []string {
				return []string{bin, "run", "--quiet", "--on-calendar=daily", "--unit=bt" + strconv.Itoa(i), "/bin/true"}
			},
			func(i int) []string {
				return []string{"systemd-run", "--quiet", "--on-calendar=daily", "--unit=st" + strconv.Itoa(i), "/bin/true"}
			},
			func(i int) {
				s := strconv.Itoa(i)
				stop("bt"+s+".timer", "bt"+s+".service", "st"+s+".timer", "st"+s+".service")
			})
		rows = append(rows, benchRow{figure: "run --on-calendar=daily /bin/true (create a pair)", borgrun: ours, systemdRun: theirs, unit: "ms", goal: "≤ 1.0", ratios: true, lowerIsBetter: true})
	}
	if benchWants(t, "schedule") {
		ours, theirs := pair(
			func(i int) []string {
				return []string{bin, "schedule", "--daily", "--inhibit=no", "--hardening=off", "--name=bs" + strconv.Itoa(i), "--", "/bin/true"}
			},
			func(i int) []string {
				return []string{"systemd-run", "--quiet", "--on-calendar=daily", "--unit=ss" + strconv.Itoa(i), "/bin/true"}
			},
			func(i int) {
				s := strconv.Itoa(i)
				stop("borgrun-bs"+s+".timer", "borgrun-bs"+s+".service", "ss"+s+".timer", "ss"+s+".service")
			})
		rows = append(rows, benchRow{figure: "schedule --daily (all defaults, reads the next run back) vs systemd-run --on-calendar", borgrun: ours, systemdRun: theirs, unit: "ms", goal: "—", ratios: true, lowerIsBetter: true})
	}

	// 3. Library throughput: create and remove pairs over one connection
	// vs a loop of systemd-run and systemctl stop invocations.
	if benchWants(t, "library") {
		const pairs = 200
		c, err := transient.Dial(t.Context(), transient.DialOptions{Stream: sys.BusStream})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		v, err := c.Version(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		for i := range pairs {
			b := &backup.Job{Name: "lib" + strconv.Itoa(i), Command: []string{"/bin/true"}, Calendars: []string{"daily"}}
			tp, err := b.Timer(v)
			if err != nil {
				t.Fatal(err)
			}
			sp, err := b.Service(v, "oneshot")
			if err != nil {
				t.Fatal(err)
			}
			if err := c.StartTimer(t.Context(), b.TimerUnit(), tp, b.ServiceUnit(), sp); err != nil {
				t.Fatal(err)
			}
			if err := c.Stop(t.Context(), b.TimerUnit(), b.ServiceUnit()); err != nil {
				t.Fatal(err)
			}
		}
		libRate := pairs / time.Since(start).Seconds()
		start = time.Now()
		for i := range pairs {
			s := strconv.Itoa(i)
			timeCmd("systemd-run", "--quiet", "--on-calendar=daily", "--unit=lt"+s, "/bin/true")
			timeCmd("systemctl", "stop", "lt"+s+".timer")
		}
		cliRate := pairs / time.Since(start).Seconds()
		rows = append(rows, benchRow{figure: fmt.Sprintf("create+remove %d pairs: library over one connection vs systemd-run + systemctl stop", pairs), borgrun: libRate, systemdRun: cliRate, unit: "pairs/s", goal: "≥ 3", ratios: true})
	}

	// 4. What borgrun itself costs while now waits on a 30 s command.
	if benchWants(t, "wait-cost") {
		cpu, rss := waitCost(t, sys.Command(context.WithoutCancel(t.Context()), bin, "now", "--quiet", "--name=waitcost", "--", "/bin/sleep", "30"))
		rows = append(rows,
			benchRow{figure: "CPU time used by borgrun while now waits on a 30 s command", borgrun: ms(cpu), unit: "ms", goal: "< 20", lowerIsBetter: true, met: ms(cpu) < 20},
			benchRow{figure: "peak RSS of borgrun now", borgrun: float64(rss) / 1024, unit: "MB", goal: "< 20", lowerIsBetter: true, met: float64(rss)/1024 < 20})
	}

	if benchWants(t, "fleet") {
		rows = append(rows, fleetBench(t, bin)...)
	}

	report := formatReport(rows, n)
	fmt.Print(report)
	if *benchOut != "" && *benchOnly == "" {
		if err := os.WriteFile(*benchOut, []byte(report), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// waitCost runs cmd (borgrun inside the sandbox through nsenter) to the end
// and returns the CPU time and peak RSS (KiB) of it and its waited-for
// descendants, as wait4 reports them: nsenter's own share is a few
// milliseconds at most, so this is an upper bound for borgrun's.
func waitCost(t *testing.T, cmd *exec.Cmd) (time.Duration, int64) {
	t.Helper()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v: %s", cmd.Args, err, out)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return cpu, ru.Maxrss
}

func formatReport(rows []benchRow, rounds int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "borgrun vs systemd-run and systemctl 252, in one throwaway systemd; medians of %d alternating rounds (%d for the fleet rows); %s\n\n", rounds, *benchFleetRounds, time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintln(&b, "| figure | borgrun | systemd-run | ratio | goal | met |")
	fmt.Fprintln(&b, "|---|---|---|---|---|---|")
	for _, r := range rows {
		sr, ratio, met := "—", "—", "yes"
		if r.ratios {
			sr = fmt.Sprintf("%.1f %s", r.systemdRun, r.unit)
			// The ratio as shown is what meets the goal or not.
			ratio = fmt.Sprintf("%.2f", r.borgrun/r.systemdRun)
			var q float64
			fmt.Sscanf(ratio, "%g", &q)
			var g float64
			if _, err := fmt.Sscanf(strings.TrimLeft(r.goal, "≤≥< "), "%g", &g); err == nil {
				r.met = (r.lowerIsBetter && q <= g) || (!r.lowerIsBetter && q >= g)
			} else {
				r.met = true
			}
		}
		if r.limit > 0 {
			r.met = r.borgrun <= r.limit
		}
		if !r.met {
			met = "no"
		}
		if r.goal == "—" {
			met = "—"
		}
		fmt.Fprintf(&b, "| %s | %.1f %s | %s | %s | %s | %s |\n", r.figure, r.borgrun, r.unit, sr, ratio, r.goal, met)
	}
	return b.String()
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func median(ds []time.Duration) time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}

var benchFleetRounds = flag.Int("bench-fleet-rounds", 5, "rounds per fleet comparison (list, remove, -H) in TestBenchReport")

// fleetBench measures list and remove of many jobs, here and over a link
// with a 50 ms round trip (ssh to the sandbox's own sshd through the slow
// wrapper, for borgrun and for systemctl -H alike), against systemctl,
// and the cost of list with 500 jobs.
func fleetBench(t *testing.T, bin string) []benchRow {
	sys := sandbox.Get(t)
	c := dialSandbox(t)
	l := newLoopbackSSH(t, sshPortBench, 25*time.Millisecond)
	slow := []string{"BORGRUN_SSH=" + l.slowSSH, "SYSTEMD_SSH=" + l.slowSSH, "PATH=" + l.slowPath}
	run := func(env []string, args ...string) time.Duration {
		t.Helper()
		cmd := sys.Command(t.Context(), args[0], args[1:]...)
		cmd.Env = append(cmd.Env, env...)
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", args, err, out)
		}
		return time.Since(start)
	}
	clear := func() {
		// borgrun itself, over the private socket.
		run(nil, bin, "remove", "--all", "--force")
	}
	clear()
	rounds := *benchFleetRounds
	// pair alternates ours and theirs, with setup before each.
	pair := func(setup func(), ours, theirs func() time.Duration) (float64, float64) {
		var a, b []time.Duration
		for i := range rounds {
			for k := range 2 {
				if setup != nil {
					setup()
				}
				if (i+k)%2 == 0 {
					a = append(a, ours())
				} else {
					b = append(b, theirs())
				}
			}
		}
		return ms(median(a)), ms(median(b))
	}
	var rows []benchRow
	row := func(figure string, ours, theirs float64, goal string) {
		rows = append(rows, benchRow{figure: figure, borgrun: ours, systemdRun: theirs, unit: "ms", goal: goal, ratios: true, lowerIsBetter: true})
	}

	scheduleJobs(t, c, "bl", 200)
	ours, theirs := pair(nil,
		func() time.Duration { return run(nil, bin, "list") },
		func() time.Duration { return run(nil, "systemctl", "list-timers", "--all", "--no-pager", "borgrun-*") })
	row("list, 200 jobs, vs systemctl list-timers 'borgrun-*'", ours, theirs, "≤ 2.0")
	clear()

	ours, theirs = pair(func() { clear(); scheduleJobs(t, c, "br", 200) },
		func() time.Duration { return run(nil, bin, "remove", "--all") },
		func() time.Duration { return run(nil, "systemctl", "stop", "borgrun-br*") })
	row("remove --all, 200 jobs, vs systemctl stop 'borgrun-br*'", ours, theirs, "≤ 2.0")
	clear()

	scheduleJobs(t, c, "fl", 50)
	ours, theirs = pair(nil,
		func() time.Duration { return run(slow, bin, "list", "-H", l.host) },
		func() time.Duration {
			return run(slow, "systemctl", "-H", l.host, "list-timers", "--all", "--no-pager", "borgrun-*")
		})
	rows = append(rows, benchRow{figure: "list -H, 50 jobs, 50 ms round trip, vs systemctl -H list-timers", borgrun: ours, systemdRun: theirs, unit: "ms", goal: "≤ 1 s", ratios: true, lowerIsBetter: true, limit: 1000})
	clear()

	ours, theirs = pair(func() { clear(); scheduleJobs(t, c, "fr", 50) },
		func() time.Duration { return run(slow, bin, "remove", "--all", "-H", l.host) },
		func() time.Duration { return run(slow, "systemctl", "-H", l.host, "stop", "borgrun-fr*") })
	rows = append(rows, benchRow{figure: "remove --all -H, 50 jobs, 50 ms round trip, vs systemctl -H stop 'borgrun-fr*'", borgrun: ours, systemdRun: theirs, unit: "ms", goal: "≤ 2 s", ratios: true, lowerIsBetter: true, limit: 2000})
	clear()

	i := 0
	ours, theirs = pair(nil,
		func() time.Duration {
			i++
			return run(slow, bin, "schedule", "--daily", "--inhibit=no", "--hardening=off", "--name=fs"+strconv.Itoa(i), "-H", l.host, "--", "/bin/true")
		},
		func() time.Duration {
			i++
			return run(slow, "systemd-run", "-H", l.host, "--quiet", "--on-calendar=daily", "--unit=fs"+strconv.Itoa(i), "/bin/true")
		})
	row("schedule -H (new pair), 50 ms round trip, vs systemd-run -H --on-calendar", ours, theirs, "—")
	clear()
	_, _ = sys.Output(t.Context(), "systemctl", "stop", "fs*")

	ours, theirs = pair(nil,
		func() time.Duration {
			i++
			return run(slow, bin, "now", "--quiet", "--inhibit=no", "--hardening=off", "--name=fn"+strconv.Itoa(i), "-H", l.host, "--", "/bin/true")
		},
		func() time.Duration {
			i++
			return run(slow, "systemd-run", "-H", l.host, "--quiet", "--wait", "--collect", "--unit=fn"+strconv.Itoa(i), "/bin/true")
		})
	row("now -H, 50 ms round trip (follows the journal over a second ssh), vs systemd-run -H --wait", ours, theirs, "—")

	scheduleJobs(t, c, "big", 500)
	cpu, rss := waitCost(t, sys.Command(t.Context(), bin, "list"))
	rows = append(rows,
		benchRow{figure: "CPU time of borgrun list, 500 jobs", borgrun: ms(cpu), unit: "ms", goal: "< 200", lowerIsBetter: true, met: ms(cpu) < 200},
		benchRow{figure: "peak RSS of borgrun list, 500 jobs", borgrun: float64(rss) / 1024, unit: "MB", goal: "< 30", lowerIsBetter: true, met: float64(rss)/1024 < 30})
	clear()
	return rows
}
