package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/borgrun/borgrun/transient/transienttest"
)

// The user-manager tests run borgrun as an ordinary user, against that
// user's own service manager (--user), on each suite: the user backs up a
// directory of their home into a repository in their home.
const (
	umUser = "borgrun-user"
	umUID  = "2000"
	umHome = "/home/" + umUser
	umRepo = umHome + "/repo"
	umBin  = "/run/borgrun-usermgr/borgrun"
	// umWait bounds each command the tests run as the user, a backup
	// included.
	umWait = 3 * time.Minute
)

// umExposure bounds systemd-analyze --user security (the root's own) of
// the scheduled service, live, by systemd version (252 to 257 score the
// same; 262 scores a user service lower throughout) and profile.
var umExposure = map[bool]map[string]float64{
	false: {"default": 0.6, "strict": 0.6},
	true:  {"default": 0.3, "strict": 0.3},
}

// userManager makes the test user in sys (the root is an overlay on a
// tmpfs: the user is gone when sys is), starts their service manager and
// puts this binary where the user can run it. It returns a function that
// runs a command as that user, with the environment a login session has,
// each bounded by umWait.
func userManager(t *testing.T, sys *transienttest.Systemd) func(ctx context.Context, name string, args ...string) *exec.Cmd {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), umWait)
	defer cancel()
	if out, err := sys.Output(ctx, "/bin/sh", "-c", "id "+umUser+" >/dev/null 2>&1 || useradd -m -U -u "+umUID+" -s /bin/sh "+umUser+
		" && systemctl start user@"+umUID+".service && mkdir -p -m 0755 "+filepath.Dir(umBin)); err != nil {
		t.Fatalf("starting the user's manager: %v\n%s", err, out)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	// The test binary's own directory is root's alone (0700).
	if err := os.WriteFile(filepath.Join(sys.Root(), umBin), data, 0o755); err != nil {
		t.Fatal(err)
	}
	return func(ctx context.Context, name string, args ...string) *exec.Cmd {
		return sys.Command(ctx, "setpriv", append([]string{"--reuid=" + umUID, "--regid=" + umUID, "--init-groups",
			"env", "-i", "PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + umHome, "USER=" + umUser, "LOGNAME=" + umUser,
			"LC_ALL=C.UTF-8", "SYSTEMD_PAGER=cat", "SYSTEMD_COLORS=0", "XDG_RUNTIME_DIR=/run/user/" + umUID,
			"BORGRUN_TEST_MAIN=1", name}, args...)...)
	}
}

