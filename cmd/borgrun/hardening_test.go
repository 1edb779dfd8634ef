package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The borgmatic tests back up a small source tree into a local repository
// inside the sandbox with Debian's borgmatic and borg, under borgrun's
// sandboxing profiles.
const (
	bmRoot       = "/srv/borgrun-test"
	bmRepo       = bmRoot + "/repo"
	bmConfig     = "/etc/borgrun-test/local.yaml"
	bmPassphrase = "borgrun test passphrase"
	// bmNoPassConfig is bmConfig without the passphrase, which then
	// comes from bmPassFile.
	bmNoPassConfig = "/etc/borgrun-test/nopass.yaml"
	bmPassFile     = "/etc/borgrun-test/passphrase"
)

// bmStateDirs are where borg 1.2 and borgmatic 1.7 keep their state for
// root; removing them makes the machine look freshly installed.
const bmStateDirs = "/root/.cache/borg /root/.config/borg /root/.borgmatic /root/.local/state/borgmatic"

// setupBorgmatic writes the configuration, a source tree and a repository
// (made with borgmatic init), then removes every state directory, as on a
// machine where borg has never run. It needs borgmatic and borg.
func setupBorgmatic(t *testing.T) {
	t.Helper()
	sys := sandbox.Get(t)
	for _, tool := range []string{"/usr/bin/borgmatic", "/usr/bin/borg"} {
		if _, err := os.Stat(filepath.Join(sys.Root(), tool)); err != nil {
			skipUnlessRequired(t, "%s: %v (apt-get install borgmatic borgbackup)", tool, err)
		}
	}
	config := `location:
    source_directories:
        - ` + bmRoot + `/src
    repositories:
        - ` + bmRepo + `
storage:
    encryption_passphrase: "` + bmPassphrase + `"
    archive_name_format: "bm-{now:%Y-%m-%dT%H:%M:%S.%f}"
retention:
    keep_within: 1d
`
	script := `set -e
rm -rf ` + bmRoot + ` ` + bmStateDirs + `
mkdir -p ` + bmRoot + `/src/sub /etc/borgrun-test
echo one > ` + bmRoot + `/src/one
echo two > ` + bmRoot + `/src/sub/two
cat > ` + bmConfig + ` <<'EOF'
` + config + `EOF
grep -v encryption_passphrase ` + bmConfig + ` > ` + bmNoPassConfig + `
(umask 077; echo '` + bmPassphrase + `' > ` + bmPassFile + `)
borgmatic -c ` + bmConfig + ` init --encryption repokey
rm -rf ` + bmStateDirs + `
`
	if out, err := sys.Output(t.Context(), "/bin/sh", "-c", script); err != nil {
		t.Fatalf("setting up borgmatic: %v\n%s", err, out)
	}
}

// archives returns the repository's archive names.
func archives(t *testing.T) []string {
	t.Helper()
	cmd := sandbox.Get(t).Command(t.Context(), "/usr/bin/borg", "list", "--short", bmRepo)
	cmd.Env = append(cmd.Env, "BORG_PASSPHRASE="+bmPassphrase, "HOME=/root")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("borg list: %v\n%s", err, out)
	}
	return strings.Fields(string(out))
}

// freshState removes borg's and borgmatic's state directories.
func freshState(t *testing.T) {
	t.Helper()
	if out, err := sandbox.Get(t).Output(t.Context(), "/bin/sh", "-c", "rm -rf "+bmStateDirs); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

// TestBorgmaticUnderProfiles: on a machine with only a repository, real
// borgmatic runs its default actions (prune, compact, create, check) under
// each profile and priority, and each run adds an archive.
func TestBorgmaticUnderProfiles(t *testing.T) {
	setupBorgmatic(t)
	for _, tt := range []struct {
		name string
		args []string
		fail bool
	}{
		{"default", nil, false},
		{"default-idle", []string{"--priority", "idle"}, false},
		{"strict", []string{"--hardening=strict"}, false},
		{"off", []string{"--hardening=off"}, false},
		// Without the derived writable paths the same run fails: they
		// are what makes it work.
		{"default-without-derived-paths", []string{"-p", "ReadWritePaths="}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fail := ""
			if tt.fail {
				fail = "Read-only file system"
			}
			backupNow(t, tt.name, tt.args, bmConfig, fail)
		})
	}
}

