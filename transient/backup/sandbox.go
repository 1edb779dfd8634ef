package backup

import (
	"fmt"
	"io/fs"
	"maps"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/borgrun/borgrun/props"
)

// Profile names a sandboxing profile: how tightly a backup's service is
// confined (borgrun's --hardening).
type Profile string

const (
	// ProfileDefault confines the service as root with only the
	// capabilities borg needs, a read-only system and home with exactly
	// the paths borg and borgmatic write made writable, no privileged or
	// resource-control system calls, and no network when every
	// repository is local.
	ProfileDefault Profile = "default"
	// ProfileStrict is ProfileDefault with only the processes' own
	// entries in /proc (ProcSubset=pid, unless relaxed for snapshots), no
	// netlink sockets, and, when the job's only network peers are its ssh
	// repositories, the network cut down to their addresses (resolved
	// when the unit is made) and the name servers (IPAddressDeny=any,
	// IPAddressAllow=).
	ProfileStrict Profile = "strict"
	// ProfileOff adds no sandboxing at all.
	ProfileOff Profile = "off"
)

// ParseProfile returns the profile named s.
func ParseProfile(s string) (Profile, error) {
	switch p := Profile(s); p {
	case ProfileDefault, ProfileStrict, ProfileOff:
		return p, nil
	}
	return "", fmt.Errorf("profile %q: want default, strict or off", s)
}

// baseProfile is the confinement every profile but off starts from
// (systemd.exec(5); the reasons are in the project's hardening notes).
// It scores 1.9 in systemd-analyze security with network access, 1.0
// without. The capability set, PrivateDevices=, MemoryDenyWriteExecute=
// and the system call filter are not in it: [Sandbox.Assignments] adds
// them, loosened by the job's relaxations.
var baseProfile = []string{
	"NoNewPrivileges=yes",
	"ProtectSystem=strict",
	// Sources under /home and /root stay readable, ~/.ssh too.
	"ProtectHome=read-only",
	"PrivateTmp=yes",
	"PrivateMounts=yes",
	"ProtectKernelTunables=yes",
	"ProtectKernelModules=yes",
	"ProtectKernelLogs=yes",
	"ProtectControlGroups=yes",
	"ProtectClock=yes",
	"ProtectHostname=yes",
	// Lock checks use kill(pid, 0), which works on invisible processes.
	"ProtectProc=invisible",
	// No namespaces but time ones, which need CAP_SYS_ADMIN and only
	// shift clocks. Not "yes": systemd 252 writes that into the transient
	// unit's file as an empty RestrictNamespaces=, which a daemon-reload
	// reads back as "no".
	"RestrictNamespaces=time",
	"RestrictRealtime=yes",
	"RestrictSUIDSGID=yes",
	"LockPersonality=yes",
	"SystemCallArchitectures=native",
	"SystemCallErrorNumber=EPERM",
	"UMask=0077",
}

// Relaxation names one way to loosen a profile for what some jobs need
// and the profile forbids (borgrun's --relax). Each costs exposure; the
// costs are measured in the tests and listed in the README.
type Relaxation string

const (
	// RelaxKnownHosts makes ~/.ssh/known_hosts of the service's user
	// writable, or the files borgmatic's ssh_command names with
	// -o UserKnownHostsFile=, creating them (0600) and their directory
	// (0700) when missing, so that ssh can record a new host key, as with
	// StrictHostKeyChecking=accept-new on the first connection. It costs
	// no exposure: systemd-analyze does not score writable paths.
	RelaxKnownHosts Relaxation = "known-hosts"
	// RelaxWX turns MemoryDenyWriteExecute= off, for hooks that need
	// memory both writable and executable (JITs, cffi callbacks).
	RelaxWX Relaxation = "wx"
	// RelaxSnapshots gives filesystem snapshot hooks (ZFS, LVM, Btrfs)
	// what they need: CAP_SYS_ADMIN, the mount system calls, and the
	// block devices and the device-mapper and ZFS control devices
	// (PrivateDevices=no, DeviceAllow=). Kernel modules stay protected:
	// preload dm_snapshot for LVM.
	RelaxSnapshots Relaxation = "snapshots"
)

// relaxations are the relaxations there are, in the order they are
// documented.
var relaxations = []Relaxation{RelaxKnownHosts, RelaxWX, RelaxSnapshots}

// ParseRelaxations returns the relaxations named by values, each a name
// or a comma-separated list of names, without repeats, in the order of
// [relaxations].
func ParseRelaxations(values []string) ([]Relaxation, error) {
	seen := map[Relaxation]bool{}
	for _, v := range values {
		for _, name := range strings.Split(v, ",") {
			r := Relaxation(strings.TrimSpace(name))
			if !slices.Contains(relaxations, r) {
				names := make([]string, len(relaxations))
				for i, r := range relaxations {
					names[i] = string(r)
				}
				return nil, fmt.Errorf("relaxation %q: want %s", name, strings.Join(names, ", "))
			}
			seen[r] = true
		}
	}
	var rs []Relaxation
	for _, r := range relaxations {
		if seen[r] {
			rs = append(rs, r)
		}
	}
	return rs, nil
}

