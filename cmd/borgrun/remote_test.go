package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/borgrun/borgrun/transient/transienttest"
)

// sshRepo is a borg repository behind an sshd inside the sandbox, on
// loopback, reached as a real root client reaches one: with its key in
// ~/.ssh/id_ed25519 and the server's host key in ~/.ssh/known_hosts.
type sshRepo struct {
	sshd *transienttest.SSHD
	// url is ssh://root@127.0.0.1:PORT/PATH.
	url string
	// path is the repository's directory inside the sandbox.
	path string
}

// The ssh tests each run their own sshd, on their own port.
const (
	sshPortProfiles   = 2301
	sshPortKnownHosts = 2302
	sshPortExposure   = 2303
)

// setupSSHRepository starts an sshd on port, gives root the client key
// and a known_hosts with the server's key, and makes a repository there
// with borgmatic init over ssh, after setupBorgmatic. It leaves no borg
// state behind, as on a machine where borg has never run.
func setupSSHRepository(t *testing.T, port int) *sshRepo {
	t.Helper()
	setupBorgmatic(t)
	sys := sandbox.Get(t)
	if _, err := os.Stat("/usr/sbin/sshd"); err != nil {
		skipUnlessRequired(t, "sshd: %v (apt-get install openssh-server)", err)
	}
	d, err := sys.StartSSHD(t.Context(), t.TempDir(), port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sys.Output(context.Background(), "systemctl", "stop", d.Unit) })
	ssh := filepath.Join(sys.Root(), "/root/.ssh")
	if err := os.MkdirAll(ssh, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(ssh) })
	key, err := os.ReadFile(d.IdentityFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ssh, "id_ed25519"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	writeKnownHosts(t, d)
	r := &sshRepo{sshd: d, path: bmRoot + "/ssh-" + strconv.Itoa(port)}
	r.url = "ssh://root@127.0.0.1:" + strconv.Itoa(port) + r.path
	config := writeSSHConfig(t, r, "init", "", "")
	if out, err := sys.Output(t.Context(), "/usr/bin/borgmatic", "-c", config, "init", "--encryption", "repokey"); err != nil {
		t.Fatalf("borgmatic init over ssh: %v\n%s", err, out)
	}
	freshState(t)
	return r
}

