package props

import (
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file checks the values of the properties Parse produces the way the
// service manager checks them when StartTransientUnit is called: systemd-run
// passes many values through unchecked (Type=, ProtectSystem=, User=,
// WorkingDirectory=, ...) and the manager refuses them with
// org.freedesktop.DBus.Error.InvalidArgs. ParseFor runs checkManager after
// encoding, so such a value fails as bad input before anything is sent.
//
// The facts were read from the manager's transient property setters of
// systemd 252.39, 254.26, 257.13 and 262 (src/core/dbus-execute.c,
// dbus-service.c, dbus-unit.c, dbus-cgroup.c, dbus-kill.c, dbus-timer.c)
// and the validators they call (src/basic, src/shared). Where a version
// between two of those four is unknown, a word is assumed to exist from the
// earliest version that may have it and a new restriction from the latest
// one, so that no version's manager is refused a value it accepts.
//
// Not checked here (the manager checks them, but props cannot know the
// answer or does not model it yet): calendar specifications
// (TimersCalendar: time zones depend on the manager's host), system call,
// address family, file system and architecture names, Personality=,
// network interface names, and the …Ex properties of 258 and newer.

// managerCheck validates the value of one D-Bus property for a manager of
// version v (already the effective version). It returns a reason made with
// syntaxf or rangef.
type managerCheck func(v Version, value any) error

// checkManager validates ps, the properties one assignment produced for a
// unit of type t, as a manager of version v would.
func checkManager(v Version, t UnitType, ps []Property) error {
	v = v.effective()
	for _, p := range ps {
		check := managerChecks[p.Name]
		if check == nil {
			continue
		}
		if err := check(v, p.Value.Value()); err != nil {
			return err
		}
	}
	return nil
}

// managerChecked returns the D-Bus property names whose values ParseFor
// checks as the manager does, beyond their D-Bus type, sorted.
func managerChecked() []string {
	names := make([]string, 0, len(managerChecks))
	for n := range managerChecks {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// word is one accepted word of an enumeration and the first version whose
// manager accepts it.
type word struct {
	w     string
	since Version
}

// enum is a *_from_string table: its words, and whether the table also
// takes every boolean (DEFINE_STRING_TABLE_LOOKUP_WITH_BOOLEAN).
type enum struct {
	words   []word
	boolean bool
}

func words(ws ...string) []word {
	out := make([]word, len(ws))
	for i, w := range ws {
		out[i] = word{w, OldestVersion}
	}
	return out
}

func (e enum) check(v Version, s string) error {
	if e.boolean {
		if _, err := parseBool(s); err == nil {
			return nil
		}
	}
	var accepted []string
	for _, w := range e.words {
		if w.since > v {
			if w.w == s {
				return syntaxf("%q needs systemd %d or newer; this manager is %d", s, int(w.since), int(v))
			}
			continue
		}
		if w.w == s {
			return nil
		}
		accepted = append(accepted, w.w)
	}
	if e.boolean {
		accepted = append(accepted, "another boolean")
	}
	return syntaxf("want %s", orList(accepted))
}

// orList joins words as "a, b or c".
func orList(ws []string) string {
	switch len(ws) {
	case 0:
		return ""
	case 1:
		return ws[0]
	}
	return strings.Join(ws[:len(ws)-1], ", ") + " or " + ws[len(ws)-1]
}

func enumString(e enum) managerCheck {
	return func(v Version, val any) error {
		s, _ := val.(string)
		return e.check(v, s)
	}
}

// The enumerations the manager parses with *_from_string.
var (
	protectSystem = enum{words("yes", "no", "full", "strict"), true}
	protectHome   = enum{words("yes", "no", "read-only", "tmpfs"), true}
	// on-success: new in 261 (NEWS, for FileDescriptorStorePreserve=,
	// which shares the table).
	preserveMode = enum{append(words("no", "yes", "restart"), word{"on-success", V261}), true}
	// notify-reload: new in 253 (NEWS).
	serviceType = enum{[]word{{"simple", V252}, {"exec", V252}, {"forking", V252}, {"oneshot", V252},
		{"dbus", V252}, {"notify", V252}, {"notify-reload", V253}, {"idle", V252}}, false}
	serviceExitType    = enum{words("main", "cgroup"), false}
	serviceRestart     = enum{words("no", "on-success", "on-failure", "on-abnormal", "on-watchdog", "on-abort", "always"), false}
	notifyAccess       = enum{words("none", "main", "exec", "all"), false}
	oomPolicy          = enum{words("continue", "stop", "kill"), false}
	timeoutFailureMode = enum{words("terminate", "abort", "kill"), false}
	killMode           = enum{words("control-group", "mixed", "process", "none"), false}
	keyringMode        = enum{words("inherit", "private", "shared"), false}
	protectProc        = enum{words("default", "noaccess", "invisible", "ptraceable"), false}
	procSubset         = enum{words("all", "pid"), false}
	utmpMode           = enum{words("init", "login", "user"), false}
	execInput          = enum{words("null", "tty", "tty-force", "tty-fail", "socket", "fd", "data", "file"), false}
	execOutput         = enum{words("inherit", "null", "tty", "journal", "journal+console", "kmsg",
		"kmsg+console", "socket", "fd", "file", "append", "truncate"), false}
	devicePolicy   = enum{words("auto", "closed", "strict"), false}
	managedOOMMode = enum{words("auto", "kill"), false}
	managedOOMPref = enum{words("none", "avoid", "omit"), false}
	collectMode    = enum{words("inactive", "inactive-or-failed"), false}
	// restart-dependencies: new in 254 (NEWS); lenient: new in 258 (NEWS).
	jobMode = enum{append(words("fail", "replace", "replace-irreversibly", "isolate", "flush",
		"ignore-dependencies", "ignore-requirements", "triggering"),
		word{"restart-dependencies", V254}, word{"lenient", V258}), false}
	// soft-reboot: new in 254 (NEWS); kexec and halt: in 257, not in 254.
	emergencyAction = enum{append(words("none", "reboot", "reboot-force", "reboot-immediate", "poweroff",
		"poweroff-force", "poweroff-immediate", "exit", "exit-force"),
		word{"soft-reboot", V254}, word{"soft-reboot-force", V254}, word{"kexec", V255},
		word{"kexec-force", V255}, word{"halt", V255}, word{"halt-force", V255},
		word{"halt-immediate", V255}), false}
	// debug: new in 257 (NEWS).
	restartMode = enum{append(words("normal", "direct"), word{"debug", V257}), false}
	// 254 spells them off/auto/on/skip, 257 no/yes/auto/skip; both take
	// booleans.
	pressureWatch = enum{words("auto", "skip"), true}
	privateTmp    = enum{words("connected", "disconnected"), true}
	// full and managed: in 262, not in 257.
	privateUsers = enum{append(words("self", "identity"), word{"full", V258}, word{"managed", V258}), true}
	protectCG    = enum{words("private", "strict"), true}
	// cgroupControllers: bpf-bind-network-interface is in 262, not 257.
	cgroupControllers = enum{append(words("cpu", "cpuacct", "cpuset", "io", "blkio", "memory", "devices",
		"pids", "bpf-firewall", "bpf-devices", "bpf-foreign", "bpf-socket-bind",
		"bpf-restrict-network-interfaces"), word{"bpf-bind-network-interface", V258}), false}
	bpfAttachTypes = enum{words("ingress", "egress", "sock_create", "sock_ops", "device", "bind4", "bind6",
		"connect4", "connect6", "post_bind4", "post_bind6", "sendmsg4", "sendmsg6", "sysctl",
		"recvmsg4", "recvmsg6", "getsockopt", "setsockopt"), false}
)

// managerChecks maps D-Bus property names to their checks.
var managerChecks = map[string]managerCheck{}

func init() {
	reg := func(c managerCheck, names ...string) {
		for _, n := range names {
			managerChecks[n] = c
		}
	}

	// Enumerations (bus_set_transient_* built with
	// BUS_DEFINE_SET_TRANSIENT_PARSE, and the hand-written ones).
	reg(enumString(protectSystem), "ProtectSystem")
	reg(enumString(protectHome), "ProtectHome")
	reg(enumString(preserveMode), "RuntimeDirectoryPreserve", "FileDescriptorStorePreserve")
	reg(enumString(serviceType), "Type")
	reg(enumString(serviceExitType), "ExitType")
	reg(enumString(serviceRestart), "Restart")
	reg(enumString(notifyAccess), "NotifyAccess")
	reg(enumString(oomPolicy), "OOMPolicy")
	reg(enumString(timeoutFailureMode), "TimeoutStartFailureMode", "TimeoutStopFailureMode")
	reg(enumString(killMode), "KillMode")
	reg(enumString(keyringMode), "KeyringMode")
	reg(enumString(protectProc), "ProtectProc")
	reg(enumString(procSubset), "ProcSubset")
	reg(enumString(utmpMode), "UtmpMode")
	reg(enumString(execInput), "StandardInput")
	reg(enumString(execOutput), "StandardOutput", "StandardError")
	reg(enumString(devicePolicy), "DevicePolicy")
	reg(enumString(managedOOMMode), "ManagedOOMSwap", "ManagedOOMMemoryPressure")
	reg(enumString(managedOOMPref), "ManagedOOMPreference")
	reg(enumString(collectMode), "CollectMode")
	reg(enumString(jobMode), "OnFailureJobMode")
	reg(enumString(emergencyAction), "JobTimeoutAction", "StartLimitAction", "FailureAction", "SuccessAction")
	reg(enumString(restartMode), "RestartMode")
	reg(enumString(pressureWatch), "MemoryPressureWatch", "CPUPressureWatch", "IOPressureWatch")
	reg(enumString(privateTmp), "PrivateTmpEx")
	reg(enumString(privateUsers), "PrivateUsersEx")
	reg(enumString(protectCG), "ProtectControlGroupsEx")
	reg(enumString(enum{nil, true}), "PrivatePIDs")
	reg(stringList(func(v Version, s string) error { return cgroupControllers.check(v, s) }),
		"DisableControllers", "DelegateControllers")

	// Names.
	reg(stringCheck(func(v Version, s string) error {
		if s != "" && !validUserGroupNameOrID(s) {
			return syntaxf("invalid user or group name %q: want a name without ':', '/', control characters or surrounding spaces, not all digits, or a UID/GID", s)
		}
		return nil
	}), "User", "Group")
	reg(stringList(func(v Version, s string) error {
		if s != "" && !validUserGroupNameOrID(s) {
			return syntaxf("invalid group name %q: want a name without ':', '/', control characters or surrounding spaces, not all digits, or a GID", s)
		}
		return nil
	}), "SupplementaryGroups")
	reg(stringCheck(func(v Version, s string) error {
		if s != "" && !busNameValid(s) {
			return syntaxf("invalid D-Bus name %q: want dot-separated elements of letters, digits, '_' and '-', like org.example.Service", s)
		}
		return nil
	}), "BusName")
	reg(stringCheck(func(v Version, s string) error {
		if s != "" && !logNamespaceValid(s) {
			return syntaxf("invalid log namespace %q: want at most 222 letters, digits and ':-_.\\@', not . or ..", s)
		}
		return nil
	}), "LogNamespace")
	reg(stringCheck(func(v Version, s string) error {
		if !unitNameValid(s, false) || !strings.HasSuffix(s, ".slice") {
			return syntaxf("invalid slice %q: want a unit name ending in .slice, like borgrun.slice", s)
		}
		return nil
	}), "Slice")
	for _, d := range unitDependencies {
		reg(dependencyCheck(d), d)
	}
	reg(stringCheck(func(v Version, s string) error {
		if len(s) > 255 || !asciiOnly(s) {
			return syntaxf("invalid reboot argument: want at most 255 ASCII characters")
		}
		return nil
	}), "JobTimeoutRebootArgument", "RebootArgument")
	reg(stringList(func(v Version, s string) error {
		if !documentationURLValid(s) {
			return syntaxf("invalid documentation URL %q: want http://, https://, file:, info: or man: URLs", s)
		}
		return nil
	}), "Documentation")

	// Paths.
	absolute := stringCheck(func(v Version, s string) error {
		if s != "" && !strings.HasPrefix(s, "/") {
			return syntaxf("not an absolute path: %q", s)
		}
		return nil
	})
	// (RootHashPath and RootHashSignaturePath too, but props sends them
	// only for values starting with "/".)
	reg(absolute, "TTYPath", "RootImage", "RootVerity", "RootDirectory", "NetworkNamespacePath",
		"IPCNamespacePath", "USBFunctionDescriptors", "USBFunctionStrings")
	reg(stringCheck(checkWorkingDirectory), "WorkingDirectory")
	reg(stringCheck(func(v Version, s string) error {
		if s == "" {
			return nil
		}
		p := s
		if !strings.HasPrefix(p, "/") {
			p = "/run/" + p
		}
		if !pathIsNormalized(pathSimplify(p)) {
			return syntaxf("invalid PID file path %q: want a normalized path, absolute or below /run", s)
		}
		return nil
	}), "PIDFile")
	reg(stringList(func(v Version, s string) error {
		p := strings.TrimPrefix(s, "-")
		p = strings.TrimPrefix(p, "+")
		if !strings.HasPrefix(p, "/") {
			return syntaxf("not an absolute path: %q", s)
		}
		return nil
	}), "ReadWriteDirectories", "ReadOnlyDirectories", "InaccessibleDirectories", "ReadWritePaths",
		"ReadOnlyPaths", "InaccessiblePaths", "ExecPaths", "NoExecPaths", "ExtensionDirectories")
	reg(stringList(func(v Version, s string) error {
		if !strings.HasPrefix(s, "/") || !pathIsNormalized(s) || strings.Contains(s, ":") {
			return syntaxf("invalid search path %q: want normalized absolute paths without ':'", s)
		}
		return nil
	}), "ExecSearchPath")
	reg(stringList(checkDirectory), "RuntimeDirectory", "StateDirectory", "CacheDirectory",
		"LogsDirectory", "ConfigurationDirectory")
	reg(func(v Version, val any) error {
		links, _ := val.([]symlinkPair)
		for _, l := range links {
			for _, p := range []string{l.Source, l.Dest} {
				if !pathIsValid(p) || strings.HasPrefix(p, "/") || !pathIsNormalized(p) {
					return syntaxf("invalid directory %q: want a normalized relative path", p)
				}
			}
		}
		return nil
	}, "RuntimeDirectorySymlink", "StateDirectorySymlink", "CacheDirectorySymlink", "LogsDirectorySymlink")
	reg(stringList(func(v Version, s string) error {
		if !strings.HasPrefix(s, "/") || !pathIsValid(s) || !pathIsNormalized(s) {
			return syntaxf("invalid path %q: want normalized absolute paths", s)
		}
		return nil
	}), "RequiresMountsFor", "WantsMountsFor")
	reg(func(v Version, val any) error {
		files, _ := val.([]envFile)
		for _, f := range files {
			if !strings.HasPrefix(f.Path, "/") {
				return syntaxf("not an absolute path: %q", f.Path)
			}
		}
		return nil
	}, "EnvironmentFiles")
	reg(func(v Version, val any) error {
		binds, _ := val.([]bindPath)
		for _, b := range binds {
			for _, p := range []string{b.Source, b.Dest} {
				if !strings.HasPrefix(p, "/") {
					return syntaxf("not an absolute path: %q", p)
				}
			}
		}
		return nil
	}, "BindPaths", "BindReadOnlyPaths")
	reg(func(v Version, val any) error {
		mounts, _ := val.([]stringPair)
		for _, m := range mounts {
			if !strings.HasPrefix(m.A, "/") {
				return syntaxf("not an absolute mount point: %q", m.A)
			}
		}
		return nil
	}, "TemporaryFileSystem")
	normalizedAbsolute := func(what, p string) error {
		if !strings.HasPrefix(p, "/") || !pathIsNormalized(p) {
			return syntaxf("invalid %s %q: want a normalized absolute path", what, p)
		}
		return nil
	}
	reg(func(v Version, val any) error {
		images, _ := val.([]mountImage)
		for _, m := range images {
			if err := normalizedAbsolute("image", m.Source); err != nil {
				return err
			}
			if err := normalizedAbsolute("mount point", m.Dest); err != nil {
				return err
			}
		}
		return nil
	}, "MountImages")
	reg(func(v Version, val any) error {
		images, _ := val.([]extensionImage)
		for _, m := range images {
			if err := normalizedAbsolute("image", m.Source); err != nil {
				return err
			}
		}
		return nil
	}, "ExtensionImages")
	reg(stringList(func(v Version, s string) error { return normalizedAbsolute("BPF program path", s) }),
		"IPIngressFilterPath", "IPEgressFilterPath")
	reg(func(v Version, val any) error {
		progs, _ := val.([]stringPair)
		for _, p := range progs {
			if err := bpfAttachTypes.check(v, p.A); err != nil {
				return syntaxf("invalid attach type %q: %v", p.A, err)
			}
			if err := normalizedAbsolute("BPF program path", p.B); err != nil {
				return err
			}
		}
		return nil
	}, "BPFProgram")
	devicePaths := func(lo, hi uint64) managerCheck {
		return func(v Version, val any) error {
			list, _ := val.([]pathValue)
			for _, p := range list {
				if !pathIsNormalized(p.Path) {
					return syntaxf("invalid device path %q: want a normalized path", p.Path)
				}
				if hi != 0 && (p.Value < lo || p.Value > hi) {
					return rangef("%d..%d", lo, hi)
				}
			}
			return nil
		}
	}
	reg(devicePaths(0, 0), "IOReadBandwidthMax", "IOWriteBandwidthMax", "IOReadIOPSMax",
		"IOWriteIOPSMax", "BlockIOReadBandwidth", "BlockIOWriteBandwidth", "IODeviceLatencyTargetUSec")
	reg(devicePaths(1, 10000), "IODeviceWeight")
	reg(devicePaths(10, 1000), "BlockIODeviceWeight")
	reg(func(v Version, val any) error {
		list, _ := val.([]stringPair)
		for _, d := range list {
			if !deviceAllowPatternValid(d.A) || strings.ContainsAny(d.A, whitespace) {
				return syntaxf("invalid device %q: want a normalized path below /dev/, or char-… or block-…", d.A)
			}
			if strings.Trim(d.B, "rwm") != "" {
				return syntaxf("invalid access %q: want a combination of r, w and m", d.B)
			}
		}
		return nil
	}, "DeviceAllow")

	// Commands.
	execPath := func(path string) error {
		if !strings.HasPrefix(path, "/") && !filenameValid(path) {
			return syntaxf("%q is neither an absolute path nor a file name", path)
		}
		return nil
	}
	reg(func(v Version, val any) error {
		switch cmds := val.(type) {
		case []execCommand:
			for _, c := range cmds {
				if err := execPath(c.Path); err != nil {
					return err
				}
			}
		case []execCommandEx:
			for _, c := range cmds {
				if err := execPath(c.Path); err != nil {
					return err
				}
			}
		}
		return nil
	}, "ExecCondition", "ExecStartPre", "ExecStart", "ExecStartPost", "ExecConditionEx",
		"ExecStartPreEx", "ExecStartEx", "ExecStartPostEx", "ExecReload", "ExecStop", "ExecStopPost",
		"ExecReloadEx", "ExecStopEx", "ExecStopPostEx", "ExecReloadPost", "ExecReloadPostEx")

	// Environment.
	reg(func(v Version, val any) error {
		list, _ := val.([]string)
		seen := map[string]bool{}
		for _, a := range list {
			name, _, ok := strings.Cut(a, "=")
			if !ok || !envNameValid(name) || !utf8.ValidString(a) {
				return syntaxf("invalid environment assignment %q: want NAME=VALUE, NAME of letters, digits and '_', not starting with a digit", a)
			}
			if seen[name] {
				return syntaxf("%s assigned twice", name)
			}
			seen[name] = true
		}
		return nil
	}, "Environment")
	reg(stringList(func(v Version, s string) error {
		name, _, _ := strings.Cut(s, "=")
		if !envNameValid(name) || !utf8.ValidString(s) {
			return syntaxf("invalid variable %q: want NAME or NAME=VALUE, NAME of letters, digits and '_', not starting with a digit", s)
		}
		return nil
	}), "UnsetEnvironment")
	reg(stringList(func(v Version, s string) error {
		if !envNameValid(s) {
			return syntaxf("invalid variable name %q: want letters, digits and '_', not starting with a digit", s)
		}
		return nil
	}), "PassEnvironment")

	// Credentials.
	reg(func(v Version, val any) error {
		list, _ := val.([]stringBytes)
		for _, c := range list {
			if !credentialNameValid(c.ID) {
				return syntaxf("invalid credential ID %q: want a file name of printable ASCII without ':' or '/'", c.ID)
			}
		}
		return nil
	}, "SetCredential", "SetCredentialEncrypted")
	reg(func(v Version, val any) error {
		list, _ := val.([]stringPair)
		for _, c := range list {
			if !credentialNameValid(c.A) {
				return syntaxf("invalid credential ID %q: want a file name of printable ASCII without ':' or '/'", c.A)
			}
			if strings.HasPrefix(c.B, "/") && !pathIsNormalized(c.B) || !strings.HasPrefix(c.B, "/") && !credentialNameValid(c.B) {
				return syntaxf("invalid credential source %q: want a normalized absolute path or a credential name", c.B)
			}
		}
		return nil
	}, "LoadCredential", "LoadCredentialEncrypted")

	// ImportCredential= (254+) takes a credential name, optionally
	// ending in "*"; ImportCredentialEx (257+) also an optional new name.
	reg(stringList(func(v Version, s string) error {
		if !credentialGlobValid(s) {
			return syntaxf("invalid credential glob %q: want a credential name, optionally ending in *", s)
		}
		return nil
	}), "ImportCredential")
	reg(func(v Version, val any) error {
		list, _ := val.([]stringPair)
		for _, c := range list {
			if !credentialGlobValid(c.A) {
				return syntaxf("invalid credential glob %q: want a credential name, optionally ending in *", c.A)
			}
			if c.B != "" && !credentialNameValid(c.B) {
				return syntaxf("invalid credential name %q: want a file name of printable ASCII without ':' or '/'", c.B)
			}
		}
		return nil
	}, "ImportCredentialEx")

	// Journal fields.
	reg(func(v Version, val any) error {
		list, _ := val.([][]byte)
		for _, f := range list {
			name, _, ok := strings.Cut(string(f), "=")
			if !ok || !journalFieldValid(name) || !utf8.Valid(f) {
				return syntaxf("invalid journal field %q: want NAME=VALUE, NAME of A-Z, 0-9 and '_', not starting with '_' or a digit, at most 64", string(f))
			}
		}
		return nil
	}, "LogExtraFields")

	// Conditions and asserts.
	reg(func(v Version, val any) error {
		list, _ := val.([]condition)
		for _, c := range list {
			if c.Param == "" {
				return syntaxf("empty parameter: want a value after '|' and '!'")
			}
			if conditionTakesPath(c.Type) && !strings.HasPrefix(c.Param, "/") {
				return syntaxf("not an absolute path: %q", c.Param)
			}
		}
		return nil
	}, "Conditions", "Asserts")

	// Properties no manager from 252 to 262 sets on a transient unit.
	// bus_unit_set_transient_property handles JobTimeoutUSec but does not
	// return, so it ends in "Cannot set property JobTimeoutUSec, or
	// unknown property" (the same code in 252.39, 254.26, 257.13, 262).
	reg(func(v Version, val any) error {
		return syntaxf("the manager cannot set JobTimeoutSec= on a transient unit (a bug in systemd 252..262): use JobRunningTimeoutSec=")
	}, "JobTimeoutUSec")
	// The manager has no StandardInputText property (only
	// StandardInputData); systemd-run 252..257 sends it anyway and fails,
	// 258+ sends StandardInputData instead (so this never applies there).
	reg(func(v Version, val any) error {
		return syntaxf("the manager has no StandardInputText property: use StandardInputData= with the text in base64")
	}, "StandardInputText")

	// Numbers the client takes wider than the manager.
	reg(func(v Version, val any) error {
		switch n, _ := val.(int32); {
		case n == 0, n == 1, n == 2, n == 3, n == 5:
			return nil
		case n == 7 && v.effective() >= V258: // SCHED_EXT
			return nil
		case v.effective() >= V258:
			return syntaxf("invalid scheduling policy: want other, batch, idle, fifo, rr, ext or 0, 1, 2, 3, 5, 7")
		}
		return syntaxf("invalid scheduling policy: want other, batch, idle, fifo, rr or 0, 1, 2, 3, 5")
	}, "CPUSchedulingPolicy")
	reg(int32Range(0, 99), "CPUSchedulingPriority")
	reg(func(v Version, val any) error {
		if n, _ := val.(int32); n < 0 || n > 3 {
			return syntaxf("invalid I/O scheduling class: want none, realtime, best-effort, idle or 0..3")
		}
		return nil
	}, "IOSchedulingClass")
	reg(int32Range(-1000, 1000), "OOMScoreAdjust")
	reg(uint64Min(1), "MemoryHigh", "MemoryMax", "MemoryLimit", "TasksMax")
	reg(func(v Version, val any) error {
		if n, _ := val.(uint32); n == 0 {
			return rangef("above 0%%")
		}
		return nil
	}, "MemoryHighScale", "MemoryMaxScale", "MemoryLimitScale")
	reg(func(v Version, val any) error {
		if n, _ := val.(uint32); n == 0 || n == 1<<32-1 {
			return rangef("above 0%% and below 100%%")
		}
		return nil
	}, "TasksMaxScale")
}

// stringCheck adapts a check of one string.
func stringCheck(f func(Version, string) error) managerCheck {
	return func(v Version, val any) error {
		s, _ := val.(string)
		return f(v, s)
	}
}

// stringList adapts a check of one string to an as property.
func stringList(f func(Version, string) error) managerCheck {
	return func(v Version, val any) error {
		list, _ := val.([]string)
		for _, s := range list {
			if err := f(v, s); err != nil {
				return err
			}
		}
		return nil
	}
}

func int32Range(lo, hi int32) managerCheck {
	return func(v Version, val any) error {
		if n, _ := val.(int32); n < lo || n > hi {
			return rangef("%d..%d", lo, hi)
		}
		return nil
	}
}

func uint64Min(lo uint64) managerCheck {
	return func(v Version, val any) error {
		if n, _ := val.(uint64); n < lo {
			return rangef("at least %d", lo)
		}
		return nil
	}
}

// transientDependencies are the dependency types a transient unit may be
// given (bus_unit_set_transient_property, the same in 252..262).
var transientDependencies = map[string]bool{
	"Requires": true, "Requisite": true, "Wants": true, "BindsTo": true, "PartOf": true,
	"Upholds": true, "Conflicts": true, "Before": true, "After": true, "OnSuccess": true,
	"OnFailure": true, "PropagatesReloadTo": true, "ReloadPropagatedFrom": true,
	"PropagatesStopTo": true, "StopPropagatedFrom": true, "JoinsNamespaceOf": true,
}

func dependencyCheck(name string) managerCheck {
	if !transientDependencies[name] {
		return func(v Version, val any) error {
			return syntaxf("%s= cannot be set on a transient unit: want one of %s", name, transientDependencyList())
		}
	}
	return stringList(func(v Version, s string) error {
		if !unitNameValid(s, true) {
			return syntaxf("invalid unit name %q: want NAME.TYPE of letters, digits and ':-_.\\', with an optional @INSTANCE", s)
		}
		return nil
	})
}

func transientDependencyList() string {
	var names []string
	for _, d := range unitDependencies {
		if transientDependencies[d] {
			names = append(names, d)
		}
	}
	return orList(names)
}

// checkWorkingDirectory: an optional "-", then nothing, "~" or an absolute
// path that is normalized once simplified (no ".." components). 257 and
// newer refuse that with InvalidArgs; 252 and 254 accept the property but
// then fail to load the unit ("Access denied": unit_require_mounts_for
// refuses the path with EPERM), confirmed by TestManagerConfirm on 252.
// From 257 on (not in 254), "-" alone is refused as well.
func checkWorkingDirectory(v Version, s string) error {
	if s == "" {
		return nil
	}
	p := strings.TrimPrefix(s, "-")
	if p == "~" || p == "" && v < V257 {
		return nil
	}
	if !strings.HasPrefix(p, "/") {
		return syntaxf("want an absolute path or ~, optionally after -")
	}
	if !pathIsNormalized(pathSimplify(p)) {
		return syntaxf("want a normalized path (no .. components) or ~")
	}
	return nil
}

// checkDirectory: StateDirectory= and friends take normalized relative
// paths, not below "private".
func checkDirectory(v Version, s string) error {
	switch {
	case strings.HasPrefix(s, "/"):
		return syntaxf("%q is absolute: want a path relative to the directory's base, like borgrun", s)
	case !pathIsNormalized(s):
		return syntaxf("%q is not normalized: want a relative path without . or .. components", s)
	case s == "private" || strings.HasPrefix(s, "private/"):
		return syntaxf("%q: the path cannot be below \"private\"", s)
	}
	return nil
}

// Validators of systemd's src/basic and src/shared.

// pathIsValid: not empty, no component longer than 255 bytes, shorter
// than 4096 bytes.
func pathIsValid(p string) bool {
	if p == "" || len(p) >= 4096 {
		return false
	}
	for _, c := range strings.Split(p, "/") {
		if len(c) > 255 {
			return false
		}
	}
	return true
}

// pathIsNormalized: valid, no "." or ".." components and no "//".
func pathIsNormalized(p string) bool {
	if !pathIsValid(p) {
		return false
	}
	for _, c := range strings.Split(p, "/") {
		if c == "." || c == ".." {
			return false
		}
	}
	return !strings.Contains(p, "//")
}

// filenameValid: not empty, not "." or "..", no "/", at most 255 bytes.
func filenameValid(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.Contains(s, "/") && len(s) <= 255
}

// fdnameValid: printable ASCII without ':', at most 255 bytes.
func fdnameValid(s string) bool {
	if len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] >= 127 || s[i] == ':' {
			return false
		}
	}
	return true
}

func credentialNameValid(s string) bool { return filenameValid(s) && fdnameValid(s) }

// credentialGlobValid is credential_glob_valid: a credential name, "*",
// or a credential name followed by "*"; no other "*?[]".
func credentialGlobValid(s string) bool {
	if s == "" {
		return false
	}
	n := strings.IndexAny(s, "*?[]")
	switch {
	case n < 0:
		return credentialNameValid(s)
	case s[n:] != "*":
		return false
	case n == 0:
		return true
	}
	return credentialNameValid(s[:n])
}

// envNameValid: letters, digits and '_', not starting with a digit.
func envNameValid(s string) bool {
	if s == "" || isDigit(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_') {
			return false
		}
	}
	return true
}