// TestUserManagerBackupsOnEachSuite: on each suite an ordinary user
// schedules a borgmatic backup of a directory of their home into a
// repository in their home on their own service manager (schedule --user)
// under the default and strict profiles: the sandbox probe passes, the
// service has a user namespace and no capabilities (also after a
// daemon-reload), scores at most umExposure, and both a run of the
// scheduled service and now --user add an archive holding the user's files
// with their owner. A command under the same profile cannot write to the
// home outside the paths it was given.
func TestUserManagerBackupsOnEachSuite(t *testing.T) {
	for _, suite := range transienttest.Suites() {
		t.Run(suite.String(), func(t *testing.T) {
			sys := sandbox.GetSuite(t, suite)
			as := userManager(t, sys)
			run := func(t *testing.T, name string, args ...string) (string, string, int) {
				t.Helper()
				ctx, cancel := context.WithTimeout(t.Context(), umWait)
				defer cancel()
				return runCapture(t, as(ctx, name, args...))
			}
			must := func(t *testing.T, script string) string {
				t.Helper()
				stdout, stderr, code := run(t, "/bin/sh", "-c", script)
				if code != 0 {
					t.Fatalf("as %s: %s: exit %d\n%s%s", umUser, script, code, stdout, stderr)
				}
				return stdout
			}
			bm := rootBorgmatic(t, sys)
			t.Logf("systemd %d, borgmatic %s", suite.SystemdMajor(), bm.version)
			var config string
			if bm.sections {
				config = "location:\n    source_directories:\n        - " + umHome + "/src\n    repositories:\n        - " + umRepo + "\n" +
					"storage:\n    encryption_passphrase: \"" + bmPassphrase + "\"\n    archive_name_format: \"um-{now:%Y-%m-%dT%H:%M:%S.%f}\"\n" +
					"retention:\n    keep_within: 1d\n"
			} else {
				config = "source_directories:\n    - " + umHome + "/src\nrepositories:\n    - path: " + umRepo + "\n" +
					"encryption_passphrase: \"" + bmPassphrase + "\"\narchive_name_format: \"um-{now:%Y-%m-%dT%H:%M:%S.%f}\"\n" +
					"keep_within: 1d\n"
			}
			must(t, `set -e
cd `+umHome+`
rm -rf src repo .cache .config .borgmatic .local outside
mkdir -p -m 0700 src/sub .config/borgmatic
echo one > src/one
echo two > src/sub/two
cat > .config/borgmatic/config.yaml <<'EOF'
`+config+`EOF
chmod 0600 .config/borgmatic/config.yaml
borgmatic `+bm.create+` --encryption repokey
rm -rf .cache .config/borg .borgmatic .local
`)
			cfg := umHome + "/.config/borgmatic/config.yaml"
			archives := func(t *testing.T) (int, string) {
				t.Helper()
				out := must(t, `set -e
export BORG_PASSPHRASE='`+bmPassphrase+`' BORG_BASE_DIR=/tmp/borgrun-user-lister BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
names=$(borg list --short `+umRepo+`)
echo "$names" | grep -c . || true
last=$(echo "$names" | tail -n 1)
[ -z "$last" ] || borg list --format '{uid}:{gid} {path}{NL}' `+umRepo+`::"$last"
`)
				count, files, _ := strings.Cut(out, "\n")
				n, err := strconv.Atoi(count)
				if err != nil {
					t.Fatalf("archives: %q", out)
				}
				return n, files
			}
			backup := func(t *testing.T, start func(t *testing.T)) {
				t.Helper()
				before, _ := archives(t)
				start(t)
				after, files := archives(t)
				if after != before+1 {
					t.Errorf("archives: %d after the run, want %d", after, before+1)
				}
				want := umUID + ":" + umUID + " " + strings.TrimPrefix(umHome, "/") + "/src/sub/two"
				if !strings.Contains("\n"+files, "\n"+want+"\n") {
					t.Errorf("newest archive lacks %q:\n%s", want, files)
				}
			}
			for _, profile := range []string{"default", "strict"} {
				name := "um-" + profile
				unit := "borgrun-" + name + ".service"
				t.Run(profile+"/schedule", func(t *testing.T) {
					t.Cleanup(func() {
						ctx, cancel := context.WithTimeout(context.Background(), umWait)
						defer cancel()
						as(ctx, "systemctl", "--user", "stop", "borgrun-"+name+".timer", unit).Run()
					})
					if stdout, stderr, code := run(t, umBin, "schedule", "--user", "--daily", "--name", name, "--boot-delay", "0",
						"--allow-battery", "--hardening", profile, "--", "/usr/bin/borgmatic", "-c", cfg); code != 0 {
						t.Fatalf("schedule --user: exit %d\n%s%s", code, stdout, stderr)
					}
					show := func() string {
						return must(t, "systemctl --user show -p PrivateUsers -p CapabilityBoundingSet -p ProtectKernelModules -p PrivateDevices -p ProtectSystem "+unit)
					}
					const want = "PrivateUsers=yes\nCapabilityBoundingSet=\nProtectKernelModules=yes\nPrivateDevices=yes\nProtectSystem=strict\n"
					if got := show(); !sameLines(got, want) {
						t.Errorf("%s:\n%s\nwant\n%s", unit, got, want)
					}
					must(t, "systemctl --user daemon-reload")
					if got := show(); !sameLines(got, want) {
						t.Errorf("%s after daemon-reload:\n%s\nwant\n%s", unit, got, want)
					}
					out, _, _ := run(t, "systemd-analyze", "--user", "security", "--no-pager", unit)
					m := exposureRE.FindStringSubmatch(out)
					if m == nil {
						t.Fatalf("systemd-analyze --user security %s: no exposure in:\n%s", unit, out)
					}
					got, _ := strconv.ParseFloat(m[1], 64)
					t.Logf("exposure: %.1f", got)
					if limit := umExposure[suite.SystemdMajor() >= 258][profile]; got > limit {
						t.Errorf("exposure %.1f, want at most %.1f\n%s", got, limit, out)
					}
					backup(t, func(t *testing.T) {
						if stdout, stderr, code := run(t, "systemctl", "--user", "start", unit); code != 0 {
							logs, _, _ := run(t, "journalctl", "--no-pager", "--user-unit", unit)
							t.Fatalf("systemctl --user start: exit %d\n%s%s\n%s", code, stdout, stderr, logs)
						}
					})
				})
				t.Run(profile+"/now", func(t *testing.T) {
					backup(t, func(t *testing.T) {
						if stdout, stderr, code := run(t, umBin, "now", "--user", "--name", name+"-now", "--hardening", profile,
							"--", "/usr/bin/borgmatic", "-c", cfg, "--verbosity", "1"); code != 0 {
							t.Fatalf("now --user: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
						}
					})
					// The sandbox holds: the home is read-only but for the
					// paths the job was given.
					if _, stderr, code := run(t, umBin, "now", "--user", "--name", name+"-ro", "--hardening", profile,
						"--", "/usr/bin/touch", umHome+"/outside"); code == 0 {
						t.Errorf("now --user: a command wrote to the home outside its paths (%q)", stderr)
					}
					if _, err := os.Stat(filepath.Join(sys.Root(), umHome, "outside")); err == nil {
						t.Errorf("%s/outside exists", umHome)
					}
				})
			}
		})
	}
}

// sameLines reports whether a and b hold the same lines, in any order.
func sameLines(a, b string) bool {
	la, lb := strings.Split(strings.TrimSpace(a), "\n"), strings.Split(strings.TrimSpace(b), "\n")
	if len(la) != len(lb) {
		return false
	}
	seen := map[string]int{}
	for _, l := range la {
		seen[l]++
	}
	for _, l := range lb {
		if seen[l]--; seen[l] < 0 {
			return false
		}
	}
	return true
}

// TestUserManagerApplies records what a user's own manager can apply to
// a service of that user on each suite, which the user-manager profile
// (backup.Sandbox.UserManager) rests on: a capability bounding set never
// without a user namespace of the service's own (218/CAPABILITIES), on 252
// neither the protections that shrink the bounding set (those imply the
// namespace from 254 on); with PrivateUsers=yes all of them; never
// PrivateUsers=identity (257) or full (258), which need the manager to map
// other users (217/USER). Every other setting of the profiles, raising the
// nice level and lowering the CPU and IO scheduling classes included,
// applies on its own.
func TestUserManagerApplies(t *testing.T) {
	settings := []string{"NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=read-only", "PrivateTmp=yes",
		"PrivateMounts=yes", "ProtectKernelTunables=yes", "ProtectKernelModules=yes", "ProtectKernelLogs=yes",
		"ProtectControlGroups=yes", "ProtectClock=yes", "ProtectHostname=yes", "ProtectProc=invisible", "ProcSubset=pid",
		"RestrictNamespaces=time", "RestrictRealtime=yes", "RestrictSUIDSGID=yes", "LockPersonality=yes",
		"SystemCallArchitectures=native", "SystemCallFilter=@system-service", "SystemCallFilter=~@privileged @resources",
		"MemoryDenyWriteExecute=yes", "PrivateDevices=yes", "PrivateNetwork=yes", "RestrictAddressFamilies=AF_UNIX",
		"IPAddressDeny=any", "KeyringMode=private", "UMask=0077", "CapabilityBoundingSet=",
		"CapabilityBoundingSet=CAP_DAC_READ_SEARCH CAP_FOWNER", "AmbientCapabilities=CAP_DAC_READ_SEARCH",
		"Nice=19", "CPUSchedulingPolicy=batch", "CPUSchedulingPolicy=idle", "IOSchedulingClass=idle"}
	for _, suite := range transienttest.Suites() {
		t.Run(suite.String(), func(t *testing.T) {
			sys := sandbox.GetSuite(t, suite)
			as := userManager(t, sys)
			v := suite.SystemdMajor()
			fails := map[string]string{ // without PrivateUsers=yes
				"CapabilityBoundingSet=": "218", "CapabilityBoundingSet=CAP_DAC_READ_SEARCH CAP_FOWNER": "218",
				"AmbientCapabilities=CAP_DAC_READ_SEARCH": "218",
			}
			if v < 254 {
				for _, s := range []string{"ProtectKernelModules=yes", "ProtectKernelLogs=yes", "ProtectClock=yes", "PrivateDevices=yes"} {
					fails[s] = "218"
				}
			}
			alone := map[string]string{} // PrivateUsers= values, on their own
			if v >= 257 {
				alone["PrivateUsersEx=identity"] = "217"
				alone["PrivateUsersEx=self"] = ""
			}
			if v >= 258 {
				alone["PrivateUsers=full"] = "217"
			}
			status := func(t *testing.T, ps ...string) string {
				t.Helper()
				args := []string{"run", "--user", "--wait"}
				for _, p := range ps {
					args = append(args, "-p", p)
				}
				ctx, cancel := context.WithTimeout(t.Context(), umWait)
				defer cancel()
				_, stderr, code := runCapture(t, as(ctx, umBin, append(args, "/bin/true")...))
				if code == 0 {
					return ""
				}
				// "code=exited/status=218" (252, 254), "code=exited,
				// status=218/CAPABILITIES" (257+).
				if m := reExitStatus.FindStringSubmatch(stderr); m != nil {
					return m[1]
				}
				t.Fatalf("borgrun run --user %s: exit %d: %s", strings.Join(ps, " "), code, stderr)
				return ""
			}
			for _, s := range settings {
				if got := status(t, s); got != fails[s] {
					t.Errorf("%s alone: status %q, want %q", s, got, fails[s])
				}
				if got := status(t, "PrivateUsers=yes", s); got != "" {
					t.Errorf("%s with PrivateUsers=yes: status %q, want success", s, got)
				}
			}
			for s, want := range alone {
				if got := status(t, s); got != want {
					t.Errorf("%s: status %q, want %q", s, got, want)
				}
			}
		})
	}
}

// reExitStatus finds the status in the summary's "Main processes
// terminated with" line, in every version's form.
var reExitStatus = regexp.MustCompile(`code=exited(?:/|, )status=(\d+)`)
