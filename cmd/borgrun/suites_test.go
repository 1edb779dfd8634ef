package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/borgrun/borgrun/transient/transienttest"
)

// The suite tests back up with each Debian suite's own borgmatic and borg
// under its own systemd (transienttest.Suites), into a local repository and
// over ssh into one served by that root's sshd, under the default and
// strict profiles, scheduled (the service started as its timer would) and
// run now. Their files live apart from the other borgmatic tests'.
const (
	stRoot       = "/srv/borgrun-suites"
	stRepo       = stRoot + "/repo"
	stSSHRepo    = stRoot + "/ssh-repo"
	stSSHPort    = 2311
	stConfigDir  = "/etc/borgrun-suites"
	stLister     = "/run/borgrun-suites-lister"
	stOddOwner   = "100000" // a user ID above 65535, as rootless containers' files have
	stOddOwnerLo = "1000"
)

// suiteBorgmatic is one root's borgmatic: the configuration dialect and the
// action that makes a repository.
type suiteBorgmatic struct {
	version string // what borgmatic --version printed
	// sections: before 1.8, options live in location:/storage:/retention:.
	sections bool
	create   string // init (1.7), repo-create (1.9+)
}

// rootBorgmatic returns the borgmatic of sys's root.
func rootBorgmatic(t *testing.T, sys *transienttest.Systemd) (bm suiteBorgmatic) {
	t.Helper()
	bm.version = strings.TrimSpace(suiteOutput(t, sys, "borgmatic --version"))
	major, minor, ok := strings.Cut(bm.version, ".")
	m, _ := strconv.Atoi(major)
	n, _ := strconv.Atoi(strings.SplitN(minor, ".", 2)[0])
	if !ok || m == 0 {
		t.Fatalf("borgmatic --version: %q", bm.version)
	}
	bm.sections = m == 1 && n < 8
	bm.create = "repo-create"
	if bm.sections {
		bm.create = "init"
	}
	return bm
}

// suiteOutput runs a shell script inside sys; a failure fails the test.
func suiteOutput(t *testing.T, sys *transienttest.Systemd, script string) string {
	t.Helper()
	out, err := sys.Output(t.Context(), "/bin/sh", "-c", script)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return out
}

