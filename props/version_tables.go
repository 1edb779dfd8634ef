package props

import (
	"math"
	"math/bits"
	"path"
	"strings"
)

// The per-version facts below were read from systemd-run's
// src/shared/bus-unit-util.c at 252.39, 254.26, 257.13 and 262 (Debian's
// source packages), and dated within those ranges by the "Added in
// version" notes of systemd 262's man pages and its NEWS; see
// notes/versions-props.md in the research notes.

// typeMask selects the unit types a name is valid for.
type typeMask uint8

const (
	forService typeMask = 1 << iota
	forTimer
	forScope
	forPath
	forSocket

	// The groups of bus-unit-util.c, by the unit types that try them.
	forUnitGroup    = forService | forTimer | forScope | forPath | forSocket
	forCgroupGroup  = forService | forScope | forSocket // also kill
	forExecGroup    = forService | forSocket
	forServiceGroup = forService
)

func typeBit(t UnitType) typeMask {
	switch t {
	case Service:
		return forService
	case Timer:
		return forTimer
	case Scope:
		return forScope
	case Path:
		return forPath
	case Socket:
		return forSocket
	}
	return 0
}

// addedName is an assignment name systemd-run gained after 252.
type addedName struct {
	name  string
	since Version
	types typeMask
	h     handler
}

// changedName is a name systemd-run already had whose encoding or
// validation changed in version since.
type changedName struct {
	names []string
	since Version
	types typeMask
	h     handler
	// beyond is set where props goes beyond systemd-run: from since on,
	// props encodes what that version's own systemd-run refuses, because
	// its manager takes it (see [Beyond]); a later entry for the same
	// names, where systemd-run caught up, clears it.
	beyond bool
}

func added(since Version, types typeMask, h handler, names ...string) []addedName {
	out := make([]addedName, len(names))
	for i, n := range names {
		out[i] = addedName{n, since, types, h}
	}
	return out
}

func conditionsAdded(since Version, suffixes ...string) []addedName {
	var out []addedName
	for _, s := range suffixes {
		out = append(out, addedName{"Condition" + s, since, forUnitGroup, conditionHandler("Conditions")},
			addedName{"Assert" + s, since, forUnitGroup, conditionHandler("Asserts")})
	}
	return out
}