// backupNow runs borgmatic (default actions) with config under borgrun now
// with args, on fresh borg state. With fail empty the run must succeed and
// add one archive; otherwise it must fail with fail in its stderr.
func backupNow(t *testing.T, name string, args []string, config, fail string) {
	t.Helper()
	freshState(t)
	before := len(archives(t))
	args = append(append([]string{"now", "--name", "bm-" + name}, args...), "--", "/usr/bin/borgmatic", "-c", config, "--verbosity", "1")
	stdout, stderr, code := borgrun(t, args...)
	if fail != "" {
		if code == 0 || !strings.Contains(stderr, fail) {
			t.Errorf("borgrun %s: exit %d, want a failure saying %q\nstderr:\n%s", strings.Join(args, " "), code, fail, stderr)
		}
		return
	}
	if code != 0 {
		t.Fatalf("borgrun %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout, stderr)
	}
	if got := len(archives(t)); got != before+1 {
		t.Errorf("archives: %d after the run, want %d", got, before+1)
	}
}

// TestBorgmaticDefaultConfigLocation: with the configuration where
// borgmatic looks by default, the derived sandbox finds it too.
func TestBorgmaticDefaultConfigLocation(t *testing.T) {
	setupBorgmatic(t)
	sys := sandbox.Get(t)
	if out, err := sys.Output(t.Context(), "/bin/sh", "-c", "mkdir -p /etc/borgmatic && cp "+bmConfig+" /etc/borgmatic/config.yaml"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Cleanup(func() { sys.Output(context.Background(), "rm", "-f", "/etc/borgmatic/config.yaml") })
	before := len(archives(t))
	stdout, stderr, code := borgrun(t, "now", "--name", "bm", "--", "/usr/bin/borgmatic")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if got := len(archives(t)); got != before+1 {
		t.Errorf("archives: %d after the run, want %d", got, before+1)
	}
}

var exposureRE = regexp.MustCompile(`Overall exposure level for \S+: (\d+\.\d)`)

// exposure runs systemd-analyze security with args in the sandbox and
// returns the overall exposure it prints.
func exposure(t *testing.T, args ...string) float64 {
	t.Helper()
	out, err := sandbox.Get(t).Output(t.Context(), "systemd-analyze", append([]string{"security", "--no-pager"}, args...)...)
	m := exposureRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security %s: %v: no exposure in:\n%s", strings.Join(args, " "), err, out)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestScheduledBorgmaticExposure: the scheduled service of a job whose
// repositories are all local scores at most 1.0 in systemd-analyze
// security, live and offline, and the scheduled service itself backs up.
// (An ssh repository's are in TestBorgmaticSSHRepository and
// TestRelaxationExposure.)
func TestScheduledBorgmaticExposure(t *testing.T) {
	setupBorgmatic(t)
	sys := sandbox.Get(t)
	cleanupJob(t, "bmsched")
	job := []string{"--daily", "--name", "bmsched", "--boot-delay", "0", "--allow-battery", "--", "/usr/bin/borgmatic", "-c", bmConfig}
	stdout, stderr, code := borgrun(t, append([]string{"schedule"}, job...)...)
	if code != 0 {
		t.Fatalf("schedule: exit %d\n%s%s", code, stdout, stderr)
	}
	live := exposure(t, "borgrun-bmsched.service")

	// Offline, from the unit file --dry-run prints.
	stdout, stderr, code = borgrun(t, append([]string{"schedule", "--dry-run"}, job...)...)
	if code != 0 {
		t.Fatalf("schedule --dry-run: exit %d\n%s", code, stderr)
	}
	_, service, ok := strings.Cut(stdout, "# borgrun-bmsched.service\n")
	if !ok {
		t.Fatalf("no service in --dry-run output:\n%s", stdout)
	}
	service, _, _ = strings.Cut(service, "\n# ")
	dir := "/run/borgrun-test-offline"
	if err := os.MkdirAll(filepath.Join(sys.Root(), dir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sys.Root(), dir, "borgrun-bmsched-offline.service"), []byte(service), 0o644); err != nil {
		t.Fatal(err)
	}
	offline := exposure(t, "--offline=true", dir+"/borgrun-bmsched-offline.service")
	t.Logf("exposure of a local-only borgmatic job under the default profile: live %.1f, offline %.1f", live, offline)
	if live > 1.0 || offline > 1.0 {
		t.Errorf("exposure live %.1f, offline %.1f: want at most 1.0 for a local-only job", live, offline)
	}

	// The scheduled service runs as the timer would start it.
	freshState(t)
	before := len(archives(t))
	if out, err := sys.Output(t.Context(), "systemctl", "start", "borgrun-bmsched.service"); err != nil {
		logs, _ := sys.Output(t.Context(), "journalctl", "--no-pager", "-u", "borgrun-bmsched.service")
		t.Fatalf("systemctl start: %v\n%s\n%s", err, out, logs)
	}
	if got := len(archives(t)); got != before+1 {
		t.Errorf("archives: %d after the scheduled run, want %d", got, before+1)
	}
}

// TestBorgmaticPassphraseFile: the passphrase reaches borg from a file
// through a systemd credential, for a run now and a scheduled run, and
// never appears in the unit's properties.
func TestBorgmaticPassphraseFile(t *testing.T) {
	setupBorgmatic(t)
	sys := sandbox.Get(t)
	freshState(t)
	before := len(archives(t))
	stdout, stderr, code := borgrun(t, "now", "--name", "bm-pass", "--passphrase-file", bmPassFile, "--", "/usr/bin/borgmatic", "-c", bmNoPassConfig)
	if code != 0 {
		t.Fatalf("now: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if got := len(archives(t)); got != before+1 {
		t.Errorf("archives: %d after the run, want %d", got, before+1)
	}

	cleanupJob(t, "bmpass")
	if stdout, stderr, code := borgrun(t, "schedule", "--daily", "--name", "bmpass", "--boot-delay", "0", "--allow-battery",
		"--passphrase-file", bmPassFile, "--", "/usr/bin/borgmatic", "-c", bmNoPassConfig); code != 0 {
		t.Fatalf("schedule: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, view := range []string{"show", "cat"} {
		if out := systemctl(t, view, "borgrun-bmpass.service"); strings.Contains(out, bmPassphrase) {
			t.Errorf("systemctl %s reveals the passphrase:\n%s", view, out)
		}
	}
	if out := systemctl(t, "cat", "borgrun-bmpass.service"); !strings.Contains(out, "LoadCredential=borg-passphrase:"+bmPassFile+"\n") {
		t.Errorf("systemctl cat shows no credential from %s:\n%s", bmPassFile, out)
	}
	freshState(t)
	if out, err := sys.Output(t.Context(), "systemctl", "start", "borgrun-bmpass.service"); err != nil {
		logs, _ := sys.Output(t.Context(), "journalctl", "--no-pager", "-u", "borgrun-bmpass.service")
		t.Fatalf("systemctl start: %v\n%s\n%s", err, out, logs)
	}
	if got := len(archives(t)); got != before+2 {
		t.Errorf("archives: %d after the scheduled run, want %d", got, before+2)
	}
}

// TestScheduledBorgmaticLogsEachLineOnce: in the journal, each line of a
// scheduled borgmatic run appears once, tagged borgmatic (not twice, once
// from its output and once from its own syslog copy, nor as
// systemd-inhibit). The run has something to say: its passphrase is
// wrong, so borg and borgmatic report errors.
func TestScheduledBorgmaticLogsEachLineOnce(t *testing.T) {
	setupBorgmatic(t)
	sys := sandbox.Get(t)
	cleanupJob(t, "bmjournal")
	config := "/etc/borgrun-test/journal.yaml"
	if _, err := sys.Output(t.Context(), "/bin/sh", "-c",
		"sed 's|"+bmPassphrase+"|wrong passphrase|' "+bmConfig+" > "+config); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := borgrun(t, "schedule", "--daily", "--name", "bmjournal", "--boot-delay", "0", "--allow-battery",
		"--", "/usr/bin/borgmatic", "-c", config); code != 0 {
		t.Fatalf("schedule: exit %d: %s", code, stderr)
	}
	c := dialSandbox(t)
	systemctl(t, "start", "--no-block", "borgrun-bmjournal.service")
	ctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
	defer cancel()
	if err := c.WaitActiveState(ctx, "borgrun-bmjournal.service", "activating"); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitIdle(ctx, "borgrun-bmjournal.service"); err != nil {
		t.Fatal(err)
	}
	out, err := sys.Output(t.Context(), "journalctl", "--no-pager", "-o", "cat", "-u", "borgrun-bmjournal.service", "SYSLOG_IDENTIFIER=borgmatic")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "passphrase") {
		all, _ := sys.Output(t.Context(), "journalctl", "--no-pager", "-o", "short", "-u", "borgrun-bmjournal.service")
		t.Fatalf("the run logged nothing about the wrong passphrase; journal:\n%s\n%s", out, all)
	}
	// borgmatic's own syslog copy of a line carries the level name in
	// front; the line itself, from its output, does not.
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines {
		for _, level := range []string{"CRITICAL", "ERROR ", "WARNING ", "INFO ", "DEBUG "} {
			if strings.HasPrefix(l, level) {
				t.Errorf("journal line %q is borgmatic's syslog copy of a line", l)
			}
		}
	}
	if n := strings.Count(out, "is incorrect"); n != 1 {
		t.Errorf("the passphrase error appears %d times, want once:\n%s", n, out)
	}
	if inh, _ := sys.Output(t.Context(), "journalctl", "--no-pager", "-o", "cat", "-u", "borgrun-bmjournal.service", "SYSLOG_IDENTIFIER=systemd-inhibit"); strings.TrimSpace(inh) != "" && !strings.HasPrefix(strings.TrimSpace(inh), "-- No entries --") {
		t.Errorf("lines tagged systemd-inhibit: %q", inh)
	}
	t.Logf("%d borgmatic lines, none twice through syslog", len(lines))
}

// TestBorgmaticPassphraseCredential: with --passphrase-credential, a
// passphrase encrypted by the real systemd-creds (with the sandbox's host
// key) reaches borg through LoadCredentialEncrypted=: real borgmatic backs
// up an encrypted repository under the default profile, and the
// passphrase never appears in the units' properties, any environment or
// any argv.
func TestBorgmaticPassphraseCredential(t *testing.T) {
	setupBorgmatic(t)
	sys := sandbox.Get(t)
	cred := "/etc/borgrun-test/passphrase.cred"
	if out, err := sys.Output(t.Context(), "systemd-creds", "encrypt", "--with-key=host", "--name=borg-passphrase", bmPassFile, cred); err != nil {
		t.Fatalf("systemd-creds encrypt: %v\n%s", err, out)
	}
	if data, err := os.ReadFile(filepath.Join(sys.Root(), cred)); err != nil || len(data) == 0 || strings.Contains(string(data), bmPassphrase) {
		t.Fatalf("%s: %v; %d bytes, holding the passphrase in clear: %v", cred, err, len(data), strings.Contains(string(data), bmPassphrase))
	}

	freshState(t)
	before := len(archives(t))
	stdout, stderr, code := borgrun(t, "now", "--name", "bm-cred", "--passphrase-credential", cred, "--", "/usr/bin/borgmatic", "-c", bmNoPassConfig)
	if code != 0 {
		t.Fatalf("now: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if got := len(archives(t)); got != before+1 {
		t.Errorf("archives: %d after the run, want %d", got, before+1)
	}

	// Without the credential the same run fails: it is what carries the
	// passphrase.
	if _, _, code := borgrun(t, "now", "--name", "bm-cred", "--", "/usr/bin/borgmatic", "-c", bmNoPassConfig); code == 0 {
		t.Error("now without a passphrase succeeded; the test proves nothing")
	}

	cleanupJob(t, "bmcred")
	if stdout, stderr, code := borgrun(t, "schedule", "--daily", "--name", "bmcred", "--passphrase-credential", cred,
		"--", "/usr/bin/borgmatic", "-c", bmNoPassConfig); code != 0 {
		t.Fatalf("schedule: exit %d\n%s%s", code, stdout, stderr)
	}
	// A run that holds the decrypted credential while the views are taken.
	fifo := "/run/borgrun-cred.fifo"
	mkfifo(t, fifo)
	t.Cleanup(func() { sys.Output(context.Background(), "systemctl", "stop", "borgrun-credhold-now.service") })
	b := startBorgrun(t, "now", "--name", "credhold", "--passphrase-credential", cred, "--", "/bin/sh", "-c",
		`echo "$$BORG_PASSCOMMAND"; eval "$$BORG_PASSCOMMAND" | wc -c; read x < `+fifo)
	if line := b.readLine(t); !strings.Contains(line, "CREDENTIALS_DIRECTORY") {
		t.Fatalf("BORG_PASSCOMMAND is %q, want one reading the credential", line)
	}
	if line, want := strings.TrimSpace(b.readLine(t)), strconv.Itoa(len(bmPassphrase)+1); line != want {
		t.Fatalf("BORG_PASSCOMMAND printed %s bytes, want %s (the decrypted passphrase)", line, want)
	}
	for _, look := range [][]string{
		{"systemctl", "show", "borgrun-credhold-now.service"},
		{"systemctl", "cat", "borgrun-credhold-now.service"},
		{"systemctl", "show", "borgrun-bmcred.service", "borgrun-bmcred.timer"},
		{"systemctl", "cat", "borgrun-bmcred.service", "borgrun-bmcred.timer"},
		{"ps", "-eo", "args"},
		{"sh", "-c", "cat /proc/[0-9]*/environ | tr '\\0' '\\n'"},
	} {
		out, err := sys.Output(t.Context(), look[0], look[1:]...)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, bmPassphrase) {
			t.Errorf("%v shows the passphrase", look)
		}
		// It does look at the right things.
		if want := map[string]string{"show": "borg-passphrase", "cat": "LoadCredentialEncrypted=borg-passphrase:" + cred + "\n", "-eo": "read x < " + fifo}[look[1]]; !strings.Contains(out, want) {
			t.Errorf("%v lacks %q", look, want)
		}
	}
	if _, err := sys.Output(t.Context(), "sh", "-c", "echo go > "+fifo); err != nil {
		t.Fatal(err)
	}
	if code := b.wait(t, 30*time.Second); code != 0 {
		t.Errorf("now: exit %d; stderr %q", code, b.stderr.String())
	}
}

// TestScheduledBorgmaticFiresByItself: a schedule a few seconds ahead
// fires on its own (nobody starts the service): the timer triggers the
// service, real borgmatic runs under the default profile, succeeds, and
// the repository has a new archive. The wait follows the service's
// signals, bounded.
func TestScheduledBorgmaticFiresByItself(t *testing.T) {
	setupBorgmatic(t)
	freshState(t)
	before := len(archives(t))
	c := dialSandbox(t)
	cleanupJob(t, "bmfire")
	// Whole seconds, far enough ahead that the watch below is in place
	// before the timer elapses.
	at := time.Now().Truncate(time.Second).Add(4 * time.Second)
	spec := at.Format("2006-01-02 15:04:05")
	stdout, stderr, code := borgrun(t, "schedule", "--on-calendar", spec, "--randomized-delay", "0", "--boot-delay", "0",
		"--accuracy", "1s", "--allow-battery", "--name", "bmfire", "--", "/usr/bin/borgmatic", "-c", bmConfig)
	if code != 0 {
		t.Fatalf("schedule: exit %d\n%s%s", code, stdout, stderr)
	}
	if time.Now().After(at) {
		t.Fatalf("scheduling took until after %s; the test cannot watch the run start", spec)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	if err := c.WaitActiveState(ctx, "borgrun-bmfire.service", "activating"); err != nil {
		t.Fatalf("the timer did not start the service: %v", err)
	}
	started := time.Now()
	res, err := c.WaitService(ctx, "borgrun-bmfire.service")
	if err != nil {
		t.Fatal(err)
	}
	if res.Result != "success" || !res.Ran {
		logs, _ := sandbox.Get(t).Output(t.Context(), "journalctl", "--no-pager", "-u", "borgrun-bmfire.service")
		t.Fatalf("scheduled run: result %q (%s/%d), ran %v\n%s", res.Result, res.Code, res.Status, res.Ran, logs)
	}
	st, err := c.Timer(t.Context(), "borgrun-bmfire.timer")
	if err != nil {
		t.Fatal(err)
	}
	if st.Last.Before(at.Add(-time.Second)) {
		t.Errorf("timer last triggered %v, want at %v", st.Last, at)
	}
	if got := len(archives(t)); got != before+1 {
		t.Errorf("archives: %d after the scheduled run, want %d", got, before+1)
	}
	t.Logf("timer due %s, service started %v after, ran %v", spec, started.Sub(at).Round(time.Millisecond), res.Runtime.Round(time.Millisecond))
}

// TestSandboxCannotBeApplied: where the manager cannot apply the sandbox
// (here a genuine 226/NAMESPACE from the real manager: a writable path
// that does not exist), now says so on one line naming the status and
// --hardening=off, and schedule refuses after its probe, creating nothing.
func TestSandboxCannotBeApplied(t *testing.T) {
	const bad = "ReadWritePaths=/nonexistent/borgrun-namespace"
	cleanupJob(t, "nons")

	_, stderr, code := borgrun(t, "now", "--name", "nons", "-p", bad, "--", "/usr/bin/borg", "--version")
	if code == 0 || !strings.Contains(stderr, "borgrun: borgrun-nons-now.service probably did not start: this service manager cannot set up the sandbox's namespaces and mounts (exit status 226/NAMESPACE; some containers and user managers cannot); use --hardening=off instead of --hardening=default\n") {
		t.Errorf("now: exit %d, stderr:\n%s", code, stderr)
	}

	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"default", nil, "borgrun: schedule: not scheduled: this service manager cannot set up the sandbox's namespaces and mounts (exit status 226/NAMESPACE; some containers and user managers cannot); use --hardening=off instead of --hardening=default\n"},
		{"strict", []string{"--hardening=strict"}, "use --hardening=off instead of --hardening=strict\n"},
		// With the sandbox off the -p setting is at fault.
		{"off", []string{"--hardening=off"}, "(exit status 226/NAMESPACE; some containers and user managers cannot); check the -p settings\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{"schedule", "--daily", "--name", "nons", "-p", bad}, tt.args...), "--", "/usr/bin/borg", "--version")
			stdout, stderr, code := borgrun(t, args...)
			if code != 1 || strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, tt.want) {
				t.Errorf("schedule: exit %d, stdout %q, stderr %q; want exit 1 and one line ending %q", code, stdout, stderr, tt.want)
			}
			for _, u := range []string{"borgrun-nons.timer", "borgrun-nons.service"} {
				if p := showProps(t, u, "LoadState"); p["LoadState"] != "not-found" {
					t.Errorf("%s: LoadState %q after the refusal, want not-found", u, p["LoadState"])
				}
			}
			if out := systemctl(t, "list-units", "--all", "--no-legend", "borgrun-nons:probe-*"); strings.TrimSpace(out) != "" {
				t.Errorf("the probe left units behind: %s", out)
			}
		})
	}
	// Without the bad setting the probe passes and the job is scheduled.
	if _, stderr, code := borgrun(t, "schedule", "--daily", "--name", "nons", "--", "/usr/bin/borg", "--version"); code != 0 {
		t.Errorf("schedule: exit %d: %s", code, stderr)
	}
}
