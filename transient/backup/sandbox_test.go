package backup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/borgrun/borgrun/props"
)

func TestRemoteRepository(t *testing.T) {
	for _, tt := range []struct {
		repo   string
		remote bool
	}{
		{"/mnt/backup/repo", false},
		{"relative/repo", false},
		{"file:///mnt/backup/repo", false},
		{"/mnt/odd:name", false},
		{"ssh://user@host:22/./repo", true},
		{"ssh://host/~/repo", true},
		{"user@host:repo", true},
		{"host:/srv/repo", true},
		{"sftp://host/repo", true},
		{"rclone:remote:path", true},
		{"s3:bucket/repo", true},
		{"dir/sub:x", false},
	} {
		if got := RemoteRepository(tt.repo); got != tt.remote {
			t.Errorf("RemoteRepository(%q) = %v, want %v", tt.repo, got, tt.remote)
		}
	}
}

func TestLocalRepositoryPath(t *testing.T) {
	for _, tt := range []struct{ repo, dir, want string }{
		{"/mnt/repo/", "/", "/mnt/repo"},
		{"file:///mnt/repo", "/", "/mnt/repo"},
		{"repo", "/srv", "/srv/repo"},
		{"/mnt/{hostname}/repo", "/", "/mnt"},
		{"/mnt/repo-{hostname}", "/", "/mnt"},
	} {
		if got := localRepositoryPath(tt.repo, tt.dir); got != tt.want {
			t.Errorf("localRepositoryPath(%q, %q) = %q, want %q", tt.repo, tt.dir, got, tt.want)
		}
	}
}

// writeFiles writes name→content under dir and returns dir.
func writeFiles(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestBorgmaticConfigFiles(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{
		"a.yaml":                             "",
		"d/one.yaml":                         "",
		"d/two.yml":                          "",
		"d/notes.txt":                        "",
		"home/.config/borgmatic/config.yaml": "",
		"home/.config/borgmatic.d/x.yaml":    "",
	})
	home := filepath.Join(dir, "home")
	a, d := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "d")
	for _, tt := range []struct {
		name    string
		argv    []string
		want    []string
		wantErr string
	}{
		{"defaults", []string{"borgmatic"}, []string{home + "/.config/borgmatic/config.yaml", home + "/.config/borgmatic.d/x.yaml"}, ""},
		{"-c file", []string{"borgmatic", "-c", a, "create"}, []string{a}, ""},
		{"-c list then flag", []string{"borgmatic", "-c", a, d, "--verbosity", "1"}, []string{a, d + "/one.yaml", d + "/two.yml"}, ""},
		{"--config=", []string{"borgmatic", "--config=" + a}, []string{a}, ""},
		{"action ends the list", []string{"borgmatic", "--config", a, "prune"}, []string{a}, ""},
		{"missing named file", []string{"borgmatic", "-c", dir + "/nope.yaml"}, nil, "nope.yaml"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := BorgmaticConfigFiles(tt.argv, home)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// /etc may hold a real configuration on the test machine.
			got = slices.DeleteFunc(got, func(s string) bool { return strings.HasPrefix(s, "/etc/") })
			if !slices.Equal(got, tt.want) {
				t.Errorf("files = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadBorgmaticConfig(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{
		// borgmatic 1.7: sections.
		"old.yaml": `location:
    source_directories: [/home]
    repositories:
        - /mnt/backup/repo
        - 'user@host:repo'
    borgmatic_source_directory: ~/bm
storage:
    borg_cache_directory: ${CACHE:-/var/cache/borg}
    temporary_directory: ${TMP}/borg
hooks:
    healthchecks: https://hc.example/x
    before_backup: []
`,
		// borgmatic 1.8+: flat, repositories as maps, !include.
		"new.yaml": `source_directories: [/home]
repositories:
    - path: ssh://host/./repo
      label: remote
<<: !include common.yaml
postgresql_databases:
    - name: all
`,
		"common.yaml": "user_state_directory: /var/lib/borgmatic-state\n",
		"bad.yaml":    "repositories: /not/a/list\n",
		"empty.yaml":  "",
	})
	env := func(k string) (string, bool) {
		v, ok := map[string]string{"TMP": "/scratch"}[k]
		return v, ok
	}
	for _, tt := range []struct {
		file    string
		repos   []string
		options map[string]string
		hooks   []string
		wantErr string
	}{
		{"old.yaml", []string{"/mnt/backup/repo", "user@host:repo"},
			map[string]string{"borgmatic_source_directory": "/root/bm", "borg_cache_directory": "/var/cache/borg", "temporary_directory": "/scratch/borg"},
			[]string{"before_backup", "healthchecks"}, ""},
		{"new.yaml", []string{"ssh://host/./repo"}, map[string]string{"user_state_directory": "/var/lib/borgmatic-state"}, []string{"postgresql_databases"}, ""},
		{"bad.yaml", nil, nil, nil, "repositories: want a list"},
		{"empty.yaml", nil, nil, nil, "empty"},
		{"missing.yaml", nil, nil, nil, "missing.yaml"},
	} {
		t.Run(tt.file, func(t *testing.T) {
			c, err := ReadBorgmaticConfig(filepath.Join(dir, tt.file), env, "/root")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), tt.file) {
					t.Fatalf("err = %v, want one naming %s and %q", err, tt.file, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Repositories, tt.repos) {
				t.Errorf("repositories = %q, want %q", c.Repositories, tt.repos)
			}
			if len(c.Options) != len(tt.options) {
				t.Errorf("options = %q, want %q", c.Options, tt.options)
			}
			for k, v := range tt.options {
				if c.Options[k] != v {
					t.Errorf("option %s = %q, want %q", k, c.Options[k], v)
				}
			}
			if !slices.Equal(c.NetworkHooks, tt.hooks) {
				t.Errorf("network hooks = %q, want %q", c.NetworkHooks, tt.hooks)
			}
		})
	}
}