// addedNames lists every name added to systemd-run 253..262, tagged with
// the group of bus-unit-util.c that has it (cgroup, execute, service,
// unit, timer; path and socket), which decides the unit types that take
// it.
var addedNames = concat(
	// 253
	added(V253, forCgroupGroup, sendMemory, "MemoryZSwapMax"),
	added(V253, forExecGroup, sendLogFilterPatterns, "LogFilterPatterns"),
	added(V253, forCgroupGroup, sendSignal, "ReloadSignal"), // kill group until 257
	added(V253, forServiceGroup, sendOpenFile, "OpenFile"),
	// 254
	added(V254, forCgroupGroup, sendString, "DelegateSubgroup", "MemoryPressureWatch"),
	added(V254, forExecGroup, sendString, "RootImagePolicy", "MountImagePolicy", "ExtensionImagePolicy"),
	added(V254, forServiceGroup, sendString, "RestartMode", "FileDescriptorStorePreserve"),
	added(V254, forCgroupGroup, sendSecRename, "MemoryPressureThresholdSec"),
	added(V254, forServiceGroup, sendSecRename, "RestartMaxDelaySec"),
	added(V254, forExecGroup, sendBool, "MemoryKSM", "RootEphemeral"),
	added(V254, forExecGroup, sendImportCredential, "ImportCredential"),
	added(V254, forServiceGroup, sendAtou, "RestartSteps"),
	// 255
	added(V255, forCgroupGroup, sendBool, "CoredumpReceive"),
	added(V255, forExecGroup, sendBool, "SetLoginEnvironment"),
	added(V255, forCgroupGroup, sendNFTSet, "NFTSet"),
	added(V255, forUnitGroup, sendBool, "SurviveFinalKillSignal"),
	added(V255, forPath|forSocket, sendAtou, "PollLimitBurst"),
	added(V255, forPath|forSocket, sendSecRename, "PollLimitIntervalSec"),
	// 256
	added(V256, forCgroupGroup, sendBool, "MemoryZSwapWriteback"),
	added(V256, forUnitGroup, strvHandler(exUnquote), "WantsMountsFor"),
	added(V256, forSocket, sendBool, "PassFileDescriptorsToExec"),
	// 257
	added(V257, forCgroupGroup, sendSecRenameEmptyInfinity, "ManagedOOMMemoryPressureDurationSec"),
	added(V257, forExecGroup, sendBool, "BindLogSockets"),
	added(V257, forExecGroup, sendString, "PrivatePIDs", "PrivateTmpEx", "PrivateUsersEx", "ProtectControlGroupsEx"),
	added(V257, forExecGroup, sendImportCredentialEx, "ImportCredentialEx"),
	added(V257, forTimer, sendBool, "DeferReactivation"),
	// 258
	added(V258, forExecGroup, sendString, "PrivateBPF", "BPFDelegateCommands", "BPFDelegateMaps", "BPFDelegatePrograms", "BPFDelegateAttachments"),
	added(V258, forExecGroup, sendQuotaDirectory, "StateDirectoryQuota", "CacheDirectoryQuota", "LogsDirectoryQuota"),
	added(V258, forExecGroup, sendBool, "StateDirectoryAccounting", "CacheDirectoryAccounting", "LogsDirectoryAccounting"),
	added(V258, forExecGroup, namespaceListHandler(true), "DelegateNamespaces"),
	added(V258, forExecGroup, sendProtectHostname, "ProtectHostnameEx"),
	added(V258, forTimer, sendSecRename, "RandomizedOffsetSec"),
	added(V258, forSocket, sendString, "DeferTrigger"),
	added(V258, forSocket, sendSecRename, "DeferTriggerMaxSec"),
	conditionsAdded(V258, "Version", "KernelModuleLoaded"),
	// 259
	added(V259, forExecGroup, sendString, "UserNamespacePath"),
	added(V259, forServiceGroup, sendExecCommand, "ExecReloadPost", "ExecReloadPostEx"),
	// 260
	added(V260, forCgroupGroup, sendString, "BindNetworkInterface"),
	added(V260, forExecGroup, sendString, "MemoryTHP", "RootMStack"),
	added(V260, forServiceGroup, sendRefreshOnReload, "RefreshOnReload"),
	conditionsAdded(V260, "PathIsSocket"),
	// 261
	added(V261, forCgroupGroup, sendString, "CPUPressureWatch", "IOPressureWatch", "CPUSetPartition"),
	added(V261, forCgroupGroup, sendSecRename, "CPUPressureThresholdSec", "IOPressureThresholdSec"),
	added(V261, forCgroupGroup, strvHandler(exUnquote), "OOMRules"),
	conditionsAdded(V261, "Fraction", "MachineTag"),
	// 262
	added(V262, forServiceGroup, strvHandler(exUnquote), "LUOSession"),
	added(V262, forServiceGroup, sendSecRename, "RestartRandomizedDelaySec"),
	added(V262, forSocket, sendXAttr, "XAttrEntryPoint", "XAttrListen", "XAttrAccept"),
)

