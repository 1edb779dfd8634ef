package props_test

import "github.com/borgrun/borgrun/props"

// confirmSamples are the cases TestConfirm adds to the golden (252)
// inputs on every suite: a value (some valid, some not) for every name
// added after 252, and the inputs whose encoding changed after 252. On a
// suite whose systemd-run does not know a name yet, both sides must reject
// it as unknown.
var confirmSamples = concatSamples(
	// Path and socket names added after 252.
	pth("PollLimitBurst=5", "PollLimitIntervalSec=3s"),
	sock("PollLimitBurst=5", "PollLimitIntervalSec=3s", "PassFileDescriptorsToExec=yes",
		"DeferTrigger=yes", "DeferTrigger=patient", "DeferTriggerMaxSec=5s",
		"XAttrEntryPoint=user.a=b", "XAttrListen=user.x=1", "XAttrAccept=", "XAttrAccept=user.y"),
	svc( // 253
		"MemoryZSwapMax=1G", "MemoryZSwapMax=infinity",
		"LogFilterPatterns=~^foo", "LogFilterPatterns=bar", "LogFilterPatterns=",
		"ReloadSignal=SIGUSR1", "ReloadSignal=12", "ReloadSignal=SIGNOPE",
		"OpenFile=/etc/passwd", "OpenFile=/run/x:fd:read-only,graceful", "OpenFile=/etc/hosts::append",
		"OpenFile=relative", "OpenFile=/a:b:read-only,append", "OpenFile=/a:b:c:d", "OpenFile=/a:b:bogus",
	),
	svc( // 254
		"DelegateSubgroup=sub", "MemoryPressureWatch=auto", "MemoryPressureWatch=bogus",
		"MemoryPressureThresholdSec=200ms", "MemoryPressureThresholdSec=x",
		"RootImagePolicy=root=verity", "MountImagePolicy=*", "ExtensionImagePolicy=*",
		"MemoryKSM=yes", "RootEphemeral=no", "RootEphemeral=maybe",
		"ImportCredential=borg.*", "ImportCredential=", "RestartMode=direct", "RestartMode=bogus",
		"FileDescriptorStorePreserve=yes", "RestartMaxDelaySec=1min", "RestartSteps=5", "RestartSteps=-1",
	),
	svc( // 255
		"CoredumpReceive=yes", "SetLoginEnvironment=no",
		"NFTSet=cgroup:inet:filter:borg", "NFTSet=user:ip6:t:s group:bridge:a:b", "NFTSet=",
		"NFTSet=address:inet:t:s", "NFTSet=cgroup:inet:1t:s",
	),
	both("SurviveFinalKillSignal=yes", "WantsMountsFor=/srv /mnt", "WantsMountsFor="), // 255, 256
	svc( // 256, 257
		"MemoryZSwapWriteback=no",
		"ManagedOOMMemoryPressureDurationSec=", "ManagedOOMMemoryPressureDurationSec=20s",
		"BindLogSockets=yes", "PrivatePIDs=yes", "PrivatePIDs=bogus",
		"PrivateTmpEx=disconnected", "PrivateTmpEx=yes", "PrivateTmpEx=no", "PrivateTmpEx=bogus",
		"PrivateUsersEx=identity", "PrivateUsersEx=self", "PrivateUsersEx=yes",
		"ProtectControlGroupsEx=strict", "ProtectControlGroupsEx=private", "ProtectControlGroupsEx=yes",
		"ImportCredentialEx=a.*:b", "ImportCredentialEx=a.*", "ImportCredentialEx=",
	),
	tmr("DeferReactivation=yes"), // 257
	svc( // 258
		"PrivateBPF=yes", "PrivateBPF=no", "BPFDelegateCommands=map_create", "BPFDelegateMaps=array",
		"BPFDelegatePrograms=xdp", "BPFDelegateAttachments=xdp",
		"StateDirectoryQuota=1G", "CacheDirectoryQuota=50%", "LogsDirectoryQuota=off", "StateDirectoryQuota=",
		"StateDirectoryQuota=bogus",
		"StateDirectoryAccounting=yes", "CacheDirectoryAccounting=no", "LogsDirectoryAccounting=yes",
		"DelegateNamespaces=yes", "DelegateNamespaces=no", "DelegateNamespaces=~net", "DelegateNamespaces=net ipc time",
		"DelegateNamespaces=bogus",
		"ProtectHostnameEx=private:borg", "ProtectHostnameEx=yes", "ProtectHostnameEx=private",
	),
	tmr("RandomizedOffsetSec=1h", "RandomizedOffsetSec=0", "RandomizedOffsetSec=x"), // 258
	svc( // 258, 260, 261 conditions
		"ConditionVersion=systemd >= 250", "AssertVersion=systemd >= 250", "ConditionVersion=",
		"ConditionKernelModuleLoaded=!fuse", "AssertKernelModuleLoaded=!fuse",
		"ConditionPathIsSocket=|/run/x", "AssertPathIsSocket=!/run/x",
		"ConditionFraction=50%", "AssertFraction=50%",
		"ConditionMachineTag=backup", "AssertMachineTag=!backup",
	),
	// For a timer, conditions that hold wherever the test runs: a timer
	// whose condition fails is unloaded at once, perhaps before it is
	// compared (see extraFor).
	tmr("ConditionVersion=systemd >= 250", "AssertVersion=systemd >= 250", "ConditionVersion=",
		"ConditionKernelModuleLoaded=!borgrun_no_such_module", "AssertKernelModuleLoaded=!borgrun_no_such_module",
		"ConditionPathIsSocket=!/run/borgrun-no-such-socket", "AssertPathIsSocket=!/run/borgrun-no-such-socket",
		"ConditionFraction=100%", "AssertFraction=100%",
		"ConditionMachineTag=!borgrun-no-such-tag", "AssertMachineTag=!borgrun-no-such-tag",
	),
	svc( // 259..262
		"UserNamespacePath=/proc/1/ns/user", "ExecReloadPost=/bin/true", "ExecReloadPostEx=:/bin/true",
		"BindNetworkInterface=lo", "MemoryTHP=never", "RootMStack=/srv/stack",
		"RefreshOnReload=~credentials extensions", "RefreshOnReload=credentials", "RefreshOnReload=",
		"CPUPressureWatch=on", "IOPressureWatch=off", "CPUSetPartition=root",
		"CPUPressureThresholdSec=1s", "IOPressureThresholdSec=1s", "OOMRules=a b",
		"LUOSession=a", "RestartRandomizedDelaySec=5s",
	),
	svc( // Changed encodings.
		"PrivateTmp=disconnected", "PrivateTmp=yes", "PrivateTmp=bogus",
		"ProtectControlGroups=strict", "ProtectControlGroups=private", "ProtectControlGroups=no",
		"PrivateUsers=identity", "PrivateUsers=self", "PrivateUsers=full", "PrivateUsers=yes",
		"ProtectHostname=private", "ProtectHostname=private:borg", "ProtectHostname=yes",
		"ProtectHostname=private:", "ProtectHostname=bogus",
		"RestrictNamespaces=~user net", "RestrictNamespaces=no", "RestrictNamespaces=yes",
		"RestrictNamespaces=time", "RestrictNamespaces=~time", "RestrictNamespaces=cgroup ipc net mnt pid user uts time",
		"RestrictNamespaces=~cgroup ipc net mnt pid user uts time", "RestrictNamespaces=bogus",
		"ImportCredential=a.*:b", "ImportCredential=a.*", "ImportCredential=a:", "ImportCredential=:b",
		// cgroup v1: from 258 on, warned about and not sent.
		"MemoryLimit=1G", "CPUShares=100", "StartupCPUShares=100", "BlockIOAccounting=yes",
		"BlockIOWeight=100", "StartupBlockIOWeight=100", "BlockIODeviceWeight=/dev/null 100",
		"BlockIOReadBandwidth=/dev/null 1M", "BlockIOWriteBandwidth=/dev/null 1M",
		"CPUAccounting=yes", "DefaultMemoryMin=1M", "DefaultMemoryLow=1M",
		"MemoryLimit=bogus", "CPUShares=bogus",
		// Changed in 258..262 (found by this test on 262).
		"StandardInputText=borg", "IODeviceLatencyTargetSec=", "IODeviceLatencyTargetSec=/dev/null 5ms",
		"CPUAffinity=3-1", "CPUAffinity=0 3-1", "StartupAllowedCPUs=1-0", "AllowedMemoryNodes=2-1", "NUMAMask=1-0",
		"IOSchedulingClass=3", "IOSchedulingClass=4",
	),
)

func samples(t props.UnitType, ins []string) []confirmCase {
	out := make([]confirmCase, len(ins))
	for i, in := range ins {
		out[i] = confirmCase{t, in}
	}
	return out
}

func svc(ins ...string) []confirmCase  { return samples(props.Service, ins) }
func tmr(ins ...string) []confirmCase  { return samples(props.Timer, ins) }
func pth(ins ...string) []confirmCase  { return samples(props.Path, ins) }
func sock(ins ...string) []confirmCase { return samples(props.Socket, ins) }
func both(ins ...string) []confirmCase {
	return append(svc(ins...), tmr(ins...)...)
}

func concatSamples(lists ...[]confirmCase) []confirmCase {
	var out []confirmCase
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}