// SandboxPath is a path the sandbox opens up or prepares, and why.
type SandboxPath struct {
	Path string
	Why  string
	// Writable makes the path writable (ReadWritePaths=).
	Writable bool
	// Create makes the directory (mode 0700) before every run, outside
	// the sandbox, so that a missing directory never fails the run.
	Create bool
	// CreateFile makes the path an empty file (mode 0600, under the
	// service's UMask=) when it is missing, before every run, after the
	// directories of Create.
	CreateFile bool
}

// Sandbox is a job's derived confinement: a profile plus what the job
// needs under it. [Sandbox.Assignments] renders it for [Job.Hardening].
type Sandbox struct {
	Profile Profile
	// Name is the job's name; its runtime directory is /run/borgrun/NAME.
	Name string
	// Paths are the paths opened up or created, in order.
	Paths []SandboxPath
	// Repositories are the local repositories' directories
	// (RequiresMountsFor=).
	Repositories []string
	// Network is whether the job may use the network; without it the
	// service gets a private network namespace and Unix sockets only.
	Network bool
	// Environment holds NAME=VALUE pairs that make borg use exactly the
	// directories opened up.
	Environment []string
	// Relax are the relaxations applied.
	Relax []Relaxation
	// AllowedAddresses, when not empty, are the only IP addresses or
	// prefixes the service may talk to (IPAddressAllow= with
	// IPAddressDeny=any): strict's pinning of a job's repositories.
	AllowedAddresses []string
	// Version is the systemd version of the manager the job runs on
	// (see [SandboxOptions.Version]); [Sandbox.Assignments] adds the
	// protections that version has beyond 252's. 0: unknown, 252's only.
	Version props.Version
	// UserManager is set when the job runs under a user's own service
	// manager, as that user: no capabilities, and a user namespace that
	// maps only root and the user (see [userManagerProtections]), never
	// PrivateUsers=full, which such a manager cannot set up.
	UserManager bool
}

// versionedProtections are the protections added after systemd 252 that
// the profiles use where the manager has them, each measured with real
// borg, borgmatic and ssh backups on systemd 257 and 262 (and
// systemd-analyze security: only PrivateUsers= changes the score). On 257
// the non-boolean values travel under the …Ex names: that version's
// systemd-run (and so props) takes no other spelling, though its manager
// does.
//
// Left out on purpose: PrivatePIDs= (borg's stale-lock detection asks
// kill(pid, 0) about the holder of a lock with the same host ID; inside a
// PID namespace a live holder outside it, a borg run by hand or another
// job, answers ESRCH, and borg would break a lock that is held),
// ProtectHostname=private (it lets a service with CAP_SYS_ADMIN change
// the hostname of its own UTS namespace, which ProtectHostname=yes forbids:
// a loosening), PrivateUsers=identity and self (files of user IDs at or
// above 65536, or of every other user, become unreadable and are archived
// as owned by nobody).
func versionedProtections(v props.Version, userManager bool, relax []Relaxation) []string {
	var a []string
	switch {
	case v >= props.V258:
		// A cgroup namespace with /sys/fs/cgroup read-only, not just the
		// latter; a /tmp and /var/tmp of the service's own, not
		// directories of the host's /tmp.
		a = append(a, "ProtectControlGroups=strict", "PrivateTmp=disconnected")
	case v >= props.V257:
		a = append(a, "ProtectControlGroupsEx=strict", "PrivateTmpEx=disconnected")
	}
	if v >= props.V258 && !userManager && !slices.Contains(relax, RelaxSnapshots) {
		// A user namespace that maps every user ID to itself: every file
		// stays readable with CAP_DAC_READ_SEARCH, and archived with its
		// real owner, but the service's capabilities count only inside
		// its own namespace, not for the kernel's other objects. Not
		// for snapshot hooks: mounting a block device and device-mapper
		// need the capabilities outside.
		a = append(a, "PrivateUsers=full")
	}
	return a
}

