package main

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/borgrun/borgrun/transient/transienttest"
)

// TestMachine: borgrun in the throwaway systemd (the host side) works with
// -M on a booted Debian 13 container (systemd 257, borgmatic, borg), as
// systemd-run -M does: one container, booted once, for every subtest.
// Nothing of borgrun is in the container; its borgmatic configuration is
// only there.
func TestMachine(t *testing.T) {
	transienttest.RequireSuite(t, transienttest.Trixie)
	sys := sandbox.Get(t)
	c := sys.TestContainer(t, transienttest.ContainerOptions{Name: "borgrun-m", Suite: transienttest.Trixie})
	// Only in the container: its borgmatic configuration, data and
	// repository (/mnt/backup, which nothing binds).
	const config = "/etc/borgmatic/machine.yaml"
	for _, f := range []struct {
		name, data string
		perm       os.FileMode
	}{
		{config, `source_directories:
    - /srv/data
repositories:
    - path: /mnt/backup/repo
      label: inside
encryption_passphrase: "` + ctrPassphrase + `"
archive_name_format: "m-{now:%Y-%m-%dT%H:%M:%S.%f}"
keep_within: 1d
`, 0o600},
		{"/srv/data/one", "one\n", 0o644},
	} {
		p := c.ImagePath(f.name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.data), f.perm); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(sys.Root() + config); err == nil {
		t.Fatalf("%s exists on the host side too: the test would not show where the sandbox is derived from", config)
	}
	ctrBoot(t, c, "boot", func() error { return c.Boot(t.Context()) })
	ctrOut(t, c, "mkdir", "-p", "/mnt/backup")
	ctrOut(t, c, "/usr/bin/borgmatic", "-c", config, "repo-create", "--encryption", "repokey")
	m := c.Name()
	show := func(t *testing.T, unit string, names ...string) map[string]string {
		t.Helper()
		out, err := sys.Output(t.Context(), "systemctl", "-M", m, "show", unit, "--property="+strings.Join(names, ","))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			k, v, _ := strings.Cut(l, "=")
			got[k] = v
		}
		return got
	}

	t.Run("unknown-machine", func(t *testing.T) {
		_, sderr, sdcode := runCapture(t, sys.Command(t.Context(), "systemd-run", "-M", "nosuch", "--wait", "true"))
		out, stderr, code := borgrunIn(t, sys, nil, "run", "-M", "nosuch", "--wait", "true")
		t.Logf("systemd-run -M nosuch: exit %d, %q; borgrun run: exit %d, %q", sdcode, sderr, code, stderr)
		if code != sdcode || code != 1 || out != "" || stderr != "borgrun: No machine 'nosuch' known\n" {
			t.Errorf("run -M nosuch: exit %d, stderr %q; want systemd-run's exit %d and \"borgrun: No machine 'nosuch' known\"", code, stderr, sdcode)
		}
		for _, args := range [][]string{{"list", "-M", "nosuch"}, {"now", "-M", "nosuch", "--", "/bin/true"}} {
			_, stderr, code := borgrunIn(t, sys, nil, args...)
			if code != 1 || !strings.Contains(stderr, "No machine 'nosuch' known") {
				t.Errorf("%v: exit %d, stderr %q; want 1 and No machine 'nosuch' known", args, code, stderr)
			}
		}
		// A bad name is bad input: exit 2, one line naming it.
		for _, cmd := range []string{"run", "list", "schedule", "remove"} {
			args := []string{cmd, "-M", "bad/name"}
			if cmd == "run" {
				args = append(args, "true")
			}
			if cmd == "remove" {
				args = append(args, "x")
			}
			if cmd == "schedule" {
				args = append(args, "--daily")
			}
			_, stderr, code := borgrunIn(t, sys, nil, args...)
			if code != 2 || !strings.Contains(stderr, `"bad/name"`) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("%s -M bad/name: exit %d, stderr %q; want 2 and one line naming it", cmd, code, stderr)
			}
		}
	})

	t.Run("run-differential", func(t *testing.T) {
		// The same command line to systemd-run -M and borgrun run -M,
		// but for the unit's name: the same properties in the
		// container's manager, output and exit status.
		common := []string{"--wait", "-p", "Nice=5", "-E", "GREETING=hello", "--description=machine diff", "-r",
			"sh", "-c", "echo $GREETING from $(cat /etc/debian_version); exit 3"}
		props := []string{"Description", "Nice", "Environment", "RemainAfterExit", "ExecMainStatus", "Result", "Type", "User"}
		sdOut, sdErr, sdCode := runCapture(t, sys.Command(t.Context(), "systemd-run", append([]string{"-M", m, "-u", "sd-diff"}, common...)...))
		brOut, brErr, brCode := borgrunIn(t, sys, nil, append([]string{"run", "-M", m, "-u", "br-diff"}, common...)...)
		t.Cleanup(func() {
			sys.Output(context.Background(), "systemctl", "-M", m, "stop", "sd-diff.service", "br-diff.service")
		})
		if brCode != sdCode || brCode != 3 {
			t.Errorf("exit: borgrun %d, systemd-run %d; want both 3", brCode, sdCode)
		}
		if brOut != sdOut {
			t.Errorf("stdout: borgrun %q, systemd-run %q", brOut, sdOut)
		}
		norm := func(s string) string {
			s = strings.ReplaceAll(s, "sd-diff", "UNIT")
			s = strings.ReplaceAll(s, "br-diff", "UNIT")
			// Timings differ from run to run.
			return regexp.MustCompile(`(?m)^(Service runtime|CPU time consumed|Memory peak|Memory swap peak|IO bytes|IP traffic).*\n`).ReplaceAllString(s, "")
		}
		// The summary is the container's systemd version's (257), as the
		// host's systemd-run (252) prints it, the lines borgrun prints for
		// 257 aside: compare what both print in common.
		t.Logf("systemd-run stderr:\n%s\nborgrun stderr:\n%s", sdErr, brErr)
		for _, l := range []string{"Running as unit: UNIT.service", "Finished with result: exit-code"} {
			if !strings.Contains(norm(sdErr), l) || !strings.Contains(norm(brErr), l) {
				t.Errorf("stderr: want %q in both; systemd-run %q, borgrun %q", l, sdErr, brErr)
			}
		}
		sd, br := show(t, "sd-diff.service", props...), show(t, "br-diff.service", props...)
		for _, p := range props {
			if p == "Description" {
				continue
			}
			if sd[p] != br[p] {
				t.Errorf("%s: borgrun %q, systemd-run %q", p, br[p], sd[p])
			}
		}
		if sd["Description"] != "machine diff" || br["Description"] != "machine diff" {
			t.Errorf("Description: borgrun %q, systemd-run %q", br["Description"], sd["Description"])
		}
		// --pipe: the container's bus carries file descriptors.
		out, _, code := borgrunIn(t, sys, nil, "run", "-M", m, "--pipe", "--quiet", "--wait", "cat", "/srv/data/one")
		if code != 0 || out != "one\n" {
			t.Errorf("run -M --pipe cat: exit %d, stdout %q; want 0 and the container's file", code, out)
		}
	})

	t.Run("user-manager", func(t *testing.T) {
		// run --user -M USER@NAME: the service runs in USER's manager
		// in the container (its cgroup is below user@UID.service).
		ctrOut(t, c, "useradd", "-m", "alice")
		start := time.Now()
		out, stderr, code := borgrunIn(t, sys, nil, "run", "--user", "-M", "alice@"+m, "--wait", "--quiet",
			"sh", "-c", "{ id -un; cat /proc/self/cgroup; } > $HOME/where")
		t.Logf("run --user -M alice@%s --wait: %v", m, time.Since(start).Round(time.Millisecond))
		if code != 0 {
			t.Fatalf("run --user -M alice@: exit %d, stdout %q, stderr %q", code, out, stderr)
		}
		where := ctrOut(t, c, "cat", "/home/alice/where")
		uid := strings.TrimSpace(ctrOut(t, c, "id", "-u", "alice"))
		if !strings.HasPrefix(where, "alice\n") || !strings.Contains(where, "/user@"+uid+".service/") {
			t.Errorf("the service ran as %q, want alice in user@%s.service", where, uid)
		}
		// systemd-run 252's --user -M needs a user bus in the container
		// (dbus-user-session), which this one lacks.
		_, sderr, sdcode := runCapture(t, sys.Command(t.Context(), "systemd-run", "--user", "-M", "alice@"+m, "--wait", "true"))
		t.Logf("systemd-run --user -M alice@%s: exit %d, %q", m, sdcode, sderr)
		_, stderr, code = borgrunIn(t, sys, nil, "run", "--user", "-M", "bob@"+m, "true")
		if code != 1 || stderr != "borgrun: machine "+m+": no user \"bob\" in the container\n" {
			t.Errorf("run --user -M bob@: exit %d, stderr %q; want 1 and no user", code, stderr)
		}
	})

	t.Run("schedule-list-check-export-remove", func(t *testing.T) {
		job := []string{"--daily", "--name", "mnight", "--randomized-delay", "0", "--", "/usr/bin/borgmatic", "-c", config}
		out, stderr, code := borgrunIn(t, sys, nil, append([]string{"schedule", "-M", m}, job...)...)
		if code != 0 || !strings.HasPrefix(out, m+": scheduled mnight: borgrun-mnight.timer triggers borgrun-mnight.service") {
			t.Fatalf("schedule -M: exit %d, stdout %q, stderr %q", code, out, stderr)
		}
		t.Cleanup(func() {
			exe, _ := os.Executable()
			cmd := sys.Command(context.Background(), exe, "remove", "-M", m, "mnight")
			cmd.Env = append(cmd.Env, "BORGRUN_TEST_MAIN=1")
			_ = cmd.Run() // gone already when the test passed
		})
		got := show(t, "borgrun-mnight.timer", "ActiveState", "FragmentPath")
		if got["ActiveState"] != "active" || got["FragmentPath"] != "/run/systemd/transient/borgrun-mnight.timer" {
			t.Errorf("the container's timer: %v", got)
		}
		// The sandbox comes from the container's files: its borgmatic
		// configuration (only there) names the repository, made
		// writable, and its root's home.
		rw := show(t, "borgrun-mnight.service", "ReadWritePaths")["ReadWritePaths"]
		if !strings.Contains(rw, "/mnt/backup/repo") || !strings.Contains(rw, "/root/.cache/borg") {
			t.Errorf("ReadWritePaths = %q, want the container's repository and root's borg cache", rw)
		}
		// --dry-run derives the same from the container, creating
		// nothing.
		out, stderr, code = borgrunIn(t, sys, nil, append([]string{"schedule", "-M", m, "--dry-run"}, job...)...)
		if code != 0 || !strings.Contains(out, "/mnt/backup/repo") || !strings.Contains(out, "[Timer]") {
			t.Errorf("schedule -M --dry-run: exit %d, stdout %q, stderr %q; want the units with the container's repository", code, out, stderr)
		}
		out, stderr, code = borgrunIn(t, sys, nil, append([]string{"schedule", "-M", m}, job...)...)
		if code != 0 || !strings.HasPrefix(out, m+": already scheduled, unchanged: mnight") {
			t.Errorf("schedule -M again: exit %d, stdout %q, stderr %q; want already scheduled, unchanged", code, out, stderr)
		}

		out, stderr, code = borgrunIn(t, sys, nil, "list", "-M", m)
		if code != 0 || !regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(m)+` +mnight +`).MatchString(out) {
			t.Errorf("list -M: exit %d, stdout %q, stderr %q; want a row for %s mnight", code, out, stderr, m)
		}
		out, _, code = borgrunIn(t, sys, nil, "list", "-M", m, "--json")
		if code != 0 || !strings.Contains(out, `"host":"`+m+`"`) || !strings.Contains(out, `mnight`) {
			t.Errorf("list -M --json: exit %d, stdout %q", code, out)
		}

		out, stderr, code = borgrunIn(t, sys, nil, "check", "-M", m, "mnight")
		if code != 0 || !strings.Contains(out, "OK") {
			t.Errorf("check -M: exit %d, stdout %q, stderr %q", code, out, stderr)
		}

		out, stderr, code = borgrunIn(t, sys, nil, "export", "-M", m, "mnight")
		if code != 0 || !strings.HasPrefix(out, "# /run/systemd/transient/borgrun-mnight.timer\n") || !strings.Contains(out, "ExecStart=") {
			t.Errorf("export -M: exit %d, stdout %q, stderr %q", code, out, stderr)
		}
		dir := "/etc/borgrun-export"
		ctrOut(t, c, "mkdir", "-p", dir)
		out, stderr, code = borgrunIn(t, sys, nil, "export", "-M", m, "mnight", "--dir", dir)
		if code != 0 {
			t.Errorf("export -M --dir: exit %d, stdout %q, stderr %q", code, out, stderr)
		}
		if link := strings.TrimSpace(ctrOut(t, c, "readlink", dir+"/timers.target.wants/borgrun-mnight.timer")); link != "../borgrun-mnight.timer" {
			t.Errorf("export -M --dir: the container's link is %q", link)
		}
		if txt := ctrOut(t, c, "cat", dir+"/borgrun-mnight.service"); !strings.Contains(txt, `"/usr/bin/borgmatic" "--log-file" "/dev/null" "-c" "`+config+`"`) {
			t.Errorf("export -M --dir: the container's service file:\n%s", txt)
		}

		out, stderr, code = borgrunIn(t, sys, nil, "remove", "-M", m, "mnight")
		if code != 0 || out != m+": removed mnight\n" {
			t.Errorf("remove -M: exit %d, stdout %q, stderr %q", code, out, stderr)
		}
		if got := show(t, "borgrun-mnight.timer", "LoadState")["LoadState"]; got != "not-found" {
			t.Errorf("after remove -M: LoadState = %q, want not-found", got)
		}
	})

	t.Run("now-borgmatic", func(t *testing.T) {
		// A real borgmatic backup inside the container, into its
		// repository, with its output on borgrun's stdout.
		start := time.Now()
		out, stderr, code := borgrunIn(t, sys, nil, "now", "-M", m, "--name", "madhoc", "--", "/usr/bin/borgmatic", "-c", config, "--verbosity", "1", "--list")
		t.Logf("now -M (borgmatic backup): %v", time.Since(start).Round(time.Millisecond))
		if code != 0 {
			t.Fatalf("now -M: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
		}
		if !strings.Contains(out, "/srv/data/one") {
			t.Errorf("now -M: borgmatic's file list not on stdout:\n%s\nstderr:\n%s", out, stderr)
		}
		cmd := c.Command(t.Context(), "/usr/bin/borg", "list", "--short", "/mnt/backup/repo")
		cmd.Env = append(cmd.Env, "BORG_PASSPHRASE="+ctrPassphrase, "HOME=/root")
		list, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("borg list: %v\n%s", err, list)
		}
		if n := len(strings.Fields(string(list))); n != 1 {
			t.Errorf("archives in the container's repository: %q, want 1", list)
		}
	})

	t.Run("now-live", func(t *testing.T) {
		// The output is live: the service's first line is on
		// borgrun's stdout while the service still waits for the test
		// (on a FIFO in the container).
		fifo := "/run/borgrun-live"
		ctrOut(t, c, "mkfifo", fifo)
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		cmd := sys.Command(ctx, exe, "now", "-M", m, "--name", "mlive", "--hardening", "off", "--",
			"/bin/sh", "-c", "echo started; read line < "+fifo+"; echo got $line")
		cmd.Env = append(cmd.Env, "BORGRUN_TEST_MAIN=1")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(stdout)
		first, err := r.ReadString('\n')
		if err != nil || first != "started\n" {
			t.Fatalf("first line %q (%v), want started; stderr %q", first, err, stderr.String())
		}
		// The service is still running: it waits on the FIFO.
		if got := show(t, "borgrun-mlive-now.service", "ActiveState")["ActiveState"]; got != "active" {
			t.Errorf("after the first line: the service is %q, want active", got)
		}
		ctrOut(t, c, "sh", "-c", "echo go > "+fifo)
		rest, _ := r.ReadString(0)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("now -M: %v, stderr %q", err, stderr.String())
		}
		if rest != "got go\n" {
			t.Errorf("the rest of stdout %q, want got go", rest)
		}
	})

	t.Run("pty", func(t *testing.T) {
		// run -M -t: a pseudo-terminal of the container's, from
		// machined's OpenMachinePTY, forwarded to the test's terminal
		// (its size too), typed into.
		tt, cmd := startBorgrunOnTerm(t, sys, "run", "-M", m, "-t", "--wait", "sh", "-c", "tty; stty size; read line; echo got $line")
		tt.waitFor(t, "24 80")
		tt.typeIn(t, "hello\r")
		if code := waitExit(t, cmd); code != 0 {
			t.Errorf("run -M -t: exit %d; the terminal shows %q", code, tt.output())
		}
		out := tt.allOutput(t)
		for _, want := range []string{"Press ^] three times within 1s to disconnect TTY.", "/dev/pts/", "got hello", "Finished with result: success"} {
			if !strings.Contains(out, want) {
				t.Errorf("run -M -t: the terminal shows %q, want %q in it", out, want)
			}
		}
		// systemd-run 252 opens the path OpenMachinePTY names, which is
		// the container's, on the host: it fails without a word.
		st := newTestTerm(t, 24, 80)
		sd := sys.Command(t.Context(), "systemd-run", "-M", m, "-t", "--wait", "true")
		st.start(t, sd)
		code := waitExit(t, sd)
		t.Logf("systemd-run -M -t: exit %d, %q", code, st.allOutput(t))
		// With several -M there is no one terminal to forward.
		_, stderr, code := borgrunIn(t, sys, nil, "run", "-M", m, "-M", "nosuch", "-t", "true")
		if code != 2 || !strings.Contains(stderr, "--pty/--pipe goes with one -M only") {
			t.Errorf("run -M -M -t: exit %d, stderr %q; want 2", code, stderr)
		}
	})

	t.Run("export-survives-reboot", func(t *testing.T) {
		// From the host: schedule in the container, export the pair
		// into its /etc/systemd/system, remove the transient pair; the
		// container's persistent root keeps the files, so the timer is
		// back after a reboot with no re-arm.
		job := []string{"--daily", "--name", "mkeep", "--randomized-delay", "0", "--", "/usr/bin/borgmatic", "-c", config}
		steps := [][]string{
			append([]string{"schedule", "-M", m}, job...),
			{"export", "-M", m, "mkeep", "--dir", "/etc/systemd/system"},
			{"remove", "-M", m, "mkeep"},
		}
		for _, args := range steps {
			if out, stderr, code := borgrunIn(t, sys, nil, args...); code != 0 {
				t.Fatalf("%v: exit %d, stdout %q, stderr %q", args, code, out, stderr)
			}
		}
		ctrBoot(t, c, "reboot", func() error { return c.Reboot(t.Context()) })
		got := show(t, "borgrun-mkeep.timer", "ActiveState", "FragmentPath", "UnitFileState")
		if got["ActiveState"] != "active" || got["FragmentPath"] != "/etc/systemd/system/borgrun-mkeep.timer" || got["UnitFileState"] != "enabled" {
			t.Errorf("after the reboot: the exported timer %v, want active, enabled, from /etc/systemd/system", got)
		}
		// The name is no longer borgrun's transient unit.
		_, stderr, code := borgrunIn(t, sys, nil, append([]string{"schedule", "-M", m}, job...)...)
		if code != 1 || !strings.Contains(stderr, "not created by borgrun") {
			t.Errorf("schedule -M over the exported files: exit %d, stderr %q; want 1, not created by borgrun", code, stderr)
		}
	})
}

