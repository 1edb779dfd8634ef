package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/borgrun/borgrun/transient/transienttest"
)

// The container tests boot Debian 13 (systemd 257, borgmatic 1.9.14, borg
// 1.4.0) as a systemd container (systemd-nspawn, inside the throwaway
// systemd of the host's root) with nothing of borgrun but its static
// binary and a unit that runs the same borgrun schedule at every boot, as
// a user's entrypoint or cloud-init runcmd would.
const (
	ctrBin        = "/usr/local/bin/borgrun"
	ctrConfig     = "/etc/borgmatic/config.yaml"
	ctrRepo       = "/mnt/backup/repo"
	ctrStamp      = "/var/lib/systemd/timers/stamp-borgrun-nightly.timer"
	ctrRearmUnit  = "borgrun-rearm.service"
	ctrPassphrase = "borgrun container passphrase"
)

// ctrSchedule is the command the container runs at every boot. Both
// delays are off so that a catch-up run starts as the timer does: with the
// default randomized delay it starts up to 10 minutes later (measured:
// the timer's next elapse 46 s to 8 min after the boot), and with the
// default boot delay whether it waits would depend on how long the host
// has been up (a container shares the kernel's uptime, which the boot
// delay reads).
var ctrSchedule = []string{"schedule", "--daily", "--name", "nightly", "--randomized-delay", "0", "--boot-delay", "0", "--", "/usr/bin/borgmatic", "-c", ctrConfig}

// ctrImage fills c's image layer: the binary, the borgmatic configuration
// and its source tree, and the boot unit, enabled.
func ctrImage(t *testing.T, c *transienttest.Container, bin string) {
	t.Helper()
	exe, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	unit := `[Unit]
Description=Re-arm borgrun's schedules at boot

[Service]
Type=oneshot
ExecStart=` + ctrBin + ` ` + strings.Join(ctrSchedule, " ") + `

[Install]
WantedBy=multi-user.target
`
	config := `source_directories:
    - /srv/data
repositories:
    - path: ` + ctrRepo + `
      label: volume
encryption_passphrase: "` + ctrPassphrase + `"
archive_name_format: "ctr-{now:%Y-%m-%dT%H:%M:%S.%f}"
keep_within: 1d
`
	for _, f := range []struct {
		name string
		data []byte
		perm os.FileMode
	}{
		{ctrBin, exe, 0o755},
		{"/etc/systemd/system/" + ctrRearmUnit, []byte(unit), 0o644},
		{ctrConfig, []byte(config), 0o600},
		{"/srv/data/one", []byte("one\n"), 0o644},
		{"/srv/data/sub/two", []byte("two\n"), 0o644},
	} {
		p := c.ImagePath(f.name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.data, f.perm); err != nil {
			t.Fatal(err)
		}
	}
	// systemctl enable's link.
	wants := c.ImagePath("/etc/systemd/system/multi-user.target.wants")
	if err := os.MkdirAll(wants, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../"+ctrRearmUnit, filepath.Join(wants, ctrRearmUnit)); err != nil {
		t.Fatal(err)
	}
}