// userManagerProtections complete the profile under a user's own service
// manager, where the service runs as that user, who holds no
// capabilities to keep. A user manager applies a capability bounding set,
// and the protections that shrink it (ProtectKernelModules=,
// ProtectKernelLogs=, ProtectClock=, PrivateDevices=), only inside a user
// namespace of the service's own: without PrivateUsers=yes, systemd 252
// fails all of them with 218/CAPABILITIES, and 254 to 262 still fail
// CapabilityBoundingSet= (from 254 the others imply the namespace). With
// it every protection of the system profile applies on 252 to 262
// (measured with each version's user manager), so the bounding set is
// emptied: the service needs no capability at all. PrivateUsers=yes maps
// root and the user to themselves and everyone else to nobody: the user's
// files are archived with their owner, other users' files (a user
// cannot read most of them anyway) as nobody's. PrivateUsers=full and
// identity, which would map them all, are refused to user managers
// (217/USER). KeyringMode=private, a system service's default, keeps the
// service out of the session's kernel keyring, which a user service
// otherwise inherits.
var userManagerProtections = []string{"PrivateUsers=yes", "KeyringMode=private"}

// Assignments returns the sandbox as systemd-run style assignments, for
// [Job.Hardening]; nil for [ProfileOff].
func (s *Sandbox) Assignments() []string {
	if s.Profile == ProfileOff {
		return nil
	}
	a := slices.Clone(baseProfile)
	if extra := versionedProtections(s.Version, s.UserManager, s.Relax); len(extra) > 0 {
		// The newer values replace the base's booleans.
		a = slices.DeleteFunc(a, func(x string) bool {
			return x == "ProtectControlGroups=yes" || x == "PrivateTmp=yes"
		})
		a = append(a, extra...)
	}
	if slices.Contains(s.Relax, RelaxSnapshots) {
		// Snapshot hooks mount (CAP_SYS_ADMIN, @mount) and open block and
		// control devices; their tools also change priorities and
		// limits (@resources) and ownership (@privileged). The filter is
		// borgmatic's own sample unit's. ProtectClock= puts
		// char-rtc in DeviceAllow=, which makes the device policy an
		// allow list: the devices must be on it.
		a = append(a, "CapabilityBoundingSet=CAP_DAC_READ_SEARCH CAP_FOWNER CAP_SYS_ADMIN",
			"PrivateDevices=no", "DeviceAllow=block-* rw", "DeviceAllow=char-misc rw",
			"SystemCallFilter=@system-service @mount")
	} else {
		// Root reads everything (DAC_READ_SEARCH) and keeps O_NOATIME on
		// files it does not own (FOWNER); nothing else. Backups make no
		// privileged (chown, setuid, chroot, ...) or resource-control
		// (setrlimit, ioprio_set, ...) system calls; ssh does not either.
		caps := "CapabilityBoundingSet=CAP_DAC_READ_SEARCH CAP_FOWNER"
		if s.UserManager {
			caps = "CapabilityBoundingSet="
		}
		a = append(a, caps, "PrivateDevices=yes",
			"SystemCallFilter=@system-service", "SystemCallFilter=~@privileged @resources")
	}
	if s.UserManager {
		a = append(a, userManagerProtections...)
	}
	if !slices.Contains(s.Relax, RelaxWX) {
		a = append(a, "MemoryDenyWriteExecute=yes")
	}
	if s.Profile == ProfileStrict && !slices.Contains(s.Relax, RelaxSnapshots) {
		// Only the processes' own /proc entries: no /proc/sys,
		// /proc/kallsyms, ... (borg, borgmatic and ssh read none; LVM's
		// tools read /proc/devices).
		a = append(a, "ProcSubset=pid")
	}
	switch {
	case !s.Network:
		a = append(a, "PrivateNetwork=yes", "RestrictAddressFamilies=AF_UNIX", "IPAddressDeny=any")
	case s.Profile == ProfileStrict:
		// glibc and ssh manage without netlink: getaddrinfo then assumes
		// both IPv4 and IPv6 are configured.
		a = append(a, "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6")
		if len(s.AllowedAddresses) > 0 {
			a = append(a, "IPAddressDeny=any", "IPAddressAllow="+strings.Join(s.AllowedAddresses, " "))
		}
	default:
		a = append(a, "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK")
	}
	if s.Name != "" {
		a = append(a, "RuntimeDirectory=borgrun/"+s.Name, "RuntimeDirectoryMode=0700")
	}
	for _, e := range s.Environment {
		a = append(a, "Environment="+props.Quote(e))
	}
	pathsWhere := func(keep func(SandboxPath) bool) []string {
		var ps []string
		for _, p := range s.Paths {
			if keep(p) {
				ps = append(ps, p.Path)
			}
		}
		return ps
	}
	create := pathsWhere(func(p SandboxPath) bool { return p.Create })
	if len(create) > 0 {
		a = append(a, "ExecStartPre=/bin/mkdir -p -m 0700 -- "+props.QuoteArgv(create))
	}
	files := pathsWhere(func(p SandboxPath) bool { return p.CreateFile })
	if len(files) > 0 {
		// -a: an existing file keeps its contents and modification time.
		a = append(a, "ExecStartPre=/bin/touch -a -- "+props.QuoteArgv(files))
	}
	if len(create)+len(files) > 0 {
		// The ExecStartPre= commands run outside the sandbox, where the
		// parents are writable. Not with a "+" prefix: systemd 252 writes
		// such a command into the transient unit's file under
		// ExecStartPreEx=, a key unit files lack, so a daemon-reload
		// would drop it.
		a = append(a, "PermissionsStartOnly=yes")
	}
	for _, p := range s.Paths {
		if p.Writable {
			// "-": an ExecStartPre= that runs before the mkdir (the
			// boot delay) must not fail on a missing path; ExecStart
			// runs after it, when every created path exists.
			a = append(a, "ReadWritePaths=-"+props.Quote(p.Path))
		}
	}
	for _, r := range s.Repositories {
		a = append(a, "RequiresMountsFor="+props.Quote(r))
	}
	return a
}