func concat(lists ...[]addedName) []addedName {
	var out []addedName
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// cgroupV1Names are the settings that systemd-run 258 and newer accept
// but only warn about ("D-Bus property X is deprecated, ignoring
// assignment") and do not send; the 258+ manager skips them too.
var cgroupV1Names = []string{"MemoryLimit", "CPUShares", "StartupCPUShares", "BlockIOAccounting",
	"BlockIOWeight", "StartupBlockIOWeight", "BlockIODeviceWeight", "BlockIOReadBandwidth",
	"BlockIOWriteBandwidth", "CPUAccounting", "DefaultMemoryMin", "DefaultMemoryLow"}

// changedNames lists encodings that changed after 252, applied in order.
var changedNames = []changedName{
	// 257: the manager has the …Ex string properties, but 257's
	// systemd-run only takes booleans for the plain names. props
	// translates non-boolean values as 258's systemd-run does, for every
	// manager that has the property: beyond 257's own systemd-run.
	{[]string{"PrivateTmp", "PrivateTmpEx", "ProtectControlGroups", "ProtectControlGroupsEx",
		"PrivateUsers", "PrivateUsersEx"}, V257, forExecGroup, sendBoolOrExString, true},
	// 258: non-boolean values travel as the …Ex string property; the
	// …Ex names take booleans too, sent under the plain name.
	{[]string{"PrivateTmp", "PrivateTmpEx", "ProtectControlGroups", "ProtectControlGroupsEx",
		"PrivateUsers", "PrivateUsersEx"}, V258, forExecGroup, sendBoolOrExString, false},
	{[]string{"ProtectHostname"}, V258, forExecGroup, sendProtectHostname, false},
	// 258: cgroup v1 settings are accepted, warned about and not sent.
	{cgroupV1Names, V258, forCgroupGroup, sendNothing, false},
	// 258: NAMESPACE_FLAGS_ALL includes the time namespace.
	{[]string{"RestrictNamespaces"}, V258, forExecGroup, namespaceListHandler(false), false},
	// 258: ImportCredential=NAME:RENAME is sent as ImportCredentialEx.
	{[]string{"ImportCredential"}, V258, forExecGroup, sendImportCredentialRename, false},

	// The four below were found by TestConfirm on systemd 262 (forky):
	// 257.13 behaves as 252, 262 as below. Dated 258, when
	// bus-unit-util.c became tables, but not confirmed for 258..261.
	//
	// StandardInputText= is sent as StandardInputData: no manager has a
	// StandardInputText property, so 252..257 fail at the manager.
	{[]string{"StandardInputText"}, V258, forExecGroup, sendStandardInputText258, false},
	// IODeviceLatencyTargetSec= (empty) sends an empty a(st), where
	// 252..257 passed USEC_INFINITY as the array length and failed.
	{[]string{"IODeviceLatencyTargetSec"}, V258, forCgroupGroup, sendIODeviceLatency258, false},
	// parse_cpu_set rejects a reversed range ("3-1"); 252..257 ignored it.
	{[]string{"AllowedCPUs", "StartupAllowedCPUs", "AllowedMemoryNodes", "StartupAllowedMemoryNodes",
		"CPUAffinity", "NUMAMask"}, V258, forCgroupGroup, rejectReversedCPURange, false},
	// ioprio_class_from_string takes numbers up to IOPRIO_NR_CLASSES-1
	// (3), no longer IOPRIO_N_CLASSES (8).
	// 258: ReloadSignal= moved from the kill group to the service's:
	// scopes and sockets no longer take it.
	{[]string{"ReloadSignal"}, V258, forScope | forSocket, nil, false},
	// MessageQueueMessageSize= is a size (parse_size, base 1024), no
	// longer an integer.
	{[]string{"MessageQueueMessageSize"}, V258, forSocket, sendSizeInt64, false},
	{[]string{"IOSchedulingClass"}, V258, forExecGroup, lookupFallback(ioprioClasses, 3, "I/O scheduling class"), false},
}

// sendStandardInputText258 (258+): the 252 encoding, sent as
// StandardInputData.
func sendStandardInputText258(name, v string) ([]Property, error) {
	ps, err := tables[Service][name](name, v)
	for i := range ps {
		ps[i].Name = "StandardInputData"
	}
	return ps, err
}

// sendIODeviceLatency258 (258+): an empty value resets the list.
func sendIODeviceLatency258(name, v string) ([]Property, error) {
	if v == "" {
		return one("IODeviceLatencyTargetUSec", []pathValue{})
	}
	return tables[Service][name](name, v)
}

// rejectReversedCPURange (258+): the 252 CPU set encoding, but a range
// whose start exceeds its end is an error.
func rejectReversedCPURange(name, v string) ([]Property, error) {
	c := cursor{s: v}
	for {
		w, ok, err := c.next(whitespace+",", exUnquote)
		if err != nil || !ok {
			break
		}
		if lo, hi, err := parseRange(w); err == nil && lo > hi {
			return nil, syntaxf("invalid CPU range %q: %d > %d", w, lo, hi)
		}
	}
	return tables[Service][name](name, v)
}

// Handlers for names added after 252.

func sendSignal(name, v string) ([]Property, error) {
	sig, err := signalFromString(v)
	if err != nil {
		return nil, err
	}
	return one(name, sig)
}

// sendNothing is what systemd-run 258+ does with a cgroup-v1 setting:
// warn (see Ignored) and send no property.
func sendNothing(name, v string) ([]Property, error) { return []Property{}, nil }

// sendSecRenameEmptyInfinity is sendSecRename where an empty value means
// infinity (ManagedOOMMemoryPressureDurationSec=).
func sendSecRenameEmptyInfinity(name, v string) ([]Property, error) {
	if v == "" {
		v = "infinity"
	}
	return sendSecRename(name, v)
}

// boolString is a (bs) element: LogFilterPatterns (allow, pattern) and
// RefreshOnReload (invert, word).
type boolString struct {
	B bool
	S string
}

// sendLogFilterPatterns: one a(bs) element; a leading "~" marks a deny
// pattern.
func sendLogFilterPatterns(name, v string) ([]Property, error) {
	if strings.HasPrefix(v, "~") {
		return one(name, []boolString{{false, v[1:]}})
	}
	return one(name, []boolString{{true, v}})
}

// sendRefreshOnReload: a(bs), each whitespace-separated word with the
// invert flag of a leading "~".
func sendRefreshOnReload(name, v string) ([]Property, error) {
	invert := strings.HasPrefix(v, "~")
	if invert {
		v = v[1:]
	}
	words, err := splitWords(v, whitespace, 0)
	if err != nil {
		return nil, err
	}
	list := []boolString{}
	for _, w := range words {
		list = append(list, boolString{invert, w})
	}
	return one(name, list)
}

// sendImportCredential (254..257): as, the value verbatim; empty resets.
func sendImportCredential(name, v string) ([]Property, error) {
	if v == "" {
		return one("ImportCredential", []string{})
	}
	return one("ImportCredential", []string{v})
}

// sendImportCredentialRename (258+): GLOB:NAME goes to ImportCredentialEx
// a(ss); a value without ":" stays ImportCredential as.
func sendImportCredentialRename(name, v string) ([]Property, error) {
	if v == "" {
		return one("ImportCredential", []string{})
	}
	c := cursor{s: v}
	word, ok, err := c.next(":", exDontCoalesce)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, syntaxf("missing credential name")
	}
	if c.done {
		return one("ImportCredential", []string{v})
	}
	return one("ImportCredentialEx", []stringPair{{word, c.rest()}})
}