// TestMachineOnHost: -H HOST/MACHINE reaches a container on a host, over
// ssh, as systemd-run -H HOST/MACHINE does: run (against systemd-run's
// units), schedule with the sandbox derived from the container's own
// files, list, now with its output followed in the container's journal,
// and remove.
func TestMachineOnHost(t *testing.T) {
	transienttest.RequireSuite(t, transienttest.Trixie)
	f := newFleet(t, 1)
	host := f.machines[0]
	c := host.TestContainer(t, transienttest.ContainerOptions{Name: "borgrun-hm", Suite: transienttest.Trixie})
	const config = "/etc/borgmatic/hm.yaml"
	p := c.ImagePath(config)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("source_directories:\n    - /etc/hostname\nrepositories:\n    - path: /var/lib/hm-repo\n      label: hm\nencryption_passphrase: \"x\"\nkeep_within: 1d\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctrBoot(t, c, "boot", func() error { return c.Boot(t.Context()) })
	target := f.addrs[0] + "/" + c.Name()
	show := func(t *testing.T, unit string, names ...string) map[string]string {
		t.Helper()
		out, err := host.Output(t.Context(), "systemctl", "-M", c.Name(), "show", unit, "--property="+strings.Join(names, ","))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			k, v, _ := strings.Cut(l, "=")
			got[k] = v
		}
		return got
	}

	// run: the same units as systemd-run -H HOST/MACHINE's.
	common := []string{"-r", "--description=on a host's container", "-p", "Nice=7", "/bin/sh", "-c", "exit 0"}
	sd := f.systemdRun(t, append([]string{"-H", target, "-u", "sd-hm"}, common...)...)
	start := time.Now()
	_, brErr, brCode := f.borgrun(t, append([]string{"run", "-H", target, "-u", "br-hm"}, common...)...)
	t.Logf("run -H %s: %v; systemd-run: exit %d %q", target, time.Since(start).Round(time.Millisecond), sd.code, sd.stderr)
	// The container's systemd (257) adds the invocation ID, as its
	// systemd-run does; the host's (252) does not know it.
	brErr = regexp.MustCompile(`; invocation ID: [0-9a-f]{32}`).ReplaceAllString(brErr, "")
	if brCode != sd.code || brCode != 0 || strings.ReplaceAll(brErr, "br-hm", "U") != strings.ReplaceAll(sd.stderr, "sd-hm", "U") {
		t.Errorf("run -H HOST/MACHINE: exit %d, stderr %q; systemd-run: exit %d, %q", brCode, brErr, sd.code, sd.stderr)
	}
	props := []string{"Description", "Nice", "RemainAfterExit", "ExecMainStatus", "Result", "ActiveState"}
	sdp, brp := show(t, "sd-hm.service", props...), show(t, "br-hm.service", props...)
	for _, p := range props {
		if sdp[p] != brp[p] {
			t.Errorf("%s: borgrun %q, systemd-run %q", p, brp[p], sdp[p])
		}
	}
	_, stderr, code := f.borgrun(t, "list", "-H", f.addrs[0]+"/nosuch")
	if code != 1 || !strings.Contains(stderr, "No machine 'nosuch' known") {
		t.Errorf("list -H HOST/nosuch: exit %d, stderr %q; want 1 and No machine 'nosuch' known", code, stderr)
	}

	// schedule: the sandbox comes from the container's configuration.
	out, stderr, code := f.borgrun(t, "schedule", "-H", target, "--daily", "--name", "hm", "--", "/usr/bin/borgmatic", "-c", config)
	if code != 0 || !strings.HasPrefix(out, target+": scheduled hm:") {
		t.Fatalf("schedule -H HOST/MACHINE: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	if rw := show(t, "borgrun-hm.service", "ReadWritePaths")["ReadWritePaths"]; !strings.Contains(rw, "/var/lib/hm-repo") {
		t.Errorf("ReadWritePaths = %q, want the container's repository", rw)
	}
	out, _, code = f.borgrun(t, "list", "-H", target)
	if code != 0 || !regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(target)+` +hm +`).MatchString(out) {
		t.Errorf("list -H HOST/MACHINE: exit %d, stdout %q", code, out)
	}
	// now: the output followed in the container's journal.
	out, stderr, code = f.borgrun(t, "now", "-H", target, "--name", "hmnow", "--hardening", "off", "--", "/bin/sh", "-c", "echo from $(cat /etc/debian_version)")
	deb := strings.TrimSpace(ctrOut(t, c, "cat", "/etc/debian_version"))
	if code != 0 || out != "from "+deb+"\n" {
		t.Errorf("now -H HOST/MACHINE: exit %d, stdout %q, stderr %q; want from %s", code, out, stderr, deb)
	}
	out, stderr, code = f.borgrun(t, "remove", "-H", target, "hm")
	if code != 0 || out != target+": removed hm\n" {
		t.Errorf("remove -H HOST/MACHINE: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}

// TestMachineWithoutBus: a container without a bus (dbus masked) is
// reached through nsenter and its own systemd-stdio-bridge on its
// manager's private socket, which carries no file descriptors: run works,
// run --pipe says why it cannot, and now follows its output in the
// container's journal (and ends: the journalctl -f that nsenter forked
// is killed with its process group). Without a bus, systemd-inhibit
// cannot reach logind either: --inhibit=no.
func TestMachineWithoutBus(t *testing.T) {
	transienttest.RequireSuite(t, transienttest.Trixie)
	sys := sandbox.Get(t)
	c := sys.TestContainer(t, transienttest.ContainerOptions{Name: "borgrun-nobus", Suite: transienttest.Trixie})
	// systemctl mask, in the image.
	for _, u := range []string{"dbus.service", "dbus.socket"} {
		p := c.ImagePath("/etc/systemd/system/" + u)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/dev/null", p); err != nil {
			t.Fatal(err)
		}
	}
	ctrBoot(t, c, "boot", func() error { return c.Boot(t.Context()) })
	if out, err := c.Output(t.Context(), "test", "-e", "/run/dbus/system_bus_socket"); err == nil {
		t.Fatalf("the container has a bus socket: %s", out)
	}
	m := c.Name()

	start := time.Now()
	_, stderr, code := borgrunIn(t, sys, nil, "run", "-M", m, "-u", "nobus", "--wait", "-r", "/bin/sh", "-c", "exit 4")
	t.Logf("run -M (bridge) --wait: %v", time.Since(start).Round(time.Millisecond))
	if code != 4 || !strings.Contains(stderr, "Running as unit: nobus.service") {
		t.Errorf("run -M without a bus: exit %d, stderr %q; want 4", code, stderr)
	}
	if got := strings.TrimSpace(ctrOut(t, c, "systemctl", "show", "nobus.service", "--property=ExecMainStatus", "--value")); got != "4" {
		t.Errorf("the container's nobus.service: ExecMainStatus %q, want 4", got)
	}
	_, stderr, code = borgrunIn(t, sys, nil, "run", "-M", m, "--pipe", "--wait", "true")
	if code != 1 || !strings.Contains(stderr, "cannot pass file descriptors") {
		t.Errorf("run -M --pipe without a bus: exit %d, stderr %q; want 1 and why", code, stderr)
	}
	out, stderr, code := borgrunIn(t, sys, nil, "now", "-M", m, "--name", "nobus", "--hardening", "off", "--inhibit=no", "--", "/bin/sh", "-c", "echo out; echo err >&2; exit 3")
	if code != 3 || out != "out\nerr\n" || !strings.Contains(stderr, "(output from its journal)") {
		t.Errorf("now -M without a bus: exit %d, stdout %q, stderr %q; want 3, both lines on stdout from the journal", code, out, stderr)
	}
	out, _, code = borgrunIn(t, sys, nil, "list", "-M", m)
	if code != 0 || !strings.Contains(out, m+"  (no borgrun schedules)") {
		t.Errorf("list -M without a bus: exit %d, stdout %q", code, out)
	}
}

// TestMachineRearmFromHost: the README's host-side recipe. A unit on the
// host, wanted by the container's unit and ordered after it (the
// container's unit is ready once the container has booted, as
// systemd-nspawn --notify-ready=yes makes it), runs borgrun schedule -M
// at every start of the container: every boot finds the transient pair
// gone, and the host's unit schedules it again, with nothing of borgrun
// in the container. The container's persistent root keeps the timer's
// stamp.
func TestMachineRearmFromHost(t *testing.T) {
	transienttest.RequireSuite(t, transienttest.Trixie)
	sys := sandbox.Get(t)
	c := sys.TestContainer(t, transienttest.ContainerOptions{Name: "borgrun-rearm", Suite: transienttest.Trixie})
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The test binary is borgrun with BORGRUN_TEST_MAIN=1.
	unit := `[Unit]
Description=Re-arm borgrun's schedules in container %i
After=borgrun-container-%i.service
PartOf=borgrun-container-%i.service

[Service]
Type=oneshot
Environment=BORGRUN_TEST_MAIN=1
ExecStart=` + exe + ` schedule -M %i --daily --name nightly --randomized-delay 0 -- /bin/true
`
	dir := sys.Root() + "/etc/systemd/system"
	if err := os.WriteFile(dir+"/borgrun-rearm@.service", []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	wants := dir + "/" + c.Unit() + ".wants"
	if err := os.MkdirAll(wants, 0o755); err != nil {
		t.Fatal(err)
	}
	rearm := "borgrun-rearm@" + c.Name() + ".service"
	if err := os.Symlink("../borgrun-rearm@.service", wants+"/"+rearm); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.Remove(dir + "/borgrun-rearm@.service")
		os.RemoveAll(wants)
		sys.Output(context.Background(), "systemctl", "daemon-reload")
	})
	if out, err := sys.Output(t.Context(), "systemctl", "daemon-reload"); err != nil {
		t.Fatal(err, out)
	}
	for boot := 1; boot <= 2; boot++ {
		what := "first boot"
		f := func() error { return c.Boot(t.Context()) }
		if boot == 2 {
			what, f = "reboot", func() error { return c.Reboot(t.Context()) }
		}
		ctrBoot(t, c, what, f)
		// The re-arm job was queued with the container's start, after
		// it: a unit ordered after it starts once it is done.
		if out, err := sys.Output(t.Context(), "systemd-run", "--quiet", "--wait", "-p", "After="+rearm, "/bin/true"); err != nil {
			t.Fatal(err, out)
		}
		log, err := sys.Output(t.Context(), "journalctl", "--no-pager", "-o", "cat", "_SYSTEMD_UNIT="+rearm, "_SYSTEMD_INVOCATION_ID="+strings.TrimSpace(systemctl(t, "show", rearm, "--property=InvocationID", "--value")))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(log, c.Name()+": scheduled nightly: borgrun-nightly.timer triggers borgrun-nightly.service") {
			t.Errorf("%s: the host's re-arm unit printed %q, want scheduled", what, log)
		}
		if got := strings.TrimSpace(ctrOut(t, c, "systemctl", "show", "borgrun-nightly.timer", "--property=ActiveState", "--value")); got != "active" {
			t.Errorf("%s: the container's timer is %q, want active", what, got)
		}
	}
}

// TestMachineUserNamespace: a container with a user namespace of its own
// (systemd-nspawn@.service's -U) maps our uid away, so its bus would take
// us for an unprivileged user (the manager refuses StartTransientUnit:
// Permission denied, measured); borgrun reaches it through the bridge
// instead, entered into its user namespace as its root.
func TestMachineUserNamespace(t *testing.T) {
	transienttest.RequireSuite(t, transienttest.Trixie)
	sys := sandbox.Get(t)
	c := sys.TestContainer(t, transienttest.ContainerOptions{Name: "borgrun-userns", Suite: transienttest.Trixie, PrivateUsers: "100000:65536"})
	ctrBoot(t, c, "boot", func() error { return c.Boot(t.Context()) })
	m := c.Name()
	_, stderr, code := borgrunIn(t, sys, nil, "run", "-M", m, "-u", "userns", "-r", "--wait", "/bin/sh", "-c", "exit 5")
	if code != 5 || !strings.Contains(stderr, "Running as unit: userns.service") {
		t.Errorf("run -M: exit %d, stderr %q; want 5", code, stderr)
	}
	if got := strings.TrimSpace(ctrOut(t, c, "systemctl", "show", "userns.service", "--property=ExecMainStatus", "--value")); got != "5" {
		t.Errorf("the container's userns.service: ExecMainStatus %q, want 5", got)
	}
	out, stderr, code := borgrunIn(t, sys, nil, "now", "-M", m, "--name", "userns", "--hardening", "off", "--inhibit=no", "--", "/bin/sh", "-c", "echo uid $(id -u)")
	if code != 0 || out != "uid 0\n" {
		t.Errorf("now -M: exit %d, stdout %q, stderr %q; want uid 0 from the container's journal", code, out, stderr)
	}
	// -t through the bridge: no descriptor passes, the container's
	// manager opens the pseudo-terminal by its path in the container
	// (StandardInput=tty, TTYPath=).
	tt, cmd := startBorgrunOnTerm(t, sys, "run", "-M", m, "-t", "--wait", "sh", "-c", "read line; echo got $line on $(tty)")
	tt.waitFor(t, "Press ^] three times")
	tt.typeIn(t, "there\r")
	if code := waitExit(t, cmd); code != 0 {
		t.Errorf("run -M -t through the bridge: exit %d; the terminal shows %q", code, tt.output())
	}
	if out := tt.allOutput(t); !strings.Contains(out, "got there on /dev/pts/") {
		t.Errorf("run -M -t through the bridge: the terminal shows %q", out)
	}
}