// SandboxOptions is what [DeriveSandbox] derives a sandbox from.
type SandboxOptions struct {
	Profile Profile
	// Name is the job's name.
	Name string
	// Command is the job's argv; borg and borgmatic are recognised by
	// the base name of Command[0].
	Command []string
	// Environment is the service's NAME=VALUE environment (-E).
	Environment []string
	// Home is the home directory of the service's user.
	Home string
	// BorgmaticVersion is what borgmatic --version printed ("1.7.7");
	// empty when unknown, which opens up the state directories of every
	// version.
	BorgmaticVersion string
	// BorgVersion is what borg --version printed ("borg 1.2.4"); empty
	// or unrecognised opens up the directories of borg 1.x and 2 both.
	BorgVersion string
	// HostID is the stable borg host ID (BORG_HOST_ID) for jobs without
	// network, where borg's own (the MAC address) would be random.
	HostID string
	// Writable are extra absolute paths to make writable (--writable).
	Writable []string
	// Relax are the relaxations to apply; none with [ProfileOff].
	Relax []Relaxation
	// Resolve returns the addresses of a repository's host name, for
	// [ProfileStrict]'s pinning; nil leaves jobs whose repositories are
	// named by host name unpinned.
	Resolve func(host string) ([]string, error)
	// Nameservers are the DNS servers' addresses (from resolv.conf),
	// allowed beside the repositories' addresses when a name had to be
	// resolved.
	Nameservers []string
	// Version is the systemd version of the manager the job will run on
	// (transient.Conn.Version); 0 when not known yet, which gives the
	// settings every supported version (252 on) takes. The sandbox can be
	// rendered for another version later ([Sandbox.Version]).
	Version props.Version
	// UserManager is set when the job runs under a user's own service
	// manager (see [Sandbox.UserManager]).
	UserManager bool
	// RuntimeDir is a user manager's runtime directory, the
	// $XDG_RUNTIME_DIR its services get (/run/user/UID), where borgmatic
	// 1.9 and later keep their runtime directory. Only with UserManager.
	RuntimeDir string
	// Root, if set, is where the files named above are read, an absolute
	// name standing for the same name below Root's root: a copy of a
	// remote host's files ([DeriveRemoteSandbox]). Nil means the local
	// file system.
	Root fs.FS
}

