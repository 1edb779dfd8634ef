package props

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// researchAdded is what the research (notes/versions-props.md) found:
// for each version, the names systemd-run gained over the previous one,
// per unit type. Kept apart from addedNames so that a slip in either
// shows.
var researchAdded = map[Version]map[UnitType]string{
	V253: {Service: "MemoryZSwapMax LogFilterPatterns ReloadSignal OpenFile"},
	V254: {Service: "DelegateSubgroup MemoryPressureWatch MemoryPressureThresholdSec RootImagePolicy " +
		"MountImagePolicy ExtensionImagePolicy MemoryKSM RootEphemeral ImportCredential RestartMode " +
		"FileDescriptorStorePreserve RestartMaxDelaySec RestartSteps"},
	V255: {Service: "CoredumpReceive NFTSet SetLoginEnvironment SurviveFinalKillSignal",
		Timer: "SurviveFinalKillSignal"},
	V256: {Service: "MemoryZSwapWriteback WantsMountsFor", Timer: "WantsMountsFor"},
	V257: {Service: "ManagedOOMMemoryPressureDurationSec BindLogSockets PrivatePIDs PrivateTmpEx " +
		"PrivateUsersEx ProtectControlGroupsEx ImportCredentialEx", Timer: "DeferReactivation"},
	V258: {Service: "PrivateBPF BPFDelegateCommands BPFDelegateMaps BPFDelegatePrograms " +
		"BPFDelegateAttachments StateDirectoryQuota CacheDirectoryQuota LogsDirectoryQuota " +
		"StateDirectoryAccounting CacheDirectoryAccounting LogsDirectoryAccounting DelegateNamespaces " +
		"ProtectHostnameEx ConditionVersion AssertVersion ConditionKernelModuleLoaded AssertKernelModuleLoaded",
		Timer: "RandomizedOffsetSec ConditionVersion AssertVersion ConditionKernelModuleLoaded AssertKernelModuleLoaded"},
	V259: {Service: "UserNamespacePath ExecReloadPost ExecReloadPostEx"},
	V260: {Service: "BindNetworkInterface MemoryTHP RootMStack RefreshOnReload ConditionPathIsSocket AssertPathIsSocket",
		Timer: "ConditionPathIsSocket AssertPathIsSocket"},
	V261: {Service: "CPUPressureWatch IOPressureWatch CPUSetPartition CPUPressureThresholdSec " +
		"IOPressureThresholdSec OOMRules ConditionFraction AssertFraction ConditionMachineTag AssertMachineTag",
		Timer: "ConditionFraction AssertFraction ConditionMachineTag AssertMachineTag"},
	V262: {Service: "LUOSession RestartRandomizedDelaySec"},
}

// TestNamesForCompleteness checks that each version's name list is the
// previous one plus exactly what the research found, that none is ever
// removed, and that 252 equals Names.
func TestNamesForCompleteness(t *testing.T) {
	for _, ut := range []UnitType{Service, Timer} {
		if got, want := NamesFor(V252, ut), Names(ut); !reflect.DeepEqual(got, want) {
			t.Errorf("NamesFor(252, %s) differs from Names", ut)
		}
		for v := V253; v <= NewestVersion; v++ {
			prev := setOf(NamesFor(v-1, ut))
			cur := setOf(NamesFor(v, ut))
			var gained, lost []string
			for n := range cur {
				if !prev[n] {
					gained = append(gained, n)
				}
			}
			for n := range prev {
				if !cur[n] {
					lost = append(lost, n)
				}
			}
			sort.Strings(gained)
			want := strings.Fields(researchAdded[v][ut])
			sort.Strings(want)
			if !reflect.DeepEqual(gained, want) && !(len(gained) == 0 && len(want) == 0) {
				t.Errorf("%s %s: gained %v, research says %v", v, ut, gained, want)
			}
			if len(lost) > 0 {
				t.Errorf("%s %s: lost %v", v, ut, lost)
			}
			for _, n := range gained {
				if s, ok := Since(ut, n); !ok || s != v {
					t.Errorf("Since(%s, %s) = %d, %v; want %d", ut, n, s, ok, v)
				}
			}
		}
		if got, want := len(NamesFor(999, ut)), len(NamesFor(NewestVersion, ut)); got != want {
			t.Errorf("NamesFor(999, %s) has %d names, want the newest's %d", ut, got, want)
		}
	}
}