// suiteConfig writes a borgmatic configuration in bm's dialect that backs
// up the source tree into repo, and returns its path inside sys.
func suiteConfig(t *testing.T, sys *transienttest.Systemd, bm suiteBorgmatic, name, repo string) string {
	t.Helper()
	path := stConfigDir + "/" + name + ".yaml"
	var config string
	if bm.sections {
		config = "location:\n    source_directories:\n        - " + stRoot + "/src\n    repositories:\n        - " + repo + "\n" +
			"storage:\n    encryption_passphrase: \"" + bmPassphrase + "\"\n    archive_name_format: \"st-{now:%Y-%m-%dT%H:%M:%S.%f}\"\n" +
			"retention:\n    keep_within: 1d\n"
	} else {
		config = "source_directories:\n    - " + stRoot + "/src\nrepositories:\n    - path: " + repo + "\n" +
			"encryption_passphrase: \"" + bmPassphrase + "\"\narchive_name_format: \"st-{now:%Y-%m-%dT%H:%M:%S.%f}\"\n" +
			"keep_within: 1d\n"
	}
	if err := os.WriteFile(filepath.Join(sys.Root(), path), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// setupSuite makes, in sys, a source tree with files only root may read,
// owned by a user below and one above 65535, a local repository and, with
// ssh, one behind an sshd of the root's own (made with the root's
// borgmatic), and gives root the client key and the server's host key. It
// returns the root's borgmatic and the configurations ("" for no ssh).
func setupSuite(t *testing.T, sys *transienttest.Systemd, ssh bool) (bm suiteBorgmatic, local, remote string) {
	t.Helper()
	bm = rootBorgmatic(t, sys)
	t.Cleanup(func() { sys.Output(context.Background(), "rm", "-rf", "/root/.ssh", stRoot) })
	suiteOutput(t, sys, `set -e
rm -rf `+stRoot+` `+bmStateDirs+` /root/.ssh
mkdir -p -m 0700 /root/.ssh `+stConfigDir+` `+stRoot+`/src/sub `+stRoot+`/src/lo `+stRoot+`/src/hi
echo one > `+stRoot+`/src/one
echo two > `+stRoot+`/src/sub/two
echo lo > `+stRoot+`/src/lo/file
echo hi > `+stRoot+`/src/hi/file
chmod 0600 `+stRoot+`/src/lo/file `+stRoot+`/src/hi/file
chmod 0700 `+stRoot+`/src/lo `+stRoot+`/src/hi
chown -R `+stOddOwnerLo+`:`+stOddOwnerLo+` `+stRoot+`/src/lo
chown -R `+stOddOwner+`:`+stOddOwner+` `+stRoot+`/src/hi
`)
	local = suiteConfig(t, sys, bm, "local", stRepo)
	configs := []string{local}
	if ssh {
		d, err := sys.StartSSHD(t.Context(), t.TempDir(), stSSHPort)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sys.Output(context.Background(), "systemctl", "stop", d.Unit) })
		key, err := os.ReadFile(d.IdentityFile)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sys.Root(), "/root/.ssh/id_ed25519"), key, 0o600); err != nil {
			t.Fatal(err)
		}
		known := "[127.0.0.1]:" + strconv.Itoa(stSSHPort) + " " + d.HostKey + "\n"
		if err := os.WriteFile(filepath.Join(sys.Root(), "/root/.ssh/known_hosts"), []byte(known), 0o600); err != nil {
			t.Fatal(err)
		}
		remote = suiteConfig(t, sys, bm, "ssh", "ssh://root@127.0.0.1:"+strconv.Itoa(stSSHPort)+stSSHRepo)
		configs = append(configs, remote)
	}
	for _, c := range configs {
		suiteOutput(t, sys, "borgmatic -c "+c+" "+bm.create+" --encryption repokey")
	}
	suiteOutput(t, sys, "rm -rf "+bmStateDirs)
	return bm, local, remote
}

// suiteArchives returns how many archives the repository at path holds and
// the files of the newest as "UID:GID path" lines, read directly (not over
// ssh), with borg state of its own.
func suiteArchives(t *testing.T, sys *transienttest.Systemd, path string) (int, string) {
	t.Helper()
	out := suiteOutput(t, sys, `set -e
export BORG_PASSPHRASE='`+bmPassphrase+`' BORG_BASE_DIR=`+stLister+` BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
names=$(borg list --short `+path+`)
echo "$names" | grep -c . || true
last=$(echo "$names" | tail -n 1)
[ -z "$last" ] || borg list --format '{uid}:{gid} {path}{NL}' `+path+`::"$last"
`)
	count, files, _ := strings.Cut(out, "\n")
	n, err := strconv.Atoi(count)
	if err != nil {
		t.Fatalf("archives of %s: %q", path, out)
	}
	return n, files
}

// suiteExposure bounds systemd-analyze security (the root's own) of the
// scheduled service, live, by systemd version, repository and profile.
// Measured: the same on 252, 254 and 257, which score none of 257's
// additions; 262 credits PrivateUsers=full with 0.2.
var suiteExposure = map[bool]map[string]float64{
	false: {"local/default": 1.0, "local/strict": 1.0, "ssh/default": 1.9, "ssh/strict": 1.8},
	true:  {"local/default": 0.8, "local/strict": 0.8, "ssh/default": 1.7, "ssh/strict": 1.6},
}