// DeriveSandbox works out what a job needs under its profile: for
// borgmatic, from the configuration files its command line reads; for
// borg and borgmatic, the cache, security, keys and state directories by
// borg's and borgmatic's own rules. Jobs whose repositories are all local
// and that have no hooks that might use the network get no network.
func DeriveSandbox(o SandboxOptions) (*Sandbox, error) {
	var fsys files = localFiles{}
	if o.Root != nil {
		fsys = rootedFiles{o.Root}
	}
	s := &Sandbox{Profile: o.Profile, Name: o.Name, Network: true, Relax: o.Relax, Version: o.Version, UserManager: o.UserManager}
	if o.UserManager && slices.Contains(o.Relax, RelaxSnapshots) {
		return nil, fmt.Errorf("relaxation %q: snapshot hooks need CAP_SYS_ADMIN, which a user's service manager cannot give: schedule on the system manager", RelaxSnapshots)
	}
	if o.Profile == ProfileOff {
		if len(o.Relax) > 0 {
			return nil, fmt.Errorf("relaxation %q: nothing to relax with profile %s", o.Relax[0], o.Profile)
		}
		return s, nil
	}
	env := map[string]string{}
	for _, kv := range o.Environment {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	add := func(p SandboxPath) {
		if i := slices.IndexFunc(s.Paths, func(q SandboxPath) bool { return q.Path == p.Path }); i >= 0 {
			s.Paths[i].Writable = s.Paths[i].Writable || p.Writable
			s.Paths[i].Create = s.Paths[i].Create || p.Create
			return
		}
		s.Paths = append(s.Paths, p)
	}
	setenv := func(k, v string) {
		if _, ok := env[k]; !ok {
			env[k] = v
			s.Environment = append(s.Environment, k+"="+v)
		}
	}

	tool := ""
	if len(o.Command) > 0 {
		tool = filepath.Base(o.Command[0])
	}
	if tool == "borg" || tool == "borgmatic" {
		setenv("HOME", o.Home)
	}
	var configs []*BorgmaticConfig
	if tool == "borgmatic" {
		files, err := borgmaticConfigFiles(fsys, o.Command, o.Home)
		if err != nil {
			return nil, err
		}
		lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
		for _, f := range files {
			c, err := readBorgmaticConfig(fsys, f, lookup, o.Home)
			if err != nil {
				return nil, err
			}
			configs = append(configs, c)
		}
	}
	if tool == "borg" || tool == "borgmatic" {
		// Name borg's directories explicitly, so the ones opened up are
		// the ones used, unless a configuration moves borg's base
		// directory: explicit names would then relocate its state.
		// When the version is unknown, only the names both versions
		// agree on are pinned; each version then finds its own.
		moved := slices.ContainsFunc(configs, func(c *BorgmaticConfig) bool { return c.Options["borg_base_directory"] != "" })
		if !moved {
			for _, kv := range borgEnvironment(borgDirSets(o.BorgVersion, env)) {
				k, v, _ := strings.Cut(kv, "=")
				setenv(k, v)
			}
		}
	}
	switch tool {
	case "borg":
		addBorgDirs(add, borgDirSets(o.BorgVersion, env), "")
	case "borgmatic":
		if len(configs) == 0 {
			// borgmatic will fail; keep the borg directories usable.
			addBorgDirs(add, borgDirSets(o.BorgVersion, env), "")
		}
		local := len(configs) > 0
		// The service's $XDG_RUNTIME_DIR: -E's, else a user manager's own.
		runtimeDir, ok := env["XDG_RUNTIME_DIR"]
		if !ok && o.UserManager {
			runtimeDir = o.RuntimeDir
		}
		for _, c := range configs {
			cenv := maps.Clone(env)
			for opt, name := range map[string]string{"borg_base_directory": "BORG_BASE_DIR",
				"borg_config_directory": "BORG_CONFIG_DIR", "borg_cache_directory": "BORG_CACHE_DIR",
				"borg_security_directory": "BORG_SECURITY_DIR", "borg_keys_directory": "BORG_KEYS_DIR"} {
				if v := c.Options[opt]; v != "" {
					cenv[name] = v
				}
			}
			addBorgDirs(add, borgDirSets(o.BorgVersion, cenv), " ("+c.File+")")
			addBorgmaticDirs(add, c, o.BorgmaticVersion, env, o.Home, runtimeDir)
			wd := c.Options["working_directory"]
			if wd == "" {
				wd = "/"
			}
			if len(c.Repositories) == 0 || len(c.NetworkHooks) > 0 {
				local = false
			}
			for _, r := range c.Repositories {
				if RemoteRepository(r) {
					local = false
					continue
				}
				p := localRepositoryPath(r, wd)
				add(SandboxPath{Path: p, Why: "local repository " + r + " (" + c.File + ")", Writable: true})
				if !slices.Contains(s.Repositories, p) {
					s.Repositories = append(s.Repositories, p)
				}
			}
		}
		if local {
			s.Network = false
		}
		if s.Network && o.Profile == ProfileStrict {
			allowed, err := pinAddresses(configs, o.Resolve, o.Nameservers)
			if err != nil {
				return nil, err
			}
			s.AllowedAddresses = allowed
		}
	}
	if slices.Contains(o.Relax, RelaxKnownHosts) {
		files := []string{filepath.Join(o.Home, ".ssh", "known_hosts")}
		if kh := knownHostsFiles(configs, o.Home); len(kh) > 0 {
			files = kh
		}
		for _, f := range files {
			if !filepath.IsAbs(f) {
				return nil, fmt.Errorf("relaxation %q: known hosts file %q is not absolute", RelaxKnownHosts, f)
			}
			add(SandboxPath{Path: filepath.Dir(f), Why: "ssh's directory (known-hosts relaxation)", Create: true})
			add(SandboxPath{Path: f, Why: "ssh's known hosts (known-hosts relaxation)", Writable: true, CreateFile: true})
		}
	}
	for _, w := range o.Writable {
		if !filepath.IsAbs(w) {
			return nil, fmt.Errorf("writable path %q: must be absolute", w)
		}
		p := SandboxPath{Path: filepath.Clean(w), Why: "--writable", Writable: true, Create: true}
		if fi, err := fsys.Stat(p.Path); err == nil && !fi.IsDir() {
			p.Create = false // a file: made writable as it is
		} else if err != nil {
			if err := creatable(fsys, p.Path); err != nil {
				return nil, fmt.Errorf("writable path %q: %w", w, err)
			}
		}
		add(p)
	}
	if !s.Network && o.HostID != "" {
		// Without a network device borg's default host ID (the MAC
		// address) is random, and borg would not recognise its own stale
		// locks.
		setenv("BORG_HOST_ID", o.HostID)
	}
	return s, nil
}

// knownHostsFiles returns the files ssh records new host keys in when the
// configurations' ssh_command names them (-o UserKnownHostsFile=FILE, the
// first of its files), with ~ expanded.
func knownHostsFiles(configs []*BorgmaticConfig, home string) []string {
	var files []string
	for _, c := range configs {
		words := strings.Fields(c.Options["ssh_command"])
		for i, w := range words {
			name, value, ok := strings.Cut(w, "=")
			if !ok && i+1 < len(words) {
				value = words[i+1]
			}
			if !strings.EqualFold(name, "UserKnownHostsFile") || value == "" {
				continue
			}
			f := expandHome(strings.Trim(value, `"'`), home)
			if !slices.Contains(files, f) {
				files = append(files, f)
			}
		}
	}
	return files
}

// pinAddresses returns the addresses a strict job may reach: those of its
// repositories' hosts, plus the name servers when a host name had to be
// resolved. It returns nil, pinning nothing, when the job has other
// network peers or ones it cannot tell: hooks, repositories other than
// ssh ones, an ssh_command that may go elsewhere (a proxy, another host
// name), or host names and no resolver.
func pinAddresses(configs []*BorgmaticConfig, resolve func(string) ([]string, error), nameservers []string) ([]string, error) {
	var allowed []string
	resolved := false
	for _, c := range configs {
		if len(c.NetworkHooks) > 0 {
			return nil, nil
		}
		if cmd := strings.ToLower(c.Options["ssh_command"]); strings.Contains(cmd, "proxy") || strings.Contains(cmd, "hostname") || strings.Contains(cmd, "-j") {
			return nil, nil
		}
		for _, r := range c.Repositories {
			if !RemoteRepository(r) {
				continue
			}
			host := sshRepositoryHost(r)
			if host == "" {
				return nil, nil
			}
			addrs := []string{host}
			if net.ParseIP(host) == nil {
				if resolve == nil {
					return nil, nil
				}
				var err error
				if addrs, err = resolve(host); err != nil {
					return nil, fmt.Errorf("repository %s (%s): strict pins the repositories' addresses, and host %q does not resolve: %w", r, c.File, host, err)
				}
				resolved = true
			}
			for _, a := range addrs {
				if !slices.Contains(allowed, a) {
					allowed = append(allowed, a)
				}
			}
		}
	}
	if resolved {
		for _, n := range nameservers {
			if !slices.Contains(allowed, n) {
				allowed = append(allowed, n)
			}
		}
	}
	return allowed, nil
}

// sshRepositoryHost returns the host of an ssh repository
// (ssh://[user@]host[:port]/path or [user@]host:path), "" for any other.
func sshRepositoryHost(repo string) string {
	if rest, ok := strings.CutPrefix(repo, "ssh://"); ok {
		u, err := url.Parse("ssh://" + rest)
		if err != nil {
			return ""
		}
		return u.Hostname()
	}
	if strings.Contains(repo, "://") || !RemoteRepository(repo) {
		return ""
	}
	for _, p := range []string{"rclone:", "s3:", "b2:"} {
		if strings.HasPrefix(repo, p) {
			return ""
		}
	}
	hostport := repo
	if _, after, ok := strings.Cut(hostport, "@"); ok {
		hostport = after
	}
	if strings.HasPrefix(hostport, "[") {
		if end := strings.Index(hostport, "]"); end > 0 {
			return hostport[1:end]
		}
		return ""
	}
	host, _, _ := strings.Cut(hostport, ":")
	return host
}

// creatable reports whether mkdir -p could make p: its nearest existing
// ancestor must be a directory.
func creatable(fsys files, p string) error {
	for d := filepath.Dir(p); ; d = filepath.Dir(d) {
		fi, err := fsys.Stat(d)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("cannot be created: %q is not a directory", d)
			}
			return nil
		}
		if d == "/" {
			return err
		}
	}
}