// writablePaths returns the paths of s made writable, and those created.
func writablePaths(s *Sandbox) (writable, created []string) {
	for _, p := range s.Paths {
		if p.Writable {
			writable = append(writable, p.Path)
		}
		if p.Create {
			created = append(created, p.Path)
		}
	}
	return writable, created
}

func TestDeriveSandbox(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{
		"local.yaml":  "location:\n    repositories: [/mnt/backup/repo]\n",
		"remote.yaml": "location:\n    repositories: ['user@host:repo']\n",
		"hooks.yaml":  "location:\n    repositories: [/mnt/backup/repo]\nhooks:\n    ntfy: {topic: x}\n",
		"based.yaml":  "location:\n    repositories: [/mnt/backup/repo]\nstorage:\n    borg_base_directory: /var/lib/borg\n",
		"khfile.yaml": "location:\n    repositories: ['user@host:repo']\nstorage:\n    ssh_command: ssh -o UserKnownHostsFile=~/.ssh/borg_hosts -o StrictHostKeyChecking=accept-new\n",
		"a-file":      "",
	})
	bm := func(config string) []string { return []string{"/usr/bin/borgmatic", "-c", filepath.Join(dir, config)} }
	borgEnv := []string{"HOME=/root", "BORG_CACHE_DIR=/root/.cache/borg", "BORG_CONFIG_DIR=/root/.config/borg",
		"BORG_SECURITY_DIR=/root/.config/borg/security", "BORG_KEYS_DIR=/root/.config/borg/keys"}
	for _, tt := range []struct {
		name     string
		o        SandboxOptions
		network  bool
		env      []string
		writable []string
		created  []string
		repos    []string
		wantErr  string
	}{
		{name: "local borgmatic 1.7",
			o:        SandboxOptions{Profile: ProfileDefault, Command: bm("local.yaml"), Home: "/root", BorgmaticVersion: "1.7.7", BorgVersion: "borg 1.2.4", HostID: "h@id"},
			env:      append(slices.Clone(borgEnv), "BORG_HOST_ID=h@id"),
			writable: []string{"/root/.cache/borg", "/root/.config/borg/security", "/root/.borgmatic", "/mnt/backup/repo"},
			created:  []string{"/root/.cache/borg", "/root/.config/borg/security", "/root/.config/borg/keys", "/root/.borgmatic"},
			repos:    []string{"/mnt/backup/repo"}},
		{name: "borgmatic 1.9 state directory",
			o:        SandboxOptions{Profile: ProfileDefault, Command: bm("local.yaml"), Home: "/root", BorgmaticVersion: "1.9.14", BorgVersion: "borg 1.2.4"},
			env:      borgEnv,
			writable: []string{"/root/.cache/borg", "/root/.config/borg/security", "/root/.local/state/borgmatic", "/mnt/backup/repo"},
			created:  []string{"/root/.cache/borg", "/root/.config/borg/security", "/root/.config/borg/keys", "/root/.local/state/borgmatic"},
			repos:    []string{"/mnt/backup/repo"}},
		{name: "borgmatic 1.9 under a user manager: its runtime directory in $XDG_RUNTIME_DIR",
			o: SandboxOptions{Profile: ProfileDefault, Command: bm("local.yaml"), Home: "/home/u", BorgmaticVersion: "1.9.14", BorgVersion: "borg 1.4.0",
				UserManager: true, RuntimeDir: "/run/user/1000"},
			env: []string{"HOME=/home/u", "BORG_CACHE_DIR=/home/u/.cache/borg", "BORG_CONFIG_DIR=/home/u/.config/borg",
				"BORG_SECURITY_DIR=/home/u/.config/borg/security", "BORG_KEYS_DIR=/home/u/.config/borg/keys"},
			writable: []string{"/home/u/.cache/borg", "/home/u/.config/borg/security", "/home/u/.local/state/borgmatic", "/run/user/1000/borgmatic", "/mnt/backup/repo"},
			created:  []string{"/home/u/.cache/borg", "/home/u/.config/borg/security", "/home/u/.config/borg/keys", "/home/u/.local/state/borgmatic", "/run/user/1000/borgmatic"},
			repos:    []string{"/mnt/backup/repo"}},
		{name: "remote repository needs the network",
			o:        SandboxOptions{Profile: ProfileDefault, Command: bm("remote.yaml"), Home: "/root", BorgmaticVersion: "1.7.7", BorgVersion: "borg 1.2.4", HostID: "h@id"},
			network:  true,
			env:      borgEnv,
			writable: []string{"/root/.cache/borg", "/root/.config/borg/security", "/root/.borgmatic"},
			created:  []string{"/root/.cache/borg", "/root/.config/borg/security", "/root/.config/borg/keys", "/root/.borgmatic"}},
		{name: "monitoring hook needs the network",
			o:        SandboxOptions{Profile: ProfileDefault, Command: bm("hooks.yaml"), Home: "/root", BorgmaticVersion: "1.7.7", BorgVersion: "borg 1.2.4"},
			network:  true,
			env:      borgEnv,
			writable: []string{"/root/.cache/borg", "/root/.config/borg/security", "/root/.borgmatic", "/mnt/backup/repo"},
			created:  []string{"/root/.cache/borg", "/root/.config/borg/security", "/root/.config/borg/keys", "/root/.borgmatic"},
			repos:    []string{"/mnt/backup/repo"}},
		{name: "a moved borg base directory is not overridden",
			o:        SandboxOptions{Profile: ProfileDefault, Command: bm("based.yaml"), Home: "/root", BorgmaticVersion: "1.7.7", BorgVersion: "borg 1.2.4"},
			env:      []string{"HOME=/root"},
			writable: []string{"/var/lib/borg/.cache/borg", "/var/lib/borg/.config/borg/security", "/root/.borgmatic", "/mnt/backup/repo"},
			created:  []string{"/var/lib/borg/.cache/borg", "/var/lib/borg/.config/borg/security", "/var/lib/borg/.config/borg/keys", "/root/.borgmatic"},
			repos:    []string{"/mnt/backup/repo"}},
		{name: "the job's environment wins",
			o: SandboxOptions{Profile: ProfileDefault, Command: []string{"/usr/bin/borg", "create"}, Home: "/root", BorgVersion: "borg 1.2.4",
				Environment: []string{"BORG_BASE_DIR=/b", "BORG_CACHE_DIR=/c"}},
			network:  true,
			env:      []string{"HOME=/root", "BORG_CONFIG_DIR=/b/.config/borg", "BORG_SECURITY_DIR=/b/.config/borg/security", "BORG_KEYS_DIR=/b/.config/borg/keys"},
			writable: []string{"/c", "/b/.config/borg/security"},
			created:  []string{"/c", "/b/.config/borg/security", "/b/.config/borg/keys"}},
		{name: "borg 2 keeps its security directory in its data directory",
			o:        SandboxOptions{Profile: ProfileDefault, Command: bm("local.yaml"), Home: "/root", BorgmaticVersion: "1.7.7", BorgVersion: "borg 2.0.0b14"},
			env:      []string{"HOME=/root", "BORG_CACHE_DIR=/root/.cache/borg", "BORG_CONFIG_DIR=/root/.config/borg", "BORG_SECURITY_DIR=/root/.local/share/borg/security", "BORG_KEYS_DIR=/root/.config/borg/keys"},
			writable: []string{"/root/.cache/borg", "/root/.local/share/borg/security", "/root/.borgmatic", "/mnt/backup/repo"},
			created:  []string{"/root/.cache/borg", "/root/.local/share/borg/security", "/root/.config/borg/keys", "/root/.borgmatic"},
			repos:    []string{"/mnt/backup/repo"}},
		{name: "unknown borg: both versions' directories, only agreed names pinned",
			o:        SandboxOptions{Profile: ProfileDefault, Command: bm("local.yaml"), Home: "/root", BorgmaticVersion: "1.7.7"},
			env:      []string{"HOME=/root", "BORG_CACHE_DIR=/root/.cache/borg", "BORG_CONFIG_DIR=/root/.config/borg", "BORG_KEYS_DIR=/root/.config/borg/keys"},
			writable: []string{"/root/.cache/borg", "/root/.config/borg/security", "/root/.local/share/borg/security", "/root/.borgmatic", "/mnt/backup/repo"},
			created:  []string{"/root/.cache/borg", "/root/.config/borg/security", "/root/.config/borg/keys", "/root/.local/share/borg/security", "/root/.borgmatic"},
			repos:    []string{"/mnt/backup/repo"}},
		{name: "another command gets nothing derived",
			o:        SandboxOptions{Profile: ProfileStrict, Command: []string{"/bin/sh"}, Home: "/root", Writable: []string{"/var/tmp/x", filepath.Join(dir, "a-file")}},
			network:  true,
			writable: []string{"/var/tmp/x", filepath.Join(dir, "a-file")},
			created:  []string{"/var/tmp/x"}},
		{name: "known-hosts relaxation",
			o:        SandboxOptions{Profile: ProfileDefault, Command: bm("remote.yaml"), Home: "/root", BorgmaticVersion: "1.7.7", BorgVersion: "borg 1.2.4", Relax: []Relaxation{RelaxKnownHosts}},
			network:  true,
			env:      borgEnv,
			writable: []string{"/root/.cache/borg", "/root/.config/borg/security", "/root/.borgmatic", "/root/.ssh/known_hosts"},
			created:  []string{"/root/.cache/borg", "/root/.config/borg/security", "/root/.config/borg/keys", "/root/.borgmatic", "/root/.ssh"}},
		{name: "known-hosts relaxation, file named in ssh_command",
			o:        SandboxOptions{Profile: ProfileDefault, Command: bm("khfile.yaml"), Home: "/root", BorgmaticVersion: "1.7.7", BorgVersion: "borg 1.2.4", Relax: []Relaxation{RelaxKnownHosts}},
			network:  true,
			env:      borgEnv,
			writable: []string{"/root/.cache/borg", "/root/.config/borg/security", "/root/.borgmatic", "/root/.ssh/borg_hosts"},
			created:  []string{"/root/.cache/borg", "/root/.config/borg/security", "/root/.config/borg/keys", "/root/.borgmatic", "/root/.ssh"}},
		{name: "known-hosts relaxation without a home",
			o:       SandboxOptions{Profile: ProfileDefault, Command: []string{"/bin/sh"}, Relax: []Relaxation{RelaxKnownHosts}},
			wantErr: `known hosts file ".ssh/known_hosts" is not absolute`},
		{name: "a relaxation with profile off",
			o:       SandboxOptions{Profile: ProfileOff, Command: bm("remote.yaml"), Relax: []Relaxation{RelaxWX}},
			wantErr: `relaxation "wx": nothing to relax with profile off`},
		{name: "relative --writable",
			o:       SandboxOptions{Profile: ProfileDefault, Command: []string{"/bin/sh"}, Writable: []string{"var/x"}},
			wantErr: `writable path "var/x": must be absolute`},
		{name: "--writable under a file",
			o:       SandboxOptions{Profile: ProfileDefault, Command: []string{"/bin/sh"}, Writable: []string{filepath.Join(dir, "a-file", "x")}},
			wantErr: "is not a directory"},
		{name: "missing -c file",
			o:       SandboxOptions{Profile: ProfileDefault, Command: bm("nope.yaml"), Home: "/root"},
			wantErr: "nope.yaml"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := DeriveSandbox(tt.o)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Network != tt.network {
				t.Errorf("network = %v, want %v", s.Network, tt.network)
			}
			if !slices.Equal(s.Environment, tt.env) {
				t.Errorf("environment = %q, want %q", s.Environment, tt.env)
			}
			w, c := writablePaths(s)
			if !slices.Equal(w, tt.writable) {
				t.Errorf("writable = %q, want %q", w, tt.writable)
			}
			if !slices.Equal(c, tt.created) {
				t.Errorf("created = %q, want %q", c, tt.created)
			}
			if !slices.Equal(s.Repositories, tt.repos) {
				t.Errorf("repositories = %q, want %q", s.Repositories, tt.repos)
			}
		})
	}
}