func setOf(l []string) map[string]bool {
	m := map[string]bool{}
	for _, s := range l {
		m[s] = true
	}
	return m
}

// TestParseForGolden covers every added name and every changed encoding.
func TestParseForGolden(t *testing.T) {
	u64max := uint64(math.MaxUint64)
	tests := []struct {
		v    Version
		t    UnitType
		in   string
		want []Property
	}{
		{V253, Service, "MemoryZSwapMax=1G", []Property{prop("MemoryZSwapMax", uint64(1<<30))}},
		{V253, Service, "LogFilterPatterns=~^foo", []Property{prop("LogFilterPatterns", []boolString{{false, "^foo"}})}},
		{V253, Service, "LogFilterPatterns=bar", []Property{prop("LogFilterPatterns", []boolString{{true, "bar"}})}},
		{V253, Service, "ReloadSignal=SIGUSR1", []Property{prop("ReloadSignal", int32(10))}},
		{V253, Service, "OpenFile=/etc/passwd", []Property{prop("OpenFile", []openFile{{"/etc/passwd", "passwd", 0}})}},
		{V253, Service, "OpenFile=/run/x:fd:read-only,graceful", []Property{prop("OpenFile", []openFile{{"/run/x", "fd", 9}})}},
		{V254, Service, "DelegateSubgroup=sub", []Property{prop("DelegateSubgroup", "sub")}},
		{V254, Service, "MemoryPressureWatch=auto", []Property{prop("MemoryPressureWatch", "auto")}},
		{V254, Service, "MemoryPressureThresholdSec=200ms", []Property{prop("MemoryPressureThresholdUSec", uint64(200000))}},
		{V254, Service, "RootImagePolicy=root=verity", []Property{prop("RootImagePolicy", "root=verity")}},
		{V254, Service, "MountImagePolicy=*", []Property{prop("MountImagePolicy", "*")}},
		{V254, Service, "ExtensionImagePolicy=*", []Property{prop("ExtensionImagePolicy", "*")}},
		{V254, Service, "MemoryKSM=yes", []Property{prop("MemoryKSM", true)}},
		{V254, Service, "RootEphemeral=no", []Property{prop("RootEphemeral", false)}},
		{V254, Service, "ImportCredential=borg.*", []Property{prop("ImportCredential", []string{"borg.*"})}},
		// ImportCredential=a:b (sent verbatim by 254..257, refused by
		// their managers): TestImportCredentialVerbatim in manager_test.go.
		{V254, Service, "ImportCredential=", []Property{prop("ImportCredential", []string{})}},
		{V254, Service, "RestartMode=direct", []Property{prop("RestartMode", "direct")}},
		{V254, Service, "FileDescriptorStorePreserve=yes", []Property{prop("FileDescriptorStorePreserve", "yes")}},
		{V254, Service, "RestartMaxDelaySec=1min", []Property{prop("RestartMaxDelayUSec", uint64(60000000))}},
		{V254, Service, "RestartSteps=5", []Property{prop("RestartSteps", uint32(5))}},
		{V255, Service, "CoredumpReceive=yes", []Property{prop("CoredumpReceive", true)}},
		{V255, Service, "SetLoginEnvironment=no", []Property{prop("SetLoginEnvironment", false)}},
		{V255, Service, "NFTSet=cgroup:inet:filter:borg", []Property{prop("NFTSet", []nftSet{{3, 1, "filter", "borg"}})}},
		{V255, Service, "NFTSet=", []Property{prop("NFTSet", []nftSet{})}},
		{V255, Service, "SurviveFinalKillSignal=yes", []Property{prop("SurviveFinalKillSignal", true)}},
		{V255, Timer, "SurviveFinalKillSignal=yes", []Property{prop("SurviveFinalKillSignal", true)}},
		{V256, Service, "MemoryZSwapWriteback=no", []Property{prop("MemoryZSwapWriteback", false)}},
		{V256, Service, "WantsMountsFor=/srv /mnt", []Property{prop("WantsMountsFor", []string{"/srv", "/mnt"})}},
		{V257, Service, "ManagedOOMMemoryPressureDurationSec=", []Property{prop("ManagedOOMMemoryPressureDurationUSec", u64max)}},
		{V257, Service, "ManagedOOMMemoryPressureDurationSec=20s", []Property{prop("ManagedOOMMemoryPressureDurationUSec", uint64(20000000))}},
		{V257, Service, "BindLogSockets=yes", []Property{prop("BindLogSockets", true)}},
		{V257, Service, "PrivatePIDs=yes", []Property{prop("PrivatePIDs", "yes")}},
		{V257, Service, "PrivateTmpEx=disconnected", []Property{prop("PrivateTmpEx", "disconnected")}},
		{V257, Service, "PrivateUsersEx=identity", []Property{prop("PrivateUsersEx", "identity")}},
		{V257, Service, "ProtectControlGroupsEx=strict", []Property{prop("ProtectControlGroupsEx", "strict")}},
		{V257, Service, "ImportCredentialEx=a.*:b", []Property{prop("ImportCredentialEx", []stringPair{{"a.*", "b"}})}},
		{V257, Timer, "DeferReactivation=yes", []Property{prop("DeferReactivation", true)}},
		{V258, Service, "PrivateBPF=yes", []Property{prop("PrivateBPF", "yes")}},
		{V258, Service, "BPFDelegateCommands=map_create", []Property{prop("BPFDelegateCommands", "map_create")}},
		{V258, Service, "BPFDelegateMaps=array", []Property{prop("BPFDelegateMaps", "array")}},
		{V258, Service, "BPFDelegatePrograms=xdp", []Property{prop("BPFDelegatePrograms", "xdp")}},
		{V258, Service, "BPFDelegateAttachments=xdp", []Property{prop("BPFDelegateAttachments", "xdp")}},
		{V258, Service, "StateDirectoryQuota=1G", []Property{prop("StateDirectoryQuota", quota{1 << 30, math.MaxUint32, "yes"})}},
		{V258, Service, "CacheDirectoryQuota=50%", []Property{prop("CacheDirectoryQuota", quota{u64max, scaleFromPermyriad(5000), "yes"})}},
		{V258, Service, "LogsDirectoryQuota=off", []Property{prop("LogsDirectoryQuota", quota{u64max, math.MaxUint32, "no"})}},
		{V258, Service, "StateDirectoryAccounting=yes", []Property{prop("StateDirectoryAccounting", true)}},
		{V258, Service, "CacheDirectoryAccounting=no", []Property{prop("CacheDirectoryAccounting", false)}},
		{V258, Service, "LogsDirectoryAccounting=yes", []Property{prop("LogsDirectoryAccounting", true)}},
		{V258, Service, "DelegateNamespaces=yes", []Property{prop("DelegateNamespaces", uint64(0x6E020080))}},
		{V258, Service, "DelegateNamespaces=~net", []Property{prop("DelegateNamespaces", uint64(0x2E020080))}},
		{V258, Service, "ProtectHostnameEx=private:borg", []Property{prop("ProtectHostnameEx", stringPair{"private", "borg"})}},
		{V258, Timer, "RandomizedOffsetSec=1h", []Property{prop("RandomizedOffsetUSec", uint64(3600000000))}},
		{V258, Service, "ConditionVersion=systemd >= 258", []Property{prop("Conditions", []condition{{"ConditionVersion", false, false, "systemd >= 258"}})}},
		{V258, Timer, "AssertKernelModuleLoaded=!fuse", []Property{prop("Asserts", []condition{{"AssertKernelModuleLoaded", false, true, "fuse"}})}},
		{V259, Service, "UserNamespacePath=/proc/1/ns/user", []Property{prop("UserNamespacePath", "/proc/1/ns/user")}},
		{V259, Service, "ExecReloadPost=/bin/true", []Property{prop("ExecReloadPost", []execCommand{{"/bin/true", []string{"/bin/true"}, false}})}},
		{V259, Service, "ExecReloadPostEx=:/bin/true", []Property{prop("ExecReloadPostEx", []execCommandEx{{"/bin/true", []string{"/bin/true"}, []string{"no-env-expand"}}})}},
		{V260, Service, "BindNetworkInterface=eth0", []Property{prop("BindNetworkInterface", "eth0")}},
		{V260, Service, "MemoryTHP=never", []Property{prop("MemoryTHP", "never")}},
		{V260, Service, "RootMStack=/srv/stack", []Property{prop("RootMStack", "/srv/stack")}},
		{V260, Service, "RefreshOnReload=~credentials extensions", []Property{prop("RefreshOnReload", []boolString{{true, "credentials"}, {true, "extensions"}})}},
		{V260, Timer, "ConditionPathIsSocket=|/run/x", []Property{prop("Conditions", []condition{{"ConditionPathIsSocket", true, false, "/run/x"}})}},
		{V261, Service, "CPUPressureWatch=on", []Property{prop("CPUPressureWatch", "on")}},
		{V261, Service, "IOPressureWatch=off", []Property{prop("IOPressureWatch", "off")}},
		{V261, Service, "CPUSetPartition=root", []Property{prop("CPUSetPartition", "root")}},
		{V261, Service, "CPUPressureThresholdSec=1s", []Property{prop("CPUPressureThresholdUSec", uint64(1000000))}},
		{V261, Service, "IOPressureThresholdSec=1s", []Property{prop("IOPressureThresholdUSec", uint64(1000000))}},
		{V261, Service, "OOMRules=a b", []Property{prop("OOMRules", []string{"a", "b"})}},
		{V261, Service, "ConditionFraction=50%", []Property{prop("Conditions", []condition{{"ConditionFraction", false, false, "50%"}})}},
		{V261, Service, "AssertMachineTag=backup", []Property{prop("Asserts", []condition{{"AssertMachineTag", false, false, "backup"}})}},
		{V262, Service, "LUOSession=a", []Property{prop("LUOSession", []string{"a"})}},
		{V262, Service, "RestartRandomizedDelaySec=5s", []Property{prop("RestartRandomizedDelayUSec", uint64(5000000))}},

		// Changed encodings.
		{V257, Service, "PrivateTmp=yes", []Property{prop("PrivateTmp", true)}},
		{V258, Service, "PrivateTmp=disconnected", []Property{prop("PrivateTmpEx", "disconnected")}},
		// Beyond 257's own systemd-run: its manager has PrivateTmpEx.
		{V257, Service, "PrivateTmp=disconnected", []Property{prop("PrivateTmpEx", "disconnected")}},
		{V257, Service, "ProtectControlGroups=strict", []Property{prop("ProtectControlGroupsEx", "strict")}},
		{V257, Service, "PrivateTmp=yes", []Property{prop("PrivateTmp", true)}},
		{V258, Service, "PrivateTmpEx=yes", []Property{prop("PrivateTmp", true)}},
		{V258, Service, "PrivateUsers=identity", []Property{prop("PrivateUsersEx", "identity")}},
		{V258, Service, "ProtectControlGroups=private", []Property{prop("ProtectControlGroupsEx", "private")}},
		{V257, Service, "ProtectHostname=yes", []Property{prop("ProtectHostname", true)}},
		{V258, Service, "ProtectHostname=private", []Property{prop("ProtectHostnameEx", stringPair{"private", ""})}},
		{V262, Service, "ProtectHostname=private:borg", []Property{prop("ProtectHostnameEx", stringPair{"private", "borg"})}},
		{V262, Service, "ProtectHostname=no", []Property{prop("ProtectHostname", false)}},
		{V257, Service, "MemoryLimit=1G", []Property{prop("MemoryLimit", uint64(1<<30))}},
		{V258, Service, "MemoryLimit=1G", []Property{}},
		{V262, Service, "CPUShares=100", []Property{}},
		{V262, Service, "CPUAccounting=yes", []Property{}},
		{V262, Service, "BlockIOWeight=100", []Property{}},
		{V257, Service, "RestrictNamespaces=~user net", []Property{prop("RestrictNamespaces", uint64(0x2E020000))}},
		{V262, Service, "RestrictNamespaces=~user net", []Property{prop("RestrictNamespaces", uint64(0x2E020080))}},
		{V262, Service, "RestrictNamespaces=no", []Property{prop("RestrictNamespaces", uint64(0x7E020080))}},
		{V262, Service, "RestrictNamespaces=yes", []Property{prop("RestrictNamespaces", uint64(0))}},
		{V258, Service, "ImportCredential=a.*:b", []Property{prop("ImportCredentialEx", []stringPair{{"a.*", "b"}})}},
		{V258, Service, "ImportCredential=a.*", []Property{prop("ImportCredential", []string{"a.*"})}},
		{V257, Service, "StandardInputText=a", []Property{prop("StandardInputText", []byte("a\n"))}},
		{V258, Service, "StandardInputText=a", []Property{prop("StandardInputData", []byte("a\n"))}},
		{V258, Service, "IODeviceLatencyTargetSec=", []Property{prop("IODeviceLatencyTargetUSec", []pathValue{})}},
		{V258, Service, "IODeviceLatencyTargetSec=/dev/sda 1s", []Property{prop("IODeviceLatencyTargetUSec", []pathValue{{"/dev/sda", 1000000}})}},
		{V257, Service, "IOSchedulingClass=8", []Property{prop("IOSchedulingClass", int32(8))}},
		{V262, Service, "IOSchedulingClass=3", []Property{prop("IOSchedulingClass", int32(3))}},
		{V262, Service, "AllowedCPUs=0-1", []Property{prop("AllowedCPUs", []byte{3, 0, 0, 0, 0, 0, 0, 0})}},
		// Newer than the newest: spoken to as the newest.
		{Version(300), Timer, "RandomizedOffsetSec=5m", []Property{prop("RandomizedOffsetUSec", uint64(300000000))}},
	}
	for _, tt := range tests {
		// The encoding alone: some of these values (StandardInputText on
		// 257, IOSchedulingClass=8) are what that systemd-run sends and
		// the manager refuses, which ParseFor checks too.
		got, err := parse(tt.v, tt.t, tt.in, false)
		if err != nil {
			t.Errorf("ParseFor(%d, %s, %q): %v", tt.v, tt.t, tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseFor(%d, %s, %q) = %v, want %v", tt.v, tt.t, tt.in, got, tt.want)
		}
		for _, p := range got {
			if sig := p.Value.Signature().String(); sig == "" {
				t.Errorf("%q: no signature", tt.in)
			}
		}
	}
}

// TestParseForSignatures pins the D-Bus signatures of the new structs.
func TestParseForSignatures(t *testing.T) {
	for in, want := range map[string]string{
		"OpenFile=/a":                          "a(sst)",
		"NFTSet=user:ip6:t:s":                  "a(iiss)",
		"LogFilterPatterns=x":                  "a(bs)",
		"StateDirectoryQuota=1M":               "(tus)",
		"ProtectHostname=private:x":            "(ss)",
		"ImportCredentialEx=a:b":               "a(ss)",
		"RefreshOnReload=credentials":          "a(bs)",
		"DelegateNamespaces=net":               "t",
		"RestartRandomizedDelaySec=1s":         "t",
		"PrivateTmp=disconnected":              "s",
		"ConditionMachineTag=x":                "a(sbbs)",
		"ManagedOOMMemoryPressureDurationSec=": "t",
	} {
		got, err := ParseFor(NewestVersion, Service, in)
		if err != nil || len(got) != 1 {
			t.Errorf("%q: %v %v", in, got, err)
			continue
		}
		if s := got[0].Value.Signature().String(); s != want {
			t.Errorf("%q: signature %s, want %s", in, s, want)
		}
	}
}

func TestBeyond(t *testing.T) {
	for _, tt := range []struct {
		v    Version
		name string
		want bool
	}{
		{V252, "PrivateTmp", false}, {V256, "PrivateTmp", false}, {V257, "PrivateTmp", true},
		{V257, "ProtectControlGroups", true}, {V257, "PrivateUsers", true}, {V257, "ProtectHostname", false},
		{V258, "PrivateTmp", false}, {V262, "PrivateUsers", false}, {V257, "Nice", false},
	} {
		if got := Beyond(tt.v, Service, tt.name); got != tt.want {
			t.Errorf("Beyond(%d, %s) = %v, want %v", tt.v, tt.name, got, tt.want)
		}
	}
}

func TestParseForErrors(t *testing.T) {
	tests := []struct {
		v    Version
		t    UnitType
		in   string
		kind error
		msg  string
	}{
		{V252, Service, "PrivatePIDs=yes", ErrNeedsNewer,
			`props: parsing "PrivatePIDs=yes": PrivatePIDs= needs systemd 257 or newer; this manager is 252`},
		{V257, Timer, "RandomizedOffsetSec=1h", ErrNeedsNewer,
			`props: parsing "RandomizedOffsetSec=1h": RandomizedOffsetSec= needs systemd 258 or newer; this manager is 257`},
		{V254, Service, "ConditionVersion=systemd>=258", ErrNeedsNewer, ""},
		{V262, Service, "RandomizedOffsetSec=1h", ErrWrongUnitType, ""},
		{V262, Timer, "RestartMode=direct", ErrWrongUnitType, ""},
		{V262, Service, "NoSuchThing=1", ErrUnknownProperty, ""},
		{V254, Service, "PrivateTmp=disconnected", ErrSyntax, ""},
		{V257, Service, "ProtectHostname=private", ErrSyntax, ""},
		{V258, Service, "ProtectHostname=private:", ErrSyntax, ""},
		{V254, Service, "OpenFile=relative", ErrSyntax, ""},
		{V254, Service, "OpenFile=/a:b:read-only,append", ErrSyntax, ""},
		{V254, Service, "OpenFile=/a:b:c:d", ErrSyntax, ""},
		{V255, Service, "NFTSet=address:inet:t:s", ErrSyntax, ""},
		{V255, Service, "NFTSet=cgroup:inet:1t:s", ErrSyntax, ""},
		{V252, Service, "RestrictNamespaces=time", nil, ""},
		{V258, Service, "RestrictNamespaces=bogus", ErrSyntax, ""},
		{V251, Service, "Nice=1", ErrNeedsNewer, ""},
		{V262, Service, "NoEquals", ErrSyntax, ""},
		{V257, Service, "IODeviceLatencyTargetSec=", ErrSyntax, ""},
		{V257, Service, "AllowedCPUs=3-1", nil, ""},
		{V258, Service, "AllowedCPUs=3-1", ErrSyntax, ""},
		{V262, Service, "CPUAffinity=0 3-1", ErrSyntax, ""},
		{V262, Service, "NUMAMask=1-0", ErrSyntax, ""},
		{V262, Service, "IOSchedulingClass=4", ErrSyntax, ""},
	}
	for _, tt := range tests {
		_, err := ParseFor(tt.v, tt.t, tt.in)
		if tt.kind == nil {
			if err != nil {
				t.Errorf("ParseFor(%d, %s, %q): %v", tt.v, tt.t, tt.in, err)
			}
			continue
		}
		if !errors.Is(err, tt.kind) {
			t.Errorf("ParseFor(%d, %s, %q) = %v, want %v", tt.v, tt.t, tt.in, err, tt.kind)
			continue
		}
		if tt.msg != "" && err.Error() != tt.msg {
			t.Errorf("ParseFor(%d, %s, %q):\n got %s\nwant %s", tt.v, tt.t, tt.in, err, tt.msg)
		}
	}
}

// TestParseForAgreesWith252 checks that ParseFor(252) is Parse for every
// golden assignment of props_test.go's table style: every 252 name with a
// simple value parses the same, except that ParseFor also refuses what
// the 252 manager refuses (checkManager, manager.go).
func TestParseForAgreesWith252(t *testing.T) {
	for _, ut := range []UnitType{Service, Timer} {
		for _, n := range Names(ut) {
			for _, val := range []string{"", "yes", "1", "/x"} {
				a := n + "=" + val
				p1, e1 := Parse(ut, a)
				p2, e2 := ParseFor(V252, ut, a)
				if e1 == nil && e2 != nil && checkManager(V252, ut, p1) != nil {
					continue // refused by the manager's checks
				}
				if (e1 == nil) != (e2 == nil) || (e1 == nil && !reflect.DeepEqual(p1, p2) && !(len(p1) == 0 && len(p2) == 0)) {
					t.Errorf("%s %q: Parse=%v,%v ParseFor(252)=%v,%v", ut, a, p1, e1, p2, e2)
				}
			}
		}
	}
}

func TestIgnored(t *testing.T) {
	if _, ok := Ignored(V257, Service, "MemoryLimit"); ok {
		t.Error("257 ignores MemoryLimit")
	}
	w, ok := Ignored(V258, Service, "MemoryLimit")
	if !ok || !strings.Contains(w, "deprecated") {
		t.Errorf("258 MemoryLimit: %q %v", w, ok)
	}
	if _, ok := Ignored(V262, Service, "MemoryMax"); ok {
		t.Error("MemoryMax ignored")
	}
	_ = fmt.Sprint
}

const V251 = Version(251)

func TestParseVersion(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Version
		err  bool
	}{
		{"252.38-1~deb12u1", 252, false},
		{"254.26-1~bpo12+1", 254, false},
		{"257.13-1", 257, false},
		{"262~rc1", 262, false},
		{"262", 262, false},
		{" 259.1 ", 259, false},
		{"", 0, true},
		{"systemd", 0, true},
		{"-252", 0, true},
	} {
		got, err := ParseVersion(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.err)
		}
		if err != nil && !strings.Contains(err.Error(), strconv.Quote(strings.TrimSpace(tt.in))) {
			t.Errorf("ParseVersion(%q) error %q does not name the input", tt.in, err)
		}
	}
}