// borgPaths are borg's directories by the rules of one major version.
type borgPaths struct {
	// version is "1.x" or "2".
	version                       string
	cache, config, security, keys string
}

// BorgMajor reads borg's major version from what borg --version printed
// ("borg 1.2.4", "borg 2.0.0b14"): 1 or 2, or 0 when it cannot tell. The
// 2.0 pre-releases before 2.0.0b6 count as unknown: their directory rules
// are neither 1.x's nor 2's.
func BorgMajor(version string) int {
	v := strings.TrimSpace(version)
	if f := strings.Fields(v); len(f) == 2 {
		v = f[1]
	}
	major, minor, ok := parseVersion(v)
	switch {
	case !ok:
		return 0
	case major == 1:
		return 1
	case major == 2 && minor == 0:
		rest := strings.TrimPrefix(v, "2.0.0")
		if rest == v || rest == "" || strings.HasPrefix(rest, ".post") || strings.HasPrefix(rest, "rc") {
			return 2
		}
		if b, ok := strings.CutPrefix(rest, "b"); ok {
			// "2.0.0b14", or a build of master such as "2.0.0b23.dev4+g1234abc".
			digits := b[:len(b)-len(strings.TrimLeft(b, "0123456789"))]
			if n, err := strconv.Atoi(digits); err == nil && n >= 6 {
				return 2
			}
		}
		return 0
	case major == 2:
		return 2
	}
	return 0
}

