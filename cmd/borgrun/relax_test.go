package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeLocalConfig writes a borgmatic 1.7 configuration named name that
// backs up sources into the local test repository, with hooks: lines, and
// returns its path inside the sandbox.
func writeLocalConfig(t *testing.T, name string, sources []string, hooks string) string {
	t.Helper()
	path := "/etc/borgrun-test/" + name + ".yaml"
	config := "location:\n    source_directories:\n"
	for _, s := range sources {
		config += "        - " + s + "\n"
	}
	config += `    repositories:
        - ` + bmRepo + `
storage:
    encryption_passphrase: "` + bmPassphrase + `"
    archive_name_format: "bm-{now:%Y-%m-%dT%H:%M:%S.%f}"
retention:
    keep_within: 1d
hooks:
` + hooks
	if err := os.WriteFile(filepath.Join(sandbox.Get(t).Root(), path), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// relaxCase is one run of a relaxation test: a job run now with args,
// which fails (with want in its stderr) or adds an archive.
type relaxCase struct {
	name string
	args []string
	fail string
}

// runRelaxCases runs each case's job now with config under the default
// profile, on fresh state.
func runRelaxCases(t *testing.T, config string, cases []relaxCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			backupNow(t, tt.name, tt.args, config, tt.fail)
		})
	}
}

// TestRelaxWX: a hook that maps memory writable and executable (as JITs
// and cffi callbacks do) fails under the default profile's
// MemoryDenyWriteExecute=yes, and the backup works with --relax wx.
func TestRelaxWX(t *testing.T) {
	setupBorgmatic(t)
	config := writeLocalConfig(t, "wx", []string{bmRoot + "/src"}, `    before_backup:
        - /usr/bin/python3 -c "import mmap; mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)"
`)
	runRelaxCases(t, config, []relaxCase{
		{"wx-default", nil, "PermissionError"},
		{"wx-relaxed", []string{"--relax", "wx"}, ""},
	})
}

// TestRelaxSnapshots: a hook doing what filesystem snapshot hooks do —
// mount a snapshot (here a bind mount of the sources) under the runtime
// directory and read a block device — fails under the default profile
// and works with --relax snapshots, and the archive holds the files from
// the mounted snapshot.
func TestRelaxSnapshots(t *testing.T) {
	setupBorgmatic(t)
	sys := sandbox.Get(t)
	// A block device the sandbox's /dev lacks: loop0, 7:0 (reading an
	// unattached loop device gives its size, 0).
	dev := "/dev/borgrun-test-loop0"
	if out, err := sys.Output(t.Context(), "mknod", "-m", "0600", dev, "b", "7", "0"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Cleanup(func() { os.Remove(filepath.Join(sys.Root(), dev)) })
	snap := "/run/borgrun/bm-snapshots-relaxed/snapshot"
	config := writeLocalConfig(t, "snapshots", []string{snap}, `    before_backup:
        - mkdir -p "$RUNTIME_DIRECTORY/snapshot" && mount -n --bind `+bmRoot+`/src "$RUNTIME_DIRECTORY/snapshot" && blockdev --getsize64 `+dev+`
`)
	runRelaxCases(t, config, []relaxCase{
		{"snapshots-default", nil, "mount"},
		{"snapshots-relaxed", []string{"--relax", "snapshots"}, ""},
	})
	if t.Failed() {
		return
	}
	list := archives(t)
	cmd := sys.Command(t.Context(), "/usr/bin/borg", "list", "--short", bmRepo+"::"+list[len(list)-1])
	cmd.Env = append(cmd.Env, "BORG_PASSPHRASE="+bmPassphrase, "HOME=/root")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("borg list: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), strings.TrimPrefix(snap, "/")+"/sub/two") {
		t.Errorf("the archive lacks the snapshot's files:\n%s", out)
	}
}

// TestRelaxationExposure: the scheduled service's exposure for an ssh
// repository and for a local one, under each profile and relaxation, is
// at most what the README lists.
func TestRelaxationExposure(t *testing.T) {
	setupBorgmatic(t)
	remote := writeSSHConfig(t, &sshRepo{url: "ssh://root@127.0.0.1:2399" + bmRoot + "/ssh-exposure"}, "exposure", "", "")
	for _, tt := range []struct {
		name   string
		config string
		args   []string
		max    float64
	}{
		{"remote-default", remote, nil, 1.9},
		{"remote-strict", remote, []string{"--hardening=strict"}, 1.8},
		{"remote-known-hosts", remote, []string{"--relax", "known-hosts"}, 1.9},
		{"remote-wx", remote, []string{"--relax", "wx"}, 1.9},
		{"remote-snapshots", remote, []string{"--relax", "snapshots"}, 2.8},
		{"remote-all", remote, []string{"--relax", "known-hosts,wx", "--relax", "snapshots"}, 2.8},
		{"remote-strict-snapshots", remote, []string{"--hardening=strict", "--relax", "snapshots"}, 2.7},
		{"local-default", bmConfig, nil, 1.0},
		{"local-strict", bmConfig, []string{"--hardening=strict"}, 1.0},
		{"local-wx", bmConfig, []string{"--relax", "wx"}, 1.0},
		{"local-snapshots", bmConfig, []string{"--relax", "snapshots"}, 1.9},
	} {
		t.Run(tt.name, func(t *testing.T) {
			name := "bmexp-" + tt.name
			cleanupJob(t, name)
			args := append(append([]string{"schedule", "--daily", "--name", name}, tt.args...), "--", "/usr/bin/borgmatic", "-c", tt.config)
			if stdout, stderr, code := borgrun(t, args...); code != 0 {
				t.Fatalf("schedule: exit %d\n%s%s", code, stdout, stderr)
			}
			live := exposure(t, "borgrun-"+name+".service")
			t.Logf("exposure %s: %.1f", tt.name, live)
			if live > tt.max {
				t.Errorf("exposure %.1f, want at most %.1f", live, tt.max)
			}
		})
	}
}