// sendImportCredentialEx: a(ss) of GLOB and NAME split at the first ":".
func sendImportCredentialEx(name, v string) ([]Property, error) {
	if v == "" {
		return one(name, []stringPair{})
	}
	c := cursor{s: v}
	word, ok, err := c.next(":", exDontCoalesce)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, syntaxf("missing argument to %s=", name)
	}
	return one(name, []stringPair{{word, c.rest()}})
}

// OpenFile= option flags (OPENFILE_*).
var openFileFlags = map[string]uint64{"read-only": 1, "append": 2, "truncate": 4, "graceful": 8}

// openFile is an (sst) element of OpenFile: path, fd name, flags.
type openFile struct {
	Path, FDName string
	Flags        uint64
}

// sendOpenFile parses PATH[:FDNAME[:OPTIONS]] (open_file_parse).
func sendOpenFile(name, v string) ([]Property, error) {
	c := cursor{s: v}
	var words []string
	for i := 0; i < 3; i++ {
		w, ok, err := c.next(":", exDontCoalesce|exCUnescape)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		words = append(words, w)
	}
	if len(words) == 0 {
		return nil, syntaxf("missing path: use PATH[:FDNAME[:OPTIONS]]")
	}
	if !c.done && c.rest() != "" {
		return nil, syntaxf("too many fields: use PATH[:FDNAME[:OPTIONS]]")
	}
	for len(words) < 3 {
		words = append(words, "")
	}
	of := openFile{Path: words[0], FDName: words[1]}
	if words[2] != "" {
		for _, o := range strings.Split(words[2], ",") {
			if o == "" {
				continue
			}
			f, ok := openFileFlags[o]
			if !ok || of.Flags&f != 0 {
				return nil, syntaxf("invalid option %q: use read-only, append, truncate, graceful", o)
			}
			of.Flags |= f
		}
	}
	if !strings.HasPrefix(of.Path, "/") {
		return nil, syntaxf("not an absolute path: %q", of.Path)
	}
	if of.FDName == "" {
		of.FDName = path.Base(pathSimplify(of.Path))
		if of.FDName == "/" {
			return nil, syntaxf("no file name in %q", of.Path)
		}
	}
	if len(of.FDName) > 255 || strings.IndexFunc(of.FDName, func(r rune) bool { return r < ' ' || r >= 127 || r == ':' }) >= 0 {
		return nil, syntaxf("invalid file descriptor name %q", of.FDName)
	}
	if n := bits.OnesCount64(of.Flags & 7); n > 1 {
		return nil, syntaxf("read-only, append and truncate exclude each other")
	}
	return one(name, []openFile{of})
}

// NFTSet= sources (NFT_SET_SOURCE_*) and families (NFPROTO_*).
var (
	nftSetSources = map[string]int32{"cgroup": 3, "user": 4, "group": 5}
	nfProtos      = map[string]int32{"inet": 1, "ip": 2, "arp": 3, "netdev": 5, "bridge": 7, "ip6": 10}
)

// nftSet is an (iiss) element of NFTSet: source, family, table, set.
type nftSet struct {
	Source, Family int32
	Table, Set     string
}