// borgDirSets returns borg's directories by the rules of the version
// named (see [BorgMajor]); by those of 1.x and 2 both when it is unknown.
func borgDirSets(version string, env map[string]string) []borgPaths {
	switch BorgMajor(version) {
	case 1:
		return []borgPaths{borgDirs(env)}
	case 2:
		return []borgPaths{borg2Dirs(env)}
	}
	return []borgPaths{borgDirs(env), borg2Dirs(env)}
}

// borgDirs resolves borg 1.x's directories from the environment exactly
// as borg does (borg/helpers/fs.py).
func borgDirs(env map[string]string) borgPaths {
	base := env["BORG_BASE_DIR"]
	if base == "" {
		base = env["HOME"]
	}
	cacheHome, configHome := filepath.Join(base, ".cache"), filepath.Join(base, ".config")
	if env["BORG_BASE_DIR"] == "" {
		if v, ok := env["XDG_CACHE_HOME"]; ok {
			cacheHome = v
		}
		if v, ok := env["XDG_CONFIG_HOME"]; ok {
			configHome = v
		}
	}
	d := borgPaths{version: "1.x"}
	d.cache = envOr(env, "BORG_CACHE_DIR", filepath.Join(cacheHome, "borg"))
	d.config = envOr(env, "BORG_CONFIG_DIR", filepath.Join(configHome, "borg"))
	d.security = envOr(env, "BORG_SECURITY_DIR", filepath.Join(d.config, "security"))
	d.keys = envOr(env, "BORG_KEYS_DIR", filepath.Join(d.config, "keys"))
	return d
}

// borg2Dirs resolves borg 2's directories (2.0.0b6 on; borg/helpers/fs.py
// on master) on Linux from the environment as borg does: BORG_BASE_DIR,
// when set, replaces the platformdirs (XDG) rules and HOME entirely; the
// security directory lives in the data directory, not the configuration
// directory. platformdirs treats an XDG variable that is empty or blank as
// unset, unlike borg 1.x. (borg 2 takes an empty BORG_BASE_DIR as a
// relative base; it is taken as unset here.)
func borg2Dirs(env map[string]string) borgPaths {
	base := env["BORG_BASE_DIR"]
	under := func(xdg, xdgDefault string, rel ...string) string {
		if base != "" {
			return filepath.Join(append([]string{base}, rel...)...)
		}
		root := env[xdg]
		if strings.TrimSpace(root) == "" {
			root = filepath.Join(env["HOME"], xdgDefault)
		}
		return filepath.Join(root, "borg")
	}
	d := borgPaths{version: "2"}
	d.cache = envOr(env, "BORG_CACHE_DIR", under("XDG_CACHE_HOME", ".cache", ".cache", "borg"))
	d.config = envOr(env, "BORG_CONFIG_DIR", under("XDG_CONFIG_HOME", ".config", ".config", "borg"))
	data := envOr(env, "BORG_DATA_DIR", under("XDG_DATA_HOME", ".local/share", ".local", "share", "borg"))
	d.security = envOr(env, "BORG_SECURITY_DIR", filepath.Join(data, "security"))
	d.keys = envOr(env, "BORG_KEYS_DIR", filepath.Join(d.config, "keys"))
	return d
}

// envOr returns env[name] if set (even empty, as Python's
// os.environ.get(name, def)), else def.
func envOr(env map[string]string, name, def string) string {
	if v, ok := env[name]; ok {
		return v
	}
	return def
}

// borgEnvironment returns the BORG_*_DIR assignments that name the
// directories every set agrees on.
func borgEnvironment(sets []borgPaths) []string {
	var out []string
	for _, f := range []struct {
		name string
		get  func(borgPaths) string
	}{
		{"BORG_CACHE_DIR", func(d borgPaths) string { return d.cache }},
		{"BORG_CONFIG_DIR", func(d borgPaths) string { return d.config }},
		{"BORG_SECURITY_DIR", func(d borgPaths) string { return d.security }},
		{"BORG_KEYS_DIR", func(d borgPaths) string { return d.keys }},
	} {
		v := f.get(sets[0])
		if !slices.ContainsFunc(sets, func(d borgPaths) bool { return f.get(d) != v }) {
			out = append(out, f.name+"="+v)
		}
	}
	return out
}