// TestSandboxAssignments: every profile renders to assignments that
// systemd-run's language accepts, with the network settings its derivation
// chose.
func TestSandboxAssignments(t *testing.T) {
	paths := []SandboxPath{{Path: "/root/.cache/borg", Writable: true, Create: true}, {Path: "/mnt/repo", Writable: true}, {Path: "/k", Create: true}}
	for _, tt := range []struct {
		name      string
		s         Sandbox
		want, not []string
	}{
		{"off", Sandbox{Profile: ProfileOff, Network: true, Paths: paths}, nil, []string{"ProtectSystem=strict"}},
		{"default, network", Sandbox{Profile: ProfileDefault, Name: "n", Network: true, Paths: paths, Repositories: []string{"/mnt/repo"}, Environment: []string{"HOME=/root"}},
			[]string{"ProtectSystem=strict", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK", "RuntimeDirectory=borgrun/n",
				"SystemCallFilter=@system-service", "SystemCallFilter=~@privileged @resources", "MemoryDenyWriteExecute=yes",
				"PrivateDevices=yes", "CapabilityBoundingSet=CAP_DAC_READ_SEARCH CAP_FOWNER",
				`Environment="HOME=/root"`, `ExecStartPre=/bin/mkdir -p -m 0700 -- "/root/.cache/borg" "/k"`, "PermissionsStartOnly=yes", "RestrictNamespaces=time",
				`ReadWritePaths=-"/root/.cache/borg"`, `ReadWritePaths=-"/mnt/repo"`, `RequiresMountsFor="/mnt/repo"`},
			[]string{"PrivateNetwork=yes", "IPAddress", "ProcSubset=", `ReadWritePaths=-"/k"`, "ExecStartPre=/bin/touch", "ExecStartPre=+", "RestrictNamespaces=yes"}},
		{"strict, local", Sandbox{Profile: ProfileStrict, Network: false},
			[]string{"PrivateNetwork=yes", "RestrictAddressFamilies=AF_UNIX", "IPAddressDeny=any", "SystemCallFilter=~@privileged @resources", "ProcSubset=pid"},
			[]string{"ExecStartPre=", "ReadWritePaths=", "RestrictAddressFamilies=AF_UNIX AF_INET"}},
		{"strict, pinned", Sandbox{Profile: ProfileStrict, Network: true, AllowedAddresses: []string{"192.0.2.7", "2001:db8::7"}},
			[]string{"RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "IPAddressDeny=any", "IPAddressAllow=192.0.2.7 2001:db8::7", "ProcSubset=pid"},
			[]string{"PrivateNetwork=", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK"}},
		{"strict, unpinned", Sandbox{Profile: ProfileStrict, Network: true},
			[]string{"RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "ProcSubset=pid"},
			[]string{"PrivateNetwork=", "IPAddress"}},
		{"strict with snapshots", Sandbox{Profile: ProfileStrict, Network: false, Relax: []Relaxation{RelaxSnapshots}},
			[]string{"PrivateNetwork=yes", "SystemCallFilter=@system-service @mount", "PrivateDevices=no"},
			[]string{"ProcSubset=", "SystemCallFilter=~"}},
		{"relaxed", Sandbox{Profile: ProfileDefault, Network: true, Relax: []Relaxation{RelaxWX, RelaxSnapshots},
			Paths: []SandboxPath{{Path: "/root/.ssh", Create: true}, {Path: "/root/.ssh/known_hosts", Writable: true, CreateFile: true}}},
			[]string{"CapabilityBoundingSet=CAP_DAC_READ_SEARCH CAP_FOWNER CAP_SYS_ADMIN", "PrivateDevices=no", "DeviceAllow=block-* rw",
				"SystemCallFilter=@system-service @mount", `ExecStartPre=/bin/mkdir -p -m 0700 -- "/root/.ssh"`,
				`ExecStartPre=/bin/touch -a -- "/root/.ssh/known_hosts"`, "PermissionsStartOnly=yes", `ReadWritePaths=-"/root/.ssh/known_hosts"`},
			[]string{"MemoryDenyWriteExecute=", "PrivateDevices=yes", "SystemCallFilter=~"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.s.Assignments()
			if _, err := props.ParseAll(props.Service, a); err != nil {
				t.Fatalf("assignments do not parse: %v", err)
			}
			for _, w := range tt.want {
				if !slices.Contains(a, w) {
					t.Errorf("assignments lack %q:\n%s", w, strings.Join(a, "\n"))
				}
			}
			for _, n := range tt.not {
				if slices.ContainsFunc(a, func(s string) bool { return strings.HasPrefix(s, n) }) {
					t.Errorf("assignments have %q", n)
				}
			}
		})
	}
	if a := PassphraseAssignments("/etc/pp"); len(a) != 2 {
		t.Errorf("PassphraseAssignments = %q", a)
	} else if _, err := props.ParseAll(props.Service, a); err != nil {
		t.Errorf("PassphraseAssignments do not parse: %v", err)
	}
}

func TestParseRelaxations(t *testing.T) {
	for _, tt := range []struct {
		values  []string
		want    []Relaxation
		wantErr string
	}{
		{nil, nil, ""},
		{[]string{"wx"}, []Relaxation{RelaxWX}, ""},
		{[]string{"snapshots,wx", "known-hosts", "wx"}, []Relaxation{RelaxKnownHosts, RelaxWX, RelaxSnapshots}, ""},
		{[]string{"wx, snapshots"}, []Relaxation{RelaxWX, RelaxSnapshots}, ""},
		{[]string{"wx,bogus"}, nil, `relaxation "bogus": want known-hosts, wx, snapshots`},
		{[]string{""}, nil, `relaxation "": want`},
		{[]string{"WX"}, nil, `relaxation "WX"`},
	} {
		got, err := ParseRelaxations(tt.values)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseRelaxations(%q): err %v, want one containing %q", tt.values, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParseRelaxations(%q) = %q, %v; want %q", tt.values, got, err, tt.want)
		}
	}
}

func TestSSHRepositoryHost(t *testing.T) {
	for _, tt := range []struct{ repo, host string }{
		{"ssh://root@127.0.0.1:2222/srv/repo", "127.0.0.1"},
		{"ssh://backup.example/./repo", "backup.example"},
		{"ssh://u@[2001:db8::7]:22/repo", "2001:db8::7"},
		{"user@host.example:repo", "host.example"},
		{"host:/srv/repo", "host"},
		{"u@[2001:db8::7]:/repo", "2001:db8::7"},
		{"/mnt/repo", ""},
		{"file:///mnt/repo", ""},
		{"sftp://host/repo", ""},
		{"rclone:remote:path", ""},
	} {
		if got := sshRepositoryHost(tt.repo); got != tt.host {
			t.Errorf("sshRepositoryHost(%q) = %q, want %q", tt.repo, got, tt.host)
		}
	}
}

// TestStrictPinning: strict pins the addresses of a job's ssh
// repositories (and the name servers when a name was resolved), and pins
// nothing when the job may talk to peers it cannot tell.
func TestStrictPinning(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{
		"ip.yaml":     "location:\n    repositories: ['ssh://root@192.0.2.7:2222/srv/repo', /mnt/local]\n",
		"name.yaml":   "location:\n    repositories: ['backup@host.example:repo']\n",
		"hooks.yaml":  "location:\n    repositories: ['ssh://192.0.2.7/repo']\nhooks:\n    healthchecks: https://hc.example/x\n",
		"proxy.yaml":  "location:\n    repositories: ['ssh://192.0.2.7/repo']\nstorage:\n    ssh_command: ssh -J bastion\n",
		"rclone.yaml": "location:\n    repositories: ['ssh://192.0.2.7/repo', 'rclone:remote:path']\n",
		"bad.yaml":    "location:\n    repositories: ['ssh://nowhere.invalid/repo']\n",
	})
	resolve := func(host string) ([]string, error) {
		if host == "host.example" {
			return []string{"198.51.100.1", "2001:db8::1"}, nil
		}
		return nil, errors.New("no such host")
	}
	for _, tt := range []struct {
		config  string
		profile Profile
		resolve func(string) ([]string, error)
		want    []string
		wantErr string
	}{
		{"ip.yaml", ProfileStrict, nil, []string{"192.0.2.7"}, ""},
		{"name.yaml", ProfileStrict, resolve, []string{"198.51.100.1", "2001:db8::1", "127.0.0.53"}, ""},
		{"name.yaml", ProfileStrict, nil, nil, ""},
		{"name.yaml", ProfileDefault, resolve, nil, ""},
		{"hooks.yaml", ProfileStrict, resolve, nil, ""},
		{"proxy.yaml", ProfileStrict, resolve, nil, ""},
		{"rclone.yaml", ProfileStrict, resolve, nil, ""},
		{"bad.yaml", ProfileStrict, resolve, nil, `host "nowhere.invalid" does not resolve`},
	} {
		t.Run(tt.config+"/"+string(tt.profile), func(t *testing.T) {
			s, err := DeriveSandbox(SandboxOptions{Profile: tt.profile, Command: []string{"/usr/bin/borgmatic", "-c", filepath.Join(dir, tt.config)},
				Home: "/root", BorgmaticVersion: "1.7.7", Resolve: tt.resolve, Nameservers: []string{"127.0.0.53"}})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s.AllowedAddresses, tt.want) {
				t.Errorf("allowed addresses = %q, want %q", s.AllowedAddresses, tt.want)
			}
		})
	}
}