// sendNFTSet parses SOURCE:FAMILY:TABLE:SET words.
func sendNFTSet(name, v string) ([]Property, error) {
	words, err := splitWords(v, whitespace, exUnquote|exRetainEscape)
	if err != nil {
		return nil, err
	}
	list := []nftSet{}
	for _, w := range words {
		parts := strings.Split(w, ":")
		if len(parts) != 4 {
			return nil, syntaxf("invalid %q: use SOURCE:FAMILY:TABLE:SET", w)
		}
		src, ok := nftSetSources[parts[0]]
		if !ok {
			return nil, syntaxf("invalid source %q: use cgroup, user or group", parts[0])
		}
		fam, ok := nfProtos[parts[1]]
		if !ok {
			return nil, syntaxf("invalid family %q: use inet, ip, ip6, arp, bridge or netdev", parts[1])
		}
		if !nftIdentifierValid(parts[2]) || !nftIdentifierValid(parts[3]) {
			return nil, syntaxf("invalid table or set name in %q", w)
		}
		list = append(list, nftSet{src, fam, parts[2], parts[3]})
	}
	return one(name, list)
}

// nftIdentifierValid: a letter, then letters, digits, "/", "\", "_" or
// "."; at most 255 characters.
func nftIdentifierValid(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i, r := range s {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if i == 0 && !letter {
			return false
		}
		if !letter && !(r >= '0' && r <= '9') && !strings.ContainsRune("/\\_.", r) {
			return false
		}
	}
	return true
}

// quota is the (tus) of StateDirectoryQuota= and friends: absolute size,
// scale, "yes"/"no" enforce.
type quota struct {
	Absolute uint64
	Scale    uint32
	Enforce  string
}

func sendQuotaDirectory(name, v string) ([]Property, error) {
	q := quota{math.MaxUint64, math.MaxUint32, "no"}
	if v != "" && v != "off" {
		if p, err := parsePermyriad(v); err == nil {
			q.Scale = scaleFromPermyriad(p)
		} else if s, err := parseSize(v, 1024); err == nil {
			q.Absolute = s
		} else {
			return nil, describe(err, "size or percentage")
		}
		q.Enforce = "yes"
	}
	return one(name, q)
}

// sendBoolOrExString (258+): a boolean goes to the plain name as b, any
// other value to the …Ex name as s (the manager validates it).
func sendBoolOrExString(name, v string) ([]Property, error) {
	base := strings.TrimSuffix(name, "Ex")
	if b, err := parseBool(v); err == nil {
		return one(base, b)
	}
	return one(base+"Ex", v)
}

// sendProtectHostname (258+): a boolean goes to ProtectHostname b,
// "MODE[:HOSTNAME]" to ProtectHostnameEx (ss).
func sendProtectHostname(name, v string) ([]Property, error) {
	if b, err := parseBool(v); err == nil {
		return one("ProtectHostname", b)
	}
	mode, host, _ := strings.Cut(v, ":")
	if strings.Contains(v, ":") && host == "" {
		return nil, syntaxf("missing hostname after ':'")
	}
	return one("ProtectHostnameEx", stringPair{mode, host})
}

// namespaceFlagsAll258 is NAMESPACE_FLAGS_ALL from 258 on: with time.
const namespaceFlagsAll258 = namespaceFlagsAll | 0x80

// namespaceListHandler (258+) encodes RestrictNamespaces= (retained
// namespaces: yes means none) and DelegateNamespaces= (delegated
// namespaces, never user).
func namespaceListHandler(delegate bool) handler {
	return namespaceHandler(namespaceFlagsAll258, delegate)
}

// namespaceHandler encodes a list of namespaces: with delegate false,
// RestrictNamespaces= (the namespaces left allowed; yes means none, no
// means all, where all is all: 252 to 257 without time, 258+ with it);
// with delegate true, DelegateNamespaces= (the namespaces delegated, never
// user; yes means all).
func namespaceHandler(all uint64, delegate bool) handler {
	if delegate {
		user, _ := namespaceFlag("user")
		all &^= user
	}
	return func(name, v string) ([]Property, error) {
		if b, err := parseBool(v); err == nil {
			if b == delegate {
				return one(name, all)
			}
			return one(name, uint64(0))
		}
		invert := strings.HasPrefix(v, "~")
		words, err := splitWords(strings.TrimPrefix(v, "~"), whitespace, 0)
		if err != nil {
			return nil, err
		}
		var flags uint64
		for _, w := range words {
			f, ok := namespaceFlag(w)
			if !ok {
				return nil, syntaxf("invalid namespace %q: use yes, no or names among %s", w, namespaceNames())
			}
			flags |= f
		}
		if invert {
			flags = ^flags & all
		}
		return one(name, flags)
	}
}