// journalFieldValid: A-Z, 0-9 and '_', not starting with '_' or a digit,
// 1..64 bytes.
func journalFieldValid(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '_' || isDigit(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || isDigit(c) || c == '_') {
			return false
		}
	}
	return true
}

// validUserGroupNameOrID is valid_user_group_name with
// VALID_USER_ALLOW_NUMERIC|VALID_USER_RELAX: a valid UID/GID, or a name
// that is not empty, has no surrounding spaces, control characters, ':'
// or '/', is valid UTF-8, is not all digits (or '-' and digits) and is
// not "." or "..".
func validUserGroupNameOrID(s string) bool {
	if s == "" {
		return false
	}
	if n, err := strconv.ParseUint(s, 10, 32); err == nil && allDigits(s) {
		return n != 65535 && n != 1<<32-1
	}
	if strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") || !utf8.ValidString(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 127 || s[i] == ':' || s[i] == '/' {
			return false
		}
	}
	if allDigits(s) || s[0] == '-' && allDigits(s[1:]) {
		return false
	}
	return s != "." && s != ".."
}

// allDigits is in_charset(s, DIGITS): true for "" too.
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// unitNameValid is unit_name_is_valid with UNIT_NAME_PLAIN, and
// UNIT_NAME_INSTANCE if instance.
func unitNameValid(s string, instance bool) bool {
	switch unitNameFormOf(s) {
	case plainUnitName:
		return true
	case instanceUnitName:
		return instance
	}
	return false
}