// TestBackupsOnEachSuite: on each suite, the root's own borgmatic and borg
// back up into a local repository and over ssh, under the default and
// strict profiles, scheduled and now, each run adding one archive that
// holds every source file with its real owner (files of a user ID above
// 65535 too: no profile may hide them). The scheduled service carries the
// protections of its manager's version and scores at most
// suiteExposure; exported, its files pass that root's systemd-analyze
// verify.
func TestBackupsOnEachSuite(t *testing.T) {
	for _, suite := range transienttest.Suites() {
		t.Run(suite.String(), func(t *testing.T) {
			sys := sandbox.GetSuite(t, suite)
			bm, local, remote := setupSuite(t, sys, true)
			v := suite.SystemdMajor()
			t.Logf("systemd %d, borgmatic %s, %s", v, bm.version, strings.TrimSpace(suiteOutput(t, sys, "borg --version")))
			for _, repo := range []struct{ name, config, path string }{{"local", local, stRepo}, {"ssh", remote, stSSHRepo}} {
				count := 0 // archives in the repository, -1 when not known
				for _, profile := range []string{"default", "strict"} {
					run := func(t *testing.T, start func(t *testing.T)) {
						suiteOutput(t, sys, "rm -rf "+bmStateDirs)
						before := count
						if before < 0 {
							before, _ = suiteArchives(t, sys, repo.path)
						}
						count = -1
						start(t)
						after, files := suiteArchives(t, sys, repo.path)
						count = after
						if after != before+1 {
							t.Errorf("archives: %d after the run, want %d", after, before+1)
						}
						for _, f := range []string{"0:0 " + strings.TrimPrefix(stRoot, "/") + "/src/sub/two",
							stOddOwnerLo + ":" + stOddOwnerLo + " " + strings.TrimPrefix(stRoot, "/") + "/src/lo/file",
							stOddOwner + ":" + stOddOwner + " " + strings.TrimPrefix(stRoot, "/") + "/src/hi/file"} {
							if !strings.Contains("\n"+files, "\n"+f+"\n") {
								t.Errorf("newest archive lacks %q:\n%s", f, files)
							}
						}
					}
					name := "st-" + repo.name + "-" + profile
					t.Run(repo.name+"/"+profile+"/schedule", func(t *testing.T) {
						t.Cleanup(func() {
							sys.Output(context.Background(), "systemctl", "stop", "borgrun-"+name+".timer", "borgrun-"+name+".service")
						})
						if stdout, stderr, code := borgrunIn(t, sys, nil, "schedule", "--daily", "--name", name, "--boot-delay", "0", "--allow-battery",
							"--hardening", profile, "--", "/usr/bin/borgmatic", "-c", repo.config); code != 0 {
							t.Fatalf("schedule: exit %d\n%s%s", code, stdout, stderr)
						}
						unit := "borgrun-" + name + ".service"
						checkVersionedProtections(t, sys, v, unit)
						out, _ := sys.Output(t.Context(), "systemd-analyze", "security", "--no-pager", unit)
						m := exposureRE.FindStringSubmatch(out)
						if m == nil {
							t.Fatalf("systemd-analyze security %s: no exposure in:\n%s", unit, out)
						}
						got, _ := strconv.ParseFloat(m[1], 64)
						t.Logf("exposure: %.1f", got)
						if limit := suiteExposure[v >= 258][repo.name+"/"+profile]; got > limit {
							t.Errorf("exposure %.1f, want at most %.1f", got, limit)
						}
						exportVerify(t, sys, name)
						run(t, func(t *testing.T) {
							if out, err := sys.Output(t.Context(), "systemctl", "start", unit); err != nil {
								logs, _ := sys.Output(context.Background(), "journalctl", "--no-pager", "-u", unit)
								t.Fatalf("systemctl start: %v\n%s\n%s", err, out, logs)
							}
						})
					})
					t.Run(repo.name+"/"+profile+"/now", func(t *testing.T) {
						run(t, func(t *testing.T) {
							args := []string{"now", "--name", name + "-now", "--hardening", profile, "--", "/usr/bin/borgmatic", "-c", repo.config, "--verbosity", "1"}
							if stdout, stderr, code := borgrunIn(t, sys, nil, args...); code != 0 {
								t.Fatalf("borgrun %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout, stderr)
							}
						})
					})
				}
			}
		})
	}
}

// checkVersionedProtections requires of unit the protections its
// manager's systemd version v has (see backup.SandboxOptions.Version), and
// never PrivatePIDs=.
func checkVersionedProtections(t *testing.T, sys *transienttest.Systemd, v int, unit string) {
	t.Helper()
	want := map[string]string{"PrivateTmp": "yes", "ProtectControlGroups": "yes", "ProtectHostname": "yes"}
	if v >= 257 {
		want = map[string]string{"PrivateTmpEx": "disconnected", "ProtectControlGroupsEx": "strict", "PrivatePIDs": "no",
			"PrivateUsersEx": "no", "ProtectHostname": "yes"}
	}
	if v >= 258 {
		want["PrivateUsersEx"] = "full"
	}
	names := make([]string, 0, len(want))
	for k := range want {
		names = append(names, k)
	}
	out, err := sys.Output(t.Context(), "systemctl", "show", unit, "--property="+strings.Join(names, ","))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if k, val, ok := strings.Cut(l, "="); ok {
			got[k] = val
		}
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %s=%q, want %q", unit, k, got[k], w)
		}
	}
}