// addBorgDirs adds borg's directories of every set; a path that differs
// between the sets says whose it is.
func addBorgDirs(add func(SandboxPath), sets []borgPaths, from string) {
	for _, d := range sets {
		who := func(get func(borgPaths) string) string {
			if slices.ContainsFunc(sets, func(e borgPaths) bool { return get(e) != get(d) }) {
				return "borg " + d.version
			}
			return "borg"
		}
		add(SandboxPath{Path: d.cache, Why: who(func(e borgPaths) string { return e.cache }) + " cache (data and lock)" + from, Writable: true, Create: true})
		add(SandboxPath{Path: d.security, Why: who(func(e borgPaths) string { return e.security }) + " security (nonces, manifest timestamps)" + from, Writable: true, Create: true})
		add(SandboxPath{Path: d.keys, Why: who(func(e borgPaths) string { return e.keys }) + " keys (read, must exist)" + from, Create: true})
	}
}

// addBorgmaticDirs adds borgmatic's state and runtime directories:
// ~/.borgmatic (borgmatic_source_directory) before 1.9, the state
// directory from 1.9 on, both when the version is unknown.
//
// runtimeDir is the service's $XDG_RUNTIME_DIR ("" for none), where
// borgmatic 1.9 and later keep their runtime directory (database dump
// FIFOs, the bootstrap manifest) unless user_runtime_directory is set;
// without it they use the service's RuntimeDirectory=.
func addBorgmaticDirs(add func(SandboxPath), c *BorgmaticConfig, version string, env map[string]string, home, runtimeDir string) {
	from := " (" + c.File + ")"
	legacy, modern := true, true
	if major, minor, ok := parseVersion(version); ok {
		modern = major > 1 || minor >= 9
		legacy = !modern || c.Options["borgmatic_source_directory"] != ""
	}
	if legacy {
		p := c.Options["borgmatic_source_directory"]
		if p == "" {
			p = filepath.Join(home, ".borgmatic")
		}
		add(SandboxPath{Path: p, Why: "borgmatic state (check times, database dumps)" + from, Writable: true, Create: true})
	}
	if modern {
		p := c.Options["user_state_directory"]
		if p == "" {
			if x := env["XDG_STATE_HOME"]; x != "" {
				p = x
			} else {
				p = filepath.Join(home, ".local/state")
			}
		}
		add(SandboxPath{Path: filepath.Join(p, "borgmatic"), Why: "borgmatic state (check times)" + from, Writable: true, Create: true})
	}
	if p := c.Options["user_runtime_directory"]; p != "" {
		add(SandboxPath{Path: p, Why: "borgmatic runtime directory" + from, Writable: true, Create: true})
	} else if modern && runtimeDir != "" {
		add(SandboxPath{Path: filepath.Join(runtimeDir, "borgmatic"), Why: "borgmatic runtime directory (in $XDG_RUNTIME_DIR)" + from, Writable: true, Create: true})
	}
	if p := c.Options["temporary_directory"]; p != "" {
		add(SandboxPath{Path: p, Why: "borg temporary files (temporary_directory)" + from, Writable: true, Create: true})
	}
}

// parseVersion reads "MAJOR.MINOR[.…]" from the start of v.
func parseVersion(v string) (major, minor int, ok bool) {
	parts := strings.SplitN(strings.TrimSpace(v), ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	return major, minor, err1 == nil && err2 == nil
}

// passphraseCredential is the name of the systemd credential that carries
// borg's passphrase.
const passphraseCredential = "borg-passphrase"

// PassphraseAssignments hands borg the passphrase in file through a
// systemd credential (LoadCredential=, read by the manager at every start)
// and BORG_PASSCOMMAND, so that the passphrase itself never appears in the
// unit's properties, its environment or any argv. borg splits
// BORG_PASSCOMMAND without expanding variables, hence the shell.
func PassphraseAssignments(file string) []string {
	return []string{"LoadCredential=" + passphraseCredential + ":" + file, passCommand}
}

// EncryptedPassphraseAssignments is [PassphraseAssignments] for a file
// made by systemd-creds encrypt (LoadCredentialEncrypted=): the manager
// decrypts it at every start, with the host's key or TPM, so the file at
// rest is useless elsewhere. It must have been encrypted with the name
// borg-passphrase (systemd-creds encrypt --name=borg-passphrase), or none.
func EncryptedPassphraseAssignments(file string) []string {
	return []string{"LoadCredentialEncrypted=" + passphraseCredential + ":" + file, passCommand}
}

// passCommand makes borg read its passphrase from the credential.
var passCommand = "Environment=" + props.Quote(`BORG_PASSCOMMAND=/bin/sh -c 'exec cat "$CREDENTIALS_DIRECTORY/`+passphraseCredential+`"'`)