func TestBorgMajor(t *testing.T) {
	for _, tt := range []struct {
		version string
		want    int
	}{
		{"borg 1.2.4", 1},
		{"borg 1.4.3", 1},
		{"1.1.18", 1},
		{"borg 2.0.0", 2},
		{"borg 2.0.1", 2},
		{"borg 2.1.0", 2},
		{"borg 2.0.0b6", 2},
		{"borg 2.0.0b14", 2},
		{"borg 2.0.0b23.dev4+g1234abc", 2},
		{"borg 2.0.0rc1", 2},
		// Pre-releases with rules of their own, and nonsense.
		{"borg 2.0.0b5", 0},
		{"borg 2.0.0a4", 0},
		{"borg 2.0.0.dev0", 0},
		{"borg 3.0.0", 0},
		{"", 0},
		{"borg: command not found", 0},
	} {
		if got := BorgMajor(tt.version); got != tt.want {
			t.Errorf("BorgMajor(%q) = %d, want %d", tt.version, got, tt.want)
		}
	}
}

// TestBorgDirs: borg 1.x's and borg 2's directory rules, case by case as
// borg's own tests (src/borg/testsuite/helpers/fs_test.py) state them for
// Linux.
func TestBorgDirs(t *testing.T) {
	home := map[string]string{"HOME": "/home/u"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{"HOME": "/home/u"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tt := range []struct {
		name   string
		env    map[string]string
		v1, v2 borgPaths
	}{
		{"defaults", home,
			borgPaths{"1.x", "/home/u/.cache/borg", "/home/u/.config/borg", "/home/u/.config/borg/security", "/home/u/.config/borg/keys"},
			borgPaths{"2", "/home/u/.cache/borg", "/home/u/.config/borg", "/home/u/.local/share/borg/security", "/home/u/.config/borg/keys"}},
		{"XDG homes", with("XDG_CACHE_HOME", "/x/c", "XDG_CONFIG_HOME", "/x/g", "XDG_DATA_HOME", "/x/d"),
			borgPaths{"1.x", "/x/c/borg", "/x/g/borg", "/x/g/borg/security", "/x/g/borg/keys"},
			borgPaths{"2", "/x/c/borg", "/x/g/borg", "/x/d/borg/security", "/x/g/borg/keys"}},
		// platformdirs ignores a blank XDG variable; borg 1.x uses it
		// as it is (a relative cache directory).
		{"blank XDG_CACHE_HOME", with("XDG_CACHE_HOME", " "),
			borgPaths{"1.x", " /borg", "/home/u/.config/borg", "/home/u/.config/borg/security", "/home/u/.config/borg/keys"},
			borgPaths{"2", "/home/u/.cache/borg", "/home/u/.config/borg", "/home/u/.local/share/borg/security", "/home/u/.config/borg/keys"}},
		// BORG_BASE_DIR wins over the XDG variables in both; in borg 2
		// it also holds the data directory.
		{"BORG_BASE_DIR", with("BORG_BASE_DIR", "/b", "XDG_CACHE_HOME", "/x/c", "XDG_DATA_HOME", "/x/d"),
			borgPaths{"1.x", "/b/.cache/borg", "/b/.config/borg", "/b/.config/borg/security", "/b/.config/borg/keys"},
			borgPaths{"2", "/b/.cache/borg", "/b/.config/borg", "/b/.local/share/borg/security", "/b/.config/borg/keys"}},
		{"BORG_DATA_DIR is borg 2's only", with("BORG_DATA_DIR", "/d"),
			borgPaths{"1.x", "/home/u/.cache/borg", "/home/u/.config/borg", "/home/u/.config/borg/security", "/home/u/.config/borg/keys"},
			borgPaths{"2", "/home/u/.cache/borg", "/home/u/.config/borg", "/d/security", "/home/u/.config/borg/keys"}},
		{"BORG_CONFIG_DIR moves keys, and security in 1.x", with("BORG_CONFIG_DIR", "/g"),
			borgPaths{"1.x", "/home/u/.cache/borg", "/g", "/g/security", "/g/keys"},
			borgPaths{"2", "/home/u/.cache/borg", "/g", "/home/u/.local/share/borg/security", "/g/keys"}},
		{"explicit names win", with("BORG_BASE_DIR", "/b", "BORG_CACHE_DIR", "/c", "BORG_SECURITY_DIR", "/s", "BORG_KEYS_DIR", "/k"),
			borgPaths{"1.x", "/c", "/b/.config/borg", "/s", "/k"},
			borgPaths{"2", "/c", "/b/.config/borg", "/s", "/k"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := borgDirs(tt.env); got != tt.v1 {
				t.Errorf("borg 1.x: %+v, want %+v", got, tt.v1)
			}
			if got := borg2Dirs(tt.env); got != tt.v2 {
				t.Errorf("borg 2: %+v, want %+v", got, tt.v2)
			}
		})
	}
}

// TestSandboxVersions: the sandbox adds the protections of the manager's
// systemd version, in a form props accepts for exactly that version (and
// no older one), and never PrivatePIDs= or ProtectHostname=private; a job
// renders its sandbox again for the version of the manager it meets.
func TestSandboxVersions(t *testing.T) {
	for _, tt := range []struct {
		name      string
		s         Sandbox
		want, not []string
	}{
		{"unknown", Sandbox{Profile: ProfileDefault, Network: true},
			[]string{"ProtectControlGroups=yes", "PrivateTmp=yes"}, []string{"PrivateUsers", "ProtectControlGroupsEx", "PrivateTmpEx"}},
		{"256", Sandbox{Profile: ProfileDefault, Network: true, Version: props.V256},
			[]string{"ProtectControlGroups=yes", "PrivateTmp=yes"}, []string{"PrivateUsers", "ProtectControlGroupsEx", "PrivateTmpEx"}},
		{"257", Sandbox{Profile: ProfileDefault, Network: true, Version: props.V257},
			[]string{"ProtectControlGroupsEx=strict", "PrivateTmpEx=disconnected"}, []string{"PrivateUsers", "ProtectControlGroups=", "PrivateTmp="}},
		{"258", Sandbox{Profile: ProfileStrict, Network: false, Version: props.V258},
			[]string{"ProtectControlGroups=strict", "PrivateTmp=disconnected", "PrivateUsers=full"}, []string{"ProtectControlGroupsEx", "PrivateTmpEx", "ProtectControlGroups=yes", "PrivateTmp=yes"}},
		{"262, snapshots", Sandbox{Profile: ProfileDefault, Network: true, Version: props.V262, Relax: []Relaxation{RelaxSnapshots}},
			[]string{"ProtectControlGroups=strict", "PrivateTmp=disconnected"}, []string{"PrivateUsers"}},
		{"262, user manager", Sandbox{Profile: ProfileDefault, Network: true, Version: props.V262, UserManager: true},
			[]string{"ProtectControlGroups=strict", "PrivateUsers=yes", "CapabilityBoundingSet=", "KeyringMode=private"},
			[]string{"PrivateUsers=full", "PrivateUsersEx", "CapabilityBoundingSet=CAP"}},
		{"252, user manager", Sandbox{Profile: ProfileStrict, Network: false, UserManager: true},
			[]string{"PrivateUsers=yes", "CapabilityBoundingSet=", "KeyringMode=private", "ProtectKernelModules=yes", "ProtectClock=yes", "PrivateDevices=yes", "ProcSubset=pid"},
			[]string{"CapabilityBoundingSet=CAP", "AmbientCapabilities"}},
		{"262, off", Sandbox{Profile: ProfileOff, Network: true, Version: props.V262}, nil, []string{"Private", "Protect"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.s.Assignments()
			v := tt.s.Version
			if v == 0 {
				v = props.OldestVersion
			}
			if _, err := props.ParseAllFor(v, props.Service, a); err != nil {
				t.Errorf("assignments do not parse for %s: %v", v, err)
			}
			if v == props.V257 || v == props.V258 {
				if _, err := props.ParseAllFor(v-1, props.Service, a); err == nil {
					t.Errorf("assignments for %s parse for %s too: nothing newer is used", v, v-1)
				}
			}
			for _, w := range tt.want {
				if !slices.Contains(a, w) {
					t.Errorf("assignments lack %q:\n%s", w, strings.Join(a, "\n"))
				}
			}
			for _, n := range append(tt.not, "PrivatePIDs", "ProtectHostname=private") {
				if slices.ContainsFunc(a, func(s string) bool { return strings.HasPrefix(s, n) }) {
					t.Errorf("assignments have %q", n)
				}
			}
		})
	}

	sb := &Sandbox{Profile: ProfileDefault, Network: true, Paths: []SandboxPath{{Path: "/root/.cache/borg", Writable: true, Create: true}}}
	pass := PassphraseAssignments("/etc/pp")
	b := &Job{Name: "n", Command: []string{"/usr/bin/borgmatic"}, Calendars: []string{"daily"}, Sandbox: sb, Hardening: pass}
	names := func(v props.Version) []string {
		ps, err := b.Service(v, "oneshot")
		if err != nil {
			t.Fatalf("Service(%d): %v", v, err)
		}
		var n []string
		for _, p := range ps {
			n = append(n, p.Name+"="+fmt.Sprint(p.Value.Value()))
		}
		return n
	}
	if n := names(props.V258); !slices.Contains(n, "PrivateUsersEx=full") && !slices.Contains(n, "PrivateUsers=true") {
		t.Errorf("Service(258) lacks PrivateUsers=full: %q", n)
	}
	if n := names(props.V257); slices.ContainsFunc(n, func(s string) bool { return strings.HasPrefix(s, "PrivateUsers") }) || !slices.Contains(n, "PrivateTmpEx=disconnected") {
		t.Errorf("Service(257): %q, want PrivateTmpEx=disconnected and no PrivateUsers", n)
	}
	if n := names(props.V252); slices.Contains(n, "PrivateTmpEx=disconnected") {
		t.Errorf("Service(252) has 257's PrivateTmpEx: %q", n)
	}
	if sb.Version != 0 {
		t.Errorf("rendering for a version changed the sandbox")
	}
	for _, v := range []props.Version{props.V252, props.V257, props.V258} {
		if err := b.CheckSchedule(v); err != nil {
			t.Errorf("CheckSchedule(%d): %v", v, err)
		}
	}
	// The fingerprint is the definition's, whichever manager runs it.
	fp := b.Fingerprint()
	c := *b
	csb := *sb
	csb.Version = props.V262
	c.Sandbox = &csb
	if c.Fingerprint() != fp {
		t.Errorf("the fingerprint depends on the sandbox's version")
	}
	if !slices.Equal(b.ServiceAssignments("oneshot")[len(b.ServiceAssignments("oneshot"))-len(pass)-1:len(b.ServiceAssignments("oneshot"))-1], pass) {
		t.Errorf("the passphrase's assignments do not follow the sandbox's")
	}
}

// TestUserManagerRefusesSnapshots: snapshot hooks need CAP_SYS_ADMIN,
// which a user's own manager has none of to give.
func TestUserManagerRefusesSnapshots(t *testing.T) {
	_, err := DeriveSandbox(SandboxOptions{Profile: ProfileDefault, Name: "n", Command: []string{"/bin/true"}, Home: "/home/u",
		UserManager: true, Relax: []Relaxation{RelaxSnapshots}})
	if err == nil || !strings.Contains(err.Error(), "system manager") {
		t.Fatalf("DeriveSandbox: %v, want an error naming the system manager", err)
	}
	if _, err := DeriveSandbox(SandboxOptions{Profile: ProfileDefault, Name: "n", Command: []string{"/bin/true"}, Home: "/home/u",
		Relax: []Relaxation{RelaxSnapshots}}); err != nil {
		t.Fatalf("the system manager's snapshots: %v", err)
	}
}