// logNamespaceValid is log_namespace_name_valid.
func logNamespaceValid(s string) bool {
	if !filenameValid(s) || len(s) > 222 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !unitNameChar(s[i]) && s[i] != '@' {
			return false
		}
	}
	return true
}

// busNameValid is sd_bus_service_name_is_valid: a unique name (":1.42")
// or a well-known name of at least two dot-separated elements of letters,
// digits, '_' and '-' that do not start with a digit; at most 255 bytes.
func busNameValid(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	unique := s[0] == ':'
	if unique {
		s = s[1:]
	}
	elems := strings.Split(s, ".")
	if len(elems) < 2 {
		return false
	}
	for _, e := range elems {
		if e == "" || !unique && isDigit(e[0]) {
			return false
		}
		for i := 0; i < len(e); i++ {
			c := e[i]
			if !(isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-') {
				return false
			}
		}
	}
	return true
}

// documentationURLValid is documentation_url_is_valid: http://, https://
// or file:/ followed by ASCII, or info: or man: followed by ASCII; never
// just the prefix.
func documentationURLValid(s string) bool {
	for _, p := range []string{"http://", "https://", "file:/", "info:", "man:"} {
		if rest, ok := strings.CutPrefix(s, p); ok {
			return rest != "" && asciiOnly(rest)
		}
	}
	return false
}

// asciiOnly is ascii_is_valid: no byte above 127.
func asciiOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 128 {
			return false
		}
	}
	return true
}

// deviceAllowPatternValid is valid_device_allow_pattern.
func deviceAllowPatternValid(p string) bool {
	if strings.HasPrefix(p, "block-") || strings.HasPrefix(p, "char-") {
		return true
	}
	if !strings.HasPrefix(p, "/dev/") && !strings.HasPrefix(p, "/run/systemd/inaccessible/") {
		return false
	}
	return !strings.HasSuffix(p, "/") && pathIsNormalized(p)
}

// conditionTakesPath is condition_takes_path.
func conditionTakesPath(t string) bool {
	switch strings.TrimPrefix(strings.TrimPrefix(t, "Condition"), "Assert") {
	case "PathExists", "PathExistsGlob", "PathIsDirectory", "PathIsSymbolicLink",
		"PathIsMountPoint", "PathIsReadWrite", "PathIsEncrypted", "DirectoryNotEmpty",
		"FileNotEmpty", "FileIsExecutable", "NeedsUpdate":
		return true
	}
	return false
}