// exportVerify exports the schedule name into a directory of sys and
// requires the root's own systemd-analyze verify to read the files
// without a word.
func exportVerify(t *testing.T, sys *transienttest.Systemd, name string) {
	t.Helper()
	dir := "/run/borgrun-suites-export/" + name
	suiteOutput(t, sys, "rm -rf "+dir+" && mkdir -p "+dir)
	if stdout, stderr, code := borgrunIn(t, sys, nil, "export", name, "--dir", dir); code != 0 {
		t.Fatalf("export: exit %d\n%s%s", code, stdout, stderr)
	}
	cmd := sys.Command(t.Context(), "systemd-analyze", "verify", dir+"/borgrun-"+name+".timer", dir+"/borgrun-"+name+".service")
	if out, err := cmd.CombinedOutput(); err != nil || len(out) != 0 {
		data, _ := os.ReadFile(filepath.Join(sys.Root(), dir, "borgrun-"+name+".service"))
		t.Errorf("systemd-analyze verify: %v\n%s\n%s", err, out, data)
	}
}

// TestPrivatePIDsBreaksHeldLocks shows why no profile uses PrivatePIDs=
// (systemd 257+), on trixie's systemd and borg: while another borg on the
// same machine (same borg host ID) holds the repository's lock, a job run
// under the default profile waits for it and fails, as borg should; the
// same job with PrivatePIDs=yes asks kill(pid, 0) about the holder inside
// its own PID namespace, gets ESRCH, takes the held lock for stale,
// deletes it and writes into the repository beside the holder. If this
// test fails because the job no longer breaks the lock, PrivatePIDs= may
// be worth another look.
func TestPrivatePIDsBreaksHeldLocks(t *testing.T) {
	sys := sandbox.GetSuite(t, transienttest.Trixie)
	_, local, _ := setupSuite(t, sys, false)
	jobs := map[string][]string{"st-pids-no": nil, "st-pids-yes": {"-p", "PrivatePIDs=yes"}}
	for name, extra := range jobs {
		t.Cleanup(func() {
			sys.Output(context.Background(), "systemctl", "stop", "borgrun-"+name+".timer", "borgrun-"+name+".service")
		})
		args := append(append([]string{"schedule", "--daily", "--name", name, "--boot-delay", "0", "--allow-battery"}, extra...),
			"--", "/usr/bin/borgmatic", "-c", local, "--verbosity", "1")
		if stdout, stderr, code := borgrunIn(t, sys, nil, args...); code != 0 {
			t.Fatalf("schedule: exit %d\n%s%s", code, stdout, stderr)
		}
	}
	env := suiteOutput(t, sys, "systemctl show -P Environment borgrun-st-pids-yes.service")
	hostID := ""
	for _, kv := range strings.Fields(env) {
		if v, ok := strings.CutPrefix(kv, "BORG_HOST_ID="); ok {
			hostID = v
		}
	}
	if hostID == "" {
		t.Fatalf("no BORG_HOST_ID in the local-only job's environment: %s", env)
	}
	before, _ := suiteArchives(t, sys, stRepo)
	// The holder: borg with-lock, as borg run by hand or by another job
	// on this machine; systemd-run returns once it holds the lock.
	holder := "st-lock-holder.service"
	t.Cleanup(func() { sys.Output(context.Background(), "systemctl", "stop", holder) })
	if out, err := sys.Output(t.Context(), "systemd-run", "--quiet", "--unit", holder, "--service-type=notify", "-p", "NotifyAccess=all",
		"-E", "BORG_HOST_ID="+hostID, "-E", "BORG_PASSPHRASE="+bmPassphrase, "-E", "BORG_BASE_DIR=/run/st-lock-holder",
		"/usr/bin/borg", "with-lock", stRepo, "/bin/sh", "-c", "systemd-notify --ready && exec sleep 600"); err != nil {
		t.Fatalf("lock holder: %v\n%s", err, out)
	}

	suiteOutput(t, sys, "rm -rf "+bmStateDirs)
	if _, err := sys.Output(t.Context(), "systemctl", "start", "borgrun-st-pids-no.service"); err == nil {
		t.Errorf("without PrivatePIDs=: the run succeeded while another borg held the lock")
	} else if logs := suiteOutput(t, sys, "journalctl --no-pager -u borgrun-st-pids-no.service"); !strings.Contains(logs, "Failed to create/acquire the lock") {
		t.Errorf("without PrivatePIDs=: the run failed, but not for the lock:\n%s", logs)
	}

	suiteOutput(t, sys, "rm -rf "+bmStateDirs)
	out, err := sys.Output(t.Context(), "systemctl", "start", "borgrun-st-pids-yes.service")
	logs := suiteOutput(t, sys, "journalctl --no-pager -u borgrun-st-pids-yes.service")
	if err != nil || !strings.Contains(logs, "Killed stale lock") {
		t.Fatalf("with PrivatePIDs=yes: want a run that breaks the held lock; got %v %s\n%s", err, out, logs)
	}
	if state := suiteOutput(t, sys, "systemctl show -P ActiveState "+holder); state != "active\n" {
		t.Errorf("lock holder %s: %q, want still active while its lock was broken", holder, state)
	}
	if after, _ := suiteArchives(t, sys, stRepo); after != before+1 {
		t.Errorf("archives: %d, want %d: the job wrote beside the lock's holder", after, before+1)
	}
}

// TestFleetVersions: with -H, each host's sandbox is rendered for that
// host's own systemd: one schedule on a 252 and a 262 machine gives each
// the protections its version has, and each scheduled service runs there.
func TestFleetVersions(t *testing.T) {
	suites := []transienttest.Suite{transienttest.Bookworm, transienttest.Forky}
	f := newSuiteFleet(t, suites)
	args := append([]string{"schedule", "--daily", "--name", "fleetv"}, hostArgs(f.addrs...)...)
	if stdout, stderr, code := f.borgrun(t, append(args, "--", "true")...); code != 0 || stderr != "" {
		t.Fatalf("schedule -H: exit %d\n%s%s", code, stdout, stderr)
	}
	for i, m := range f.machines {
		checkVersionedProtections(t, m, suites[i].SystemdMajor(), "borgrun-fleetv.service")
		if _, err := m.Output(t.Context(), "systemctl", "start", "borgrun-fleetv.service"); err != nil {
			t.Errorf("%s: a run of the scheduled service: %v", suites[i], err)
		}
	}
}
