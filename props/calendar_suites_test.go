package props_test

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/borgrun/borgrun/props"
	"github.com/borgrun/borgrun/transient/transienttest"
)

// TestCalendarConfirmSuites is TestCalendarConfirm against every other
// suite's own systemd-analyze, run inside its booted root: a sample of
// 500 generated specifications in each of two time zones (UTC and
// Europe/Berlin, around a daylight-saving change). The host's suite has
// the full set in TestCalendarConfirm. Specifications naming a zone that
// the host has but the root has not (trixie and newer put EST5EDT and
// posix/ in tzdata-legacy, which the roots lack) are left out: ours
// reads the host's zones.
func TestCalendarConfirmSuites(t *testing.T) {
	for _, s := range transienttest.Suites() {
		t.Run(s.String()+"/"+strconv.Itoa(s.SystemdMajor()), func(t *testing.T) {
			t.Parallel()
			transienttest.RequireSuite(t, s)
			if root, err := s.Root(); err == nil && root == "/" {
				t.Skipf("%s is the host's suite: TestCalendarConfirm runs the full set against it", s)
			}
			sys := sandbox.GetSuite(t, s)
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			out, err := sys.Output(ctx, "systemd-analyze", "--version")
			if err != nil {
				t.Fatal(err)
			}
			if want := "systemd " + strconv.Itoa(s.SystemdMajor()) + " "; len(out) < len(want) || out[:len(want)] != want {
				t.Fatalf("systemd-analyze --version = %q, want %q…", out, want)
			}
			keep := func(spec string) bool {
				f := strings.Fields(spec)
				if len(f) == 0 || strings.Contains(f[len(f)-1], "..") {
					return true
				}
				zone := "/usr/share/zoneinfo/" + f[len(f)-1]
				_, hostErr := os.Stat(zone)
				_, rootErr := os.Stat(sys.Root() + zone)
				return hostErr != nil || rootErr == nil
			}
			command := func(args ...string) *exec.Cmd { return sys.Command(ctx, "systemd-analyze", args...) }
			for i, run := range []struct {
				tz   string
				base time.Time
			}{
				{"UTC", time.Date(2023, 11, 14, 22, 13, 20, 250000000, time.UTC)},
				{"Europe/Berlin", time.Date(2024, 3, 30, 23, 0, 0, 0, time.UTC)},
			} {
				t.Run(run.tz, func(t *testing.T) {
					props.ConfirmCalendarsWith(t, command, run.tz, uint64(10+i), 500, run.base, keep)
				})
			}
		})
	}
}