// ctrOut runs name with args in c and returns its stdout; failing fails t.
func ctrOut(t *testing.T, c *transienttest.Container, name string, args ...string) string {
	t.Helper()
	out, err := c.Output(t.Context(), name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ctrRearmed returns what the boot unit's processes printed during the
// current boot.
func ctrRearmed(t *testing.T, c *transienttest.Container) string {
	t.Helper()
	return ctrOut(t, c, "journalctl", "--boot", "--no-pager", "-o", "cat", "_SYSTEMD_UNIT="+ctrRearmUnit)
}

// ctrArchives lists the repository's archives, with borg in c.
func ctrArchives(t *testing.T, c *transienttest.Container) []string {
	t.Helper()
	cmd := c.Command(t.Context(), "/usr/bin/borg", "list", "--short", ctrRepo)
	cmd.Env = append(cmd.Env, "BORG_PASSPHRASE="+ctrPassphrase, "HOME=/root")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("borg list: %v\n%s", err, out)
	}
	return strings.Fields(string(out))
}

// ctrShow returns one property of a unit of c's manager.
func ctrShow(t *testing.T, c *transienttest.Container, unit, prop string) string {
	t.Helper()
	return strings.TrimSpace(ctrOut(t, c, "systemctl", "show", unit, "--property="+prop, "--value"))
}

// ctrBoot boots or reboots c and logs how long it took.
func ctrBoot(t *testing.T, c *transienttest.Container, what string, f func() error) {
	t.Helper()
	start := time.Now()
	if err := f(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %v", what, time.Since(start).Round(time.Millisecond))
}

// TestContainerRearmsAtBoot: in a systemd container that runs the same
// borgrun schedule at every boot, the first boot schedules, a re-run
// without reboot is a no-op, and every reboot finds the transient pair
// gone and schedules it again. Persistent='s stamp survives the reboot
// exactly when /var/lib/systemd/timers does (a persistent root, or a
// volume there), and then the re-armed timer catches up on the run missed
// while the container was down; otherwise it waits for the next midnight.
// Each setup runs real borgmatic backups, with borgrun now and with the
// scheduled service, and borg list counts the archives in the repository,
// on a volume.
func TestContainerRearmsAtBoot(t *testing.T) {
	transienttest.RequireSuite(t, transienttest.Trixie)
	sys := sandbox.Get(t)
	bin, err := buildBorgrun()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name      string
		ephemeral bool
		// timersVolume binds a volume on /var/lib/systemd/timers.
		timersVolume bool
		// keepsStamp: the stamp survives a reboot.
		keepsStamp bool
	}{
		{name: "persistent-root", keepsStamp: true},
		{name: "ephemeral", ephemeral: true},
		{name: "ephemeral-timers-volume", ephemeral: true, timersVolume: true, keepsStamp: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			vol := "/run/borgrun-test-volumes/" + tt.name
			if out, err := sys.Output(t.Context(), "mkdir", "-p", vol+"/backup", vol+"/timers"); err != nil {
				t.Fatal(err, out)
			}
			t.Cleanup(func() { sys.Output(context.Background(), "rm", "-rf", vol) })
			binds := []string{vol + "/backup:/mnt/backup"}
			if tt.timersVolume {
				binds = append(binds, vol+"/timers:/var/lib/systemd/timers")
			}
			c := sys.TestContainer(t, transienttest.ContainerOptions{
				Name: "borgrun-" + tt.name, Suite: transienttest.Trixie, Ephemeral: tt.ephemeral, Binds: binds})
			ctrImage(t, c, bin)

			// First boot: the boot unit schedules.
			ctrBoot(t, c, "first boot", func() error { return c.Boot(t.Context()) })
			if got := ctrRearmed(t, c); !strings.HasPrefix(got, "scheduled nightly: borgrun-nightly.timer triggers borgrun-nightly.service\n") {
				t.Fatalf("first boot: the boot unit printed %q, want scheduled", got)
			}
			if got := ctrShow(t, c, "borgrun-nightly.timer", "FragmentPath"); got != "/run/systemd/transient/borgrun-nightly.timer" {
				t.Errorf("timer FragmentPath = %q, want transient", got)
			}
			// The same command again, no reboot: a no-op. Run from
			// outside, as the README's recipe does: systemd-run -M.
			start := time.Now()
			out, err := sys.Output(t.Context(), "systemd-run", append([]string{"-M", c.Name(), "--quiet", "--wait", "--pipe", ctrBin}, ctrSchedule...)...)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("re-run without reboot: %v", time.Since(start).Round(time.Millisecond))
			if !strings.HasPrefix(out, "already scheduled, unchanged: nightly:") {
				t.Errorf("re-run without reboot printed %q, want already scheduled, unchanged", out)
			}

			// A real backup into the volume: borgrun now, then the
			// scheduled service by hand.
			ctrOut(t, c, "/usr/bin/borgmatic", "-c", ctrConfig, "repo-create", "--encryption", "repokey")
			start = time.Now()
			if out, err := c.Output(t.Context(), ctrBin, "now", "--name", "adhoc", "--", "/usr/bin/borgmatic", "-c", ctrConfig, "--verbosity", "1"); err != nil {
				t.Fatalf("borgrun now: %v\n%s", err, out)
			}
			t.Logf("borgrun now (borgmatic backup): %v", time.Since(start).Round(time.Millisecond))
			if got := ctrArchives(t, c); len(got) != 1 {
				t.Fatalf("after borgrun now: archives %q, want 1", got)
			}
			ctrOut(t, c, "systemctl", "start", "borgrun-nightly.service")
			if got := ctrShow(t, c, "borgrun-nightly.service", "Result"); got != "success" {
				t.Errorf("scheduled service Result = %q, want success", got)
			}
			if got := ctrArchives(t, c); len(got) != 2 {
				t.Fatalf("after the scheduled service: archives %q, want 2", got)
			}

			// The timer's stamp exists; date it back three days, as
			// if the container had been down over the last midnights.
			ctrOut(t, c, "touch", "-d", "3 days ago", ctrStamp)
			t.Logf("before the reboot: machine-id %s", machineID(t, c))

			// Reboot: the transient pair is gone, the boot unit
			// schedules it again.
			rebooted := time.Now().Truncate(time.Second)
			ctrBoot(t, c, "reboot", func() error { return c.Reboot(t.Context()) })
			if got := ctrRearmed(t, c); !strings.HasPrefix(got, "scheduled nightly: borgrun-nightly.timer triggers borgrun-nightly.service\n") {
				t.Fatalf("after a reboot: the boot unit printed %q, want scheduled (the transient timer was gone)", got)
			}
			if out := ctrOut(t, c, ctrBin, ctrSchedule...); !strings.HasPrefix(out, "already scheduled, unchanged: nightly:") {
				t.Errorf("re-run after the reboot printed %q, want already scheduled, unchanged", out)
			}
			// Wait for the catch-up run, if one was queued (at boot,
			// as the timer started): a unit ordered after the service
			// starts once the service's job is done.
			ctrOut(t, c, "systemd-run", "--quiet", "--wait", "-p", "After=borgrun-nightly.service", "/bin/true")
			stamp := ctrTime(t, c, "stat", "-c", "%Y", ctrStamp)
			last := ctrTime(t, c, "systemctl", "show", "borgrun-nightly.timer", "--property=LastTriggerUSec", "--value")
			next := ctrTime(t, c, "systemctl", "show", "borgrun-nightly.timer", "--property=NextElapseUSecRealtime", "--value")
			ran := ctrTime(t, c, "systemctl", "show", "borgrun-nightly.service", "--property=ExecMainStartTimestamp", "--value")
			archives := ctrArchives(t, c)
			now := time.Now()
			t.Logf("after the reboot: machine-id %s, stamp %v old, timer's last trigger %v, service started %v, next elapse in %v, %d archives",
				machineID(t, c), now.Sub(stamp).Round(time.Second), last, ran, next.Sub(now).Round(time.Second), len(archives))
			midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.Local)
			if tt.keepsStamp {
				// The timer read the stamp of its last run, three
				// days ago, and caught up on the missed run as it
				// started: a real backup, and a new stamp.
				if last.Before(rebooted) || ran.Before(rebooted) || stamp.Before(rebooted) || len(archives) != 3 {
					t.Errorf("stamp kept: want a catch-up run at boot and a third archive; stamp %v, last trigger %v, service started %v, archives %q", stamp, last, ran, archives)
				}
				if got := ctrShow(t, c, "borgrun-nightly.service", "Result"); got != "success" {
					t.Errorf("catch-up run: Result = %q, want success", got)
				}
				// Queued while the container booted, the catch-up
				// run is part of the boot: the manager reports
				// startup finished (and nspawn READY=1) after it.
				t.Logf("catch-up run ended at %s (monotonic), the boot at %s",
					ctrShow(t, c, "borgrun-nightly.service", "ExecMainExitTimestampMonotonic"),
					strings.TrimSpace(ctrOut(t, c, "systemctl", "show", "--property=FinishTimestampMonotonic", "--value")))
			} else {
				// The stamp went with the root: the re-armed timer
				// made a new one and has never run; the next run is
				// the next midnight's, and the repository, on its
				// volume, still has the two archives.
				if stamp.Before(rebooted) || !last.IsZero() || !ran.IsZero() || next.Before(midnight) || len(archives) != 2 {
					t.Errorf("stamp lost: want a new stamp, no run, the next run after midnight; stamp %v, last trigger %v, service started %v, next elapse %v, archives %q", stamp, last, ran, next, archives)
				}
			}
		})
	}
}

// ctrTime runs name with args in c and parses its output as a time:
// seconds since the epoch (stat -c %Y) or a timestamp as systemctl show
// prints it; no output or "n/a" is the zero time.
func ctrTime(t *testing.T, c *transienttest.Container, name string, args ...string) time.Time {
	t.Helper()
	out := strings.TrimSpace(ctrOut(t, c, name, args...))
	if out == "" || out == "n/a" {
		return time.Time{}
	}
	if secs, err := strconv.ParseInt(out, 10, 64); err == nil {
		return time.Unix(secs, 0)
	}
	ts, err := time.Parse("Mon 2006-01-02 15:04:05 MST", out)
	if err != nil {
		t.Fatalf("%s %v: %q: %v", name, args, out, err)
	}
	return ts
}

// machineID returns c's /etc/machine-id.
func machineID(t *testing.T, c *transienttest.Container) string {
	t.Helper()
	return strings.TrimSpace(ctrOut(t, c, "cat", "/etc/machine-id"))
}
