package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
)

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
	ours, theirs := pair(
		func(i int) []string {
			return []string{bin, "run", "--wait", "--quiet", "--collect", "--unit=bw" + strconv.Itoa(i), "/bin/true"}
		},
		func(i int) []string {
			return []string{"systemd-run", "--wait", "--quiet", "--collect", "--unit=sw" + strconv.Itoa(i), "/bin/true"}
		}, nil)
	rows = append(rows, benchRow{figure: "run --wait --quiet --collect /bin/true", borgrun: ours, systemdRun: theirs, unit: "ms", goal: "≤ 0.8", ratios: true, lowerIsBetter: true})
	ours, theirs = pair(
		func(i int) []string {
			return []string{bin, "now", "--quiet", "--priority=normal", "--no-network-wait", "--inhibit=no", "--hardening=off", "--name=bn" + strconv.Itoa(i), "--", "/bin/true"}
		},
		func(i int) []string {
			return []string{"systemd-run", "--wait", "--quiet", "--collect", "--unit=sn" + strconv.Itoa(i), "/bin/true"}
		}, nil)
	rows = append(rows, benchRow{figure: "now --quiet /bin/true (no backup defaults) vs systemd-run --wait", borgrun: ours, systemdRun: theirs, unit: "ms", goal: "≤ 0.8", ratios: true, lowerIsBetter: true})

	// 2. Create a timer+service pair.
	stop := func(units ...string) {
		_, _ = sys.Output(t.Context(), "systemctl", append([]string{"stop"}, units...)...)
	}
	ours, theirs = pair(
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
	rows = append(rows, benchRow{figure: "run --on-calendar=daily /bin/true (create a pair)", borgrun: ours, systemdRun: theirs, unit: "ms", goal: "≤ 0.9", ratios: true, lowerIsBetter: true})
	ours, theirs = pair(
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

	// 3. Library throughput: create and remove pairs over one connection
	// vs a loop of systemd-run and systemctl stop invocations.
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

	// 4. What borgrun itself costs while now waits on a 30 s command.
	cpu, rss := waitCost(t, sys.Command(context.WithoutCancel(t.Context()), bin, "now", "--quiet", "--name=waitcost", "--", "/bin/sleep", "30"))
	rows = append(rows,
		benchRow{figure: "CPU time used by borgrun while now waits on a 30 s command", borgrun: ms(cpu), unit: "ms", goal: "< 20", lowerIsBetter: true, met: ms(cpu) < 20},
		benchRow{figure: "peak RSS of borgrun now", borgrun: float64(rss) / 1024, unit: "MB", goal: "< 20", lowerIsBetter: true, met: float64(rss)/1024 < 20})

	report := formatReport(rows, n)
	fmt.Print(report)
	if *benchOut != "" {
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
	fmt.Fprintf(&b, "borgrun vs systemd-run 252, in one throwaway systemd; medians of %d alternating rounds; %s\n\n", rounds, time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintln(&b, "| figure | borgrun | systemd-run | ratio | goal | met |")
	fmt.Fprintln(&b, "|---|---|---|---|---|---|")
	for _, r := range rows {
		sr, ratio, met := "—", "—", "yes"
		if r.ratios {
			sr = fmt.Sprintf("%.1f %s", r.systemdRun, r.unit)
			q := r.borgrun / r.systemdRun
			ratio = fmt.Sprintf("%.2f", q)
			var g float64
			if _, err := fmt.Sscanf(strings.TrimLeft(r.goal, "≤≥< "), "%g", &g); err == nil {
				r.met = (r.lowerIsBetter && q <= g) || (!r.lowerIsBetter && q >= g)
			} else {
				r.met = true
			}
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