// writeKnownHosts makes root's known_hosts hold exactly d's host key.
func writeKnownHosts(t *testing.T, d *transienttest.SSHD) {
	t.Helper()
	line := "[127.0.0.1]:" + strconv.Itoa(d.Port) + " " + d.HostKey + "\n"
	if err := os.WriteFile(filepath.Join(sandbox.Get(t).Root(), "/root/.ssh/known_hosts"), []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
}

// writeSSHConfig writes a borgmatic 1.7 configuration named name that
// backs up the source tree into r, with extra storage: and hooks: lines,
// and returns its path inside the sandbox.
func writeSSHConfig(t *testing.T, r *sshRepo, name, storage, hooks string) string {
	t.Helper()
	path := "/etc/borgrun-test/ssh-" + name + ".yaml"
	config := `location:
    source_directories:
        - ` + bmRoot + `/src
    repositories:
        - ` + r.url + `
storage:
    encryption_passphrase: "` + bmPassphrase + `"
    archive_name_format: "bm-{now:%Y-%m-%dT%H:%M:%S.%f}"
` + storage + `retention:
    keep_within: 1d
`
	if hooks != "" {
		config += "hooks:\n" + hooks
	}
	if err := os.WriteFile(filepath.Join(sandbox.Get(t).Root(), path), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// archivesIn returns the archive names in the repository at path, read
// directly (not over ssh) with state of its own, so the jobs' state and
// known hosts stay as the jobs left them.
func archivesIn(t *testing.T, path string) []string {
	t.Helper()
	cmd := sandbox.Get(t).Command(t.Context(), "/usr/bin/borg", "list", "--short", path)
	cmd.Env = append(cmd.Env, "BORG_PASSPHRASE="+bmPassphrase, "HOME=/root",
		"BORG_BASE_DIR=/run/borgrun-test-lister", "BORG_RELOCATED_REPO_ACCESS_IS_OK=yes")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("borg list %s: %v\n%s", path, err, out)
	}
	return strings.Fields(string(out))
}

// startScheduled starts a scheduled job's service as its timer would and
// waits for it; a failed run fails the test with the unit's journal.
func startScheduled(t *testing.T, name string) {
	t.Helper()
	sys := sandbox.Get(t)
	if out, err := sys.Output(t.Context(), "systemctl", "start", "borgrun-"+name+".service"); err != nil {
		logs, _ := sys.Output(t.Context(), "journalctl", "--no-pager", "-u", "borgrun-"+name+".service")
		t.Fatalf("systemctl start: %v\n%s\n%s", err, out, logs)
	}
}

// TestBorgmaticSSHRepository: real borgmatic backs up over ssh into a
// repository on the sandbox's own sshd, with its default actions (create,
// prune, compact, check), under the default and strict profiles, run now
// and as a scheduled service; the scheduled service's exposure is at most
// 1.9 under default, and strict is tighter. strict pins the address of a
// repository named by host name as resolved when the unit is made, and
// the pinning is real: with the address taken off the allow list, the
// same run cannot connect.
func TestBorgmaticSSHRepository(t *testing.T) {
	r := setupSSHRepository(t, sshPortProfiles)
	sys := sandbox.Get(t)
	config := writeSSHConfig(t, r, "profiles", "", "")
	exposures := map[string]float64{}
	for _, tt := range []struct {
		profile string
		max     float64
		props   map[string]string
	}{
		{"default", 1.9, map[string]string{"PrivateNetwork": "no", "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6 AF_NETLINK",
			"IPAddressAllow": "", "SystemCallFilter": "~"}},
		// 1.8 live, 1.7 offline: systemd 252's live assessment counts
		// only "localhost" itself as a localhost entry, not 127.0.0.1.
		{"strict", 1.8, map[string]string{"PrivateNetwork": "no", "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
			"IPAddressAllow": "127.0.0.1/32", "IPAddressDeny": "0.0.0.0/0 ::/0", "ProcSubset": "pid"}},
	} {
		t.Run(tt.profile+"/now", func(t *testing.T) {
			freshState(t)
			before := len(archivesIn(t, r.path))
			args := []string{"now", "--name", "bm-ssh-" + tt.profile, "--hardening", tt.profile, "--", "/usr/bin/borgmatic", "-c", config, "--verbosity", "1"}
			stdout, stderr, code := borgrun(t, args...)
			if code != 0 {
				t.Fatalf("borgrun %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout, stderr)
			}
			if got := len(archivesIn(t, r.path)); got != before+1 {
				t.Errorf("archives: %d after the run, want %d", got, before+1)
			}
		})
		t.Run(tt.profile+"/scheduled", func(t *testing.T) {
			name := "bmssh-" + tt.profile
			cleanupJob(t, name)
			if stdout, stderr, code := borgrun(t, "schedule", "--daily", "--name", name, "--boot-delay", "0", "--allow-battery",
				"--hardening", tt.profile, "--", "/usr/bin/borgmatic", "-c", config); code != 0 {
				t.Fatalf("schedule: exit %d\n%s%s", code, stdout, stderr)
			}
			unit := "borgrun-" + name + ".service"
			names := make([]string, 0, len(tt.props))
			for k := range tt.props {
				names = append(names, k)
			}
			got := showProps(t, unit, names...)
			for k, want := range tt.props {
				if k == "SystemCallFilter" {
					// Deny-list entries are shown as the allow list
					// minus them: setuid is in @privileged.
					if strings.Contains(" "+got[k]+" ", " setuid ") {
						t.Errorf("SystemCallFilter allows setuid (@privileged): %.200s…", got[k])
					}
					continue
				}
				// systemctl show prints these sets in no fixed order.
				g, w := strings.Fields(got[k]), strings.Fields(want)
				slices.Sort(g)
				slices.Sort(w)
				if !slices.Equal(g, w) {
					t.Errorf("%s = %q, want %q", k, got[k], want)
				}
			}
			live := exposure(t, unit)
			exposures[tt.profile] = live
			t.Logf("exposure of an ssh-repository borgmatic job under the %s profile: %.1f", tt.profile, live)
			if live > tt.max {
				t.Errorf("exposure %.1f, want at most %.1f", live, tt.max)
			}
			freshState(t)
			before := len(archivesIn(t, r.path))
			startScheduled(t, name)
			if got := len(archivesIn(t, r.path)); got != before+1 {
				t.Errorf("archives: %d after the scheduled run, want %d", got, before+1)
			}
		})
	}
	if exposures["strict"] >= exposures["default"] {
		t.Errorf("strict exposure %.1f, default %.1f: want strict tighter", exposures["strict"], exposures["default"])
	}
	t.Run("strict-by-host-name", func(t *testing.T) {
		// The repository named by host name: strict resolves it when the
		// unit is made.
		byName := &sshRepo{url: strings.Replace(r.url, "127.0.0.1", "localhost", 1), path: r.path}
		config := writeSSHConfig(t, byName, "by-name", "", "")
		known := filepath.Join(sys.Root(), "/root/.ssh/known_hosts")
		line := "[localhost]:" + strconv.Itoa(sshPortProfiles) + " " + r.sshd.HostKey + "\n"
		f, err := os.OpenFile(known, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.WriteString(line)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
		name := "bmssh-strict-by-name"
		cleanupJob(t, name)
		if stdout, stderr, code := borgrun(t, "schedule", "--daily", "--name", name, "--boot-delay", "0", "--allow-battery",
			"--hardening", "strict", "--", "/usr/bin/borgmatic", "-c", config); code != 0 {
			t.Fatalf("schedule: exit %d\n%s%s", code, stdout, stderr)
		}
		allow := strings.Fields(showProps(t, "borgrun-"+name+".service", "IPAddressAllow")["IPAddressAllow"])
		t.Logf("strict pins %q for localhost", allow)
		if !slices.Contains(allow, "127.0.0.1/32") {
			t.Errorf("IPAddressAllow = %q, want localhost's 127.0.0.1/32 among them", allow)
		}
		freshState(t)
		before := len(archivesIn(t, r.path))
		startScheduled(t, name)
		if got := len(archivesIn(t, r.path)); got != before+1 {
			t.Errorf("archives: %d after the scheduled run, want %d", got, before+1)
		}
	})
	t.Run("strict-without-the-pinned-address", func(t *testing.T) {
		freshState(t)
		// The dropped packets would leave ssh waiting for minutes.
		config := writeSSHConfig(t, r, "unpinned", "    ssh_command: ssh -o ConnectTimeout=3\n", "")
		args := []string{"now", "--name", "bm-ssh-unpinned", "--hardening", "strict", "-p", "IPAddressAllow=", "--", "/usr/bin/borgmatic", "-c", config, "--verbosity", "1"}
		stdout, stderr, code := borgrun(t, args...)
		if code == 0 {
			t.Fatalf("borgrun %s: exit 0, want a failure to connect\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), stdout, stderr)
		}
		// ssh's own line does not always make it through borg.
		if !strings.Contains(stderr, "port "+strconv.Itoa(sshPortProfiles)+": Connection timed out") && !strings.Contains(stderr, "Connection closed by remote host") {
			t.Errorf("stderr does not say ssh could not connect:\n%s", stderr)
		}
	})
}

// TestRelaxKnownHosts: with an empty known_hosts and ssh set to accept a
// new host key (StrictHostKeyChecking=accept-new), the default profile's
// read-only home keeps ssh from recording the key, so every run would
// trust whatever key it is shown; with --relax known-hosts the first run
// records the server's key, in an existing empty file or in one it
// creates, and a later run that checks the key strictly works under the
// default profile.
func TestRelaxKnownHosts(t *testing.T) {
	r := setupSSHRepository(t, sshPortKnownHosts)
	sys := sandbox.Get(t)
	config := writeSSHConfig(t, r, "accept-new", "    ssh_command: ssh -o StrictHostKeyChecking=accept-new\n", "")
	strictConfig := writeSSHConfig(t, r, "known-hosts-strict", "", "")
	known := filepath.Join(sys.Root(), "/root/.ssh/known_hosts")
	for _, tt := range []struct {
		name   string
		args   []string
		config string
		// missing starts with no known_hosts, else an empty one; keep
		// keeps what the previous case left.
		missing, keep bool
		// recorded: whether known_hosts holds the server's key after.
		recorded bool
		// warn is in the run's output.
		warn string
	}{
		{name: "default", config: config, warn: "Failed to add the host to the list of known hosts"},
		{name: "relaxed", args: []string{"--relax", "known-hosts"}, config: config, recorded: true},
		{name: "relaxed-missing-file", args: []string{"--relax", "known-hosts"}, config: config, missing: true, recorded: true},
		{name: "then-strictly-checked", config: strictConfig, keep: true, recorded: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			switch {
			case tt.keep:
			case tt.missing:
				if err := os.Remove(known); err != nil {
					t.Fatal(err)
				}
			default:
				if err := os.WriteFile(known, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			freshState(t)
			before := len(archivesIn(t, r.path))
			args := append(append([]string{"now", "--name", "bm-kh-" + tt.name}, tt.args...), "--", "/usr/bin/borgmatic", "-c", tt.config, "--verbosity", "1")
			stdout, stderr, code := borgrun(t, args...)
			if code != 0 {
				t.Fatalf("borgrun %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout, stderr)
			}
			if got := len(archivesIn(t, r.path)); got != before+1 {
				t.Errorf("archives: %d after the run, want %d", got, before+1)
			}
			data, err := os.ReadFile(known)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(string(data), r.sshd.HostKey); got != tt.recorded {
				t.Errorf("known_hosts holds the server's key: %v, want %v\nknown_hosts: %q\nstderr:\n%s", got, tt.recorded, data, stderr)
			}
			if fi, err := os.Stat(known); err != nil {
				t.Error(err)
			} else if fi.Mode().Perm() != 0o600 {
				t.Errorf("known_hosts: mode %v, want 0600", fi.Mode())
			}
			if tt.warn != "" && !strings.Contains(stderr, tt.warn) {
				t.Errorf("stderr lacks %q:\n%s", tt.warn, stderr)
			}
		})
	}
}
