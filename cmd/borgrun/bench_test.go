package main

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Benchmarks against systemd-run run both tools inside the same throwaway
// systemd, alternating one run of each per iteration so that machine drift
// cancels, and report the medians and their ratio (borgrun / systemd-run:
// below 1 means borgrun is faster). Both include one nsenter.

func benchPair(b *testing.B, ours, theirs []string, cleanup func(i int)) {
	sys := sandbox.Get(b)
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	timeRun := func(args []string) time.Duration {
		var cmd *exec.Cmd
		if args[0] == "borgrun" {
			cmd = sys.Command(b.Context(), exe, args[1:]...)
			cmd.Env = append(cmd.Env, "BORGRUN_TEST_MAIN=1")
		} else {
			cmd = sys.Command(b.Context(), args[0], args[1:]...)
		}
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v: %v: %s", args, err, out)
		}
		return time.Since(start)
	}
	var a, s []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		subst := func(args []string) []string {
			r := slices.Clone(args)
			for j := range r {
				r[j] = strings.ReplaceAll(r[j], "%d", strconv.Itoa(i))
			}
			return r
		}
		if i%2 == 0 {
			a = append(a, timeRun(subst(ours)))
			s = append(s, timeRun(subst(theirs)))
		} else {
			s = append(s, timeRun(subst(theirs)))
			a = append(a, timeRun(subst(ours)))
		}
		if cleanup != nil {
			b.StopTimer()
			cleanup(i)
			b.StartTimer()
		}
	}
	ma, ms := median(a), median(s)
	b.ReportMetric(float64(ma)/1e6, "borgrun-ms")
	b.ReportMetric(float64(ms)/1e6, "systemd-run-ms")
	b.ReportMetric(float64(ma)/float64(ms), "ratio")
}

func median(ds []time.Duration) time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// BenchmarkWaitTrue: borgrun now --quiet /bin/true vs systemd-run --wait
// --quiet --collect /bin/true.
func BenchmarkWaitTrue(b *testing.B) {
	benchPair(b,
		[]string{"borgrun", "now", "--quiet", "--inhibit=no", "--name=bench%d", "--", "/bin/true"},
		[]string{"systemd-run", "--wait", "--quiet", "--collect", "--unit=sdbench%d", "/bin/true"},
		nil)
}

// BenchmarkCreateTimer: creating a timer+service pair, borgrun schedule vs
// systemd-run --on-calendar.
func BenchmarkCreateTimer(b *testing.B) {
	sys := sandbox.Get(b)
	benchPair(b,
		[]string{"borgrun", "schedule", "--daily", "--inhibit=no", "--name=tbench%d", "--", "/bin/true"},
		[]string{"systemd-run", "--quiet", "--on-calendar=daily", "--unit=sdtbench%d", "/bin/true"},
		func(i int) {
			_, _ = sys.Output(b.Context(), "systemctl", "stop",
				fmt.Sprintf("borgrun-tbench%d.timer", i), fmt.Sprintf("borgrun-tbench%d.service", i),
				fmt.Sprintf("sdtbench%d.timer", i), fmt.Sprintf("sdtbench%d.service", i))
		})
}
