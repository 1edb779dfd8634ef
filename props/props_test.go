package props

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/assignments.golden from the case table")

const goldenPath = "testdata/assignments.golden"

// samples gives one representative, valid value per assignment name. The
// golden table runs each name with its sample for every unit type that
// accepts it, so every name is covered at least once.
var samples = map[string]string{
	// path
	"MakeDirectory": "yes", "DirectoryMode": "0750", "PathExists": "/srv/flag", "PathExistsGlob": "/srv/*.ready",
	"PathChanged": "/etc/borgmatic", "PathModified": "/var/backups", "DirectoryNotEmpty": "/srv/spool",
	"TriggerLimitBurst": "10", "TriggerLimitIntervalSec": "2s",
	// socket
	"Accept": "yes", "FlushPending": "no", "Writable": "yes", "KeepAlive": "on", "NoDelay": "1", "FreeBind": "y",
	"Transparent": "no", "Broadcast": "false", "PassCredentials": "yes", "PassSecurity": "no",
	"PassPacketInfo": "yes", "ReusePort": "true", "RemoveOnStop": "yes", "SELinuxContextFromNet": "no",
	"Priority": "6", "IPTTL": "64", "Mark": "-1", "IPTOS": "low-delay", "Backlog": "128",
	"MaxConnections": "64", "MaxConnectionsPerSource": "8", "KeepAliveProbes": "9", "SocketMode": "0660",
	"MessageQueueMaxMessages": "10", "MessageQueueMessageSize": "8192", "KeepAliveTimeSec": "2h",
	"KeepAliveIntervalSec": "75s", "DeferAcceptSec": "5", "ReceiveBuffer": "1M", "SendBuffer": "64K",
	"PipeSize": "4K", "SmackLabel": "l",
	"SmackLabelIPIn": "in", "SmackLabelIPOut": "out", "TCPCongestion": "cubic", "BindToDevice": "lo",
	"BindIPv6Only": "both", "FileDescriptorName": "borg", "SocketUser": "nobody", "SocketGroup": "nogroup",
	"Timestamping": "us", "Symlinks": "/run/a '/run/b c'", "SocketProtocol": "SCTP",
	"ListenStream": "127.0.0.1:8080", "ListenDatagram": "[::1]:53", "ListenSequentialPacket": "/run/seq",
	"ListenNetlink": "kobject-uevent 1", "ListenSpecial": "/dev/log", "ListenMessageQueue": "/mq",
	"ListenFIFO": "/run/fifo", "ListenUSBFunction": "/dev/usb-ffs/x",
	// cgroup
	"DevicePolicy": "closed", "Slice": "borgrun-test.slice", "ManagedOOMSwap": "kill",
	"ManagedOOMMemoryPressure": "kill", "ManagedOOMPreference": "avoid",
	"ManagedOOMMemoryPressureLimit": "50%", "CPUAccounting": "yes", "MemoryAccounting": "true",
	"IOAccounting": "on", "BlockIOAccounting": "1", "TasksAccounting": "y", "IPAccounting": "no",
	"CPUWeight": "idle", "StartupCPUWeight": "100", "IOWeight": "200", "StartupIOWeight": "10000",
	"CPUShares": "1024", "StartupCPUShares": "2", "AllowedCPUs": "0", "StartupAllowedCPUs": "0-1",
	"AllowedMemoryNodes": "0", "StartupAllowedMemoryNodes": "0", "BlockIOWeight": "500",
	"StartupBlockIOWeight": "10", "DisableControllers": "cpu io", "Delegate": "yes",
	"MemoryMin": "10M", "DefaultMemoryLow": "1K", "DefaultMemoryMin": "", "MemoryLow": "5%",
	"MemoryHigh": "1.5G", "MemoryMax": "1G", "MemorySwapMax": "infinity", "MemoryLimit": "100M",
	"TasksMax": "4096", "CPUQuota": "20%", "CPUQuotaPeriodSec": "10ms",
	"DeviceAllow": "/dev/null rw", "IOReadBandwidthMax": "/dev/null 1M",
	"IOWriteBandwidthMax": "/dev/null 1K", "IOReadIOPSMax": "/dev/null 1000",
	"IOWriteIOPSMax": "/dev/null infinity", "BlockIOReadBandwidth": "/dev/null 5M",
	"BlockIOWriteBandwidth": "/dev/null 10M", "IODeviceWeight": "/dev/null 200",
	"BlockIODeviceWeight": "/dev/null 500", "IODeviceLatencyTargetSec": "/dev/null 25ms",
	"IPAddressAllow": "10.0.0.0/8 ::1", "IPAddressDeny": "any",
	"IPIngressFilterPath": "/sys/fs/bpf/borgrun-in", "IPEgressFilterPath": "/sys/fs/bpf/borgrun-out",
	"BPFProgram": "ingress:/sys/fs/bpf/borgrun", "SocketBindAllow": "ipv4:tcp:8080",
	"SocketBindDeny": "any",
	// execute
	"User": "nobody", "Group": "nogroup", "UtmpIdentifier": "borgrun", "UtmpMode": "user",
	"PAMName": "", "TTYPath": "/dev/console", "WorkingDirectory": "/tmp", "RootDirectory": "/",
	"SyslogIdentifier": "borgrun", "ProtectSystem": "strict", "ProtectHome": "read-only",
	"SELinuxContext": "", "RootImage": "", "RootVerity": "", "RuntimeDirectoryPreserve": "yes",
	"Personality": "x86-64", "KeyringMode": "private", "ProtectProc": "invisible",
	"ProcSubset": "pid", "NetworkNamespacePath": "", "IPCNamespacePath": "", "LogNamespace": "",
	"IgnoreSIGPIPE": "no", "TTYVHangup": "yes", "TTYReset": "yes", "TTYVTDisallocate": "no",
	"PrivateTmp": "yes", "PrivateDevices": "yes", "PrivateNetwork": "yes", "PrivateUsers": "no",
	"PrivateMounts": "yes", "PrivateIPC": "yes", "NoNewPrivileges": "yes",
	"SyslogLevelPrefix": "no", "MemoryDenyWriteExecute": "yes", "RestrictRealtime": "yes",
	"DynamicUser": "no", "RemoveIPC": "yes", "ProtectKernelTunables": "yes",
	"ProtectKernelModules": "yes", "ProtectKernelLogs": "yes", "ProtectClock": "yes",
	"ProtectControlGroups": "yes", "MountAPIVFS": "yes", "CPUSchedulingResetOnFork": "yes",
	"LockPersonality": "yes", "ProtectHostname": "yes", "RestrictSUIDSGID": "yes",
	"ReadWriteDirectories": "/tmp", "ReadOnlyDirectories": "/usr", "InaccessibleDirectories": "/mnt",
	"ReadWritePaths": "-/srv/borgrun /tmp", "ReadOnlyPaths": "/usr \"/opt/with space\"",
	"InaccessiblePaths": "-/mnt", "ExecPaths": "/usr/bin", "NoExecPaths": "/tmp",
	"ExecSearchPath": "/usr/bin /bin", "ExtensionDirectories": "",
	"ConfigurationDirectory": "borgrun", "SupplementaryGroups": "nogroup",
	"SystemCallArchitectures": "native", "SyslogLevel": "debug", "LogLevelMax": "info",
	"SyslogFacility": "local0", "SecureBits": "keep-caps noroot", "CPUSchedulingPolicy": "batch",
	"CPUSchedulingPriority": "0", "OOMScoreAdjust": "-100", "CoredumpFilter": "default 0x200",
	"Nice": "5", "SystemCallErrorNumber": "EPERM", "IOSchedulingClass": "idle",
	"IOSchedulingPriority": "7", "RuntimeDirectoryMode": "0755", "StateDirectoryMode": "700",
	"CacheDirectoryMode": "0750", "LogsDirectoryMode": "0755", "ConfigurationDirectoryMode": "0755",
	"UMask": "0027", "TimerSlackNSec": "50us", "LogRateLimitIntervalSec": "30s",
	"LogRateLimitBurst": "1000", "TTYRows": "24", "TTYColumns": "80", "MountFlags": "private",
	"Environment": "A=1 \"B=two words\" C=x\\ty", "UnsetEnvironment": "FOO",
	"PassEnvironment": "PATH TERM", "EnvironmentFile": "-/etc/borgrun.env",
	"SetCredential": "token:s3cr\\x65t", "SetCredentialEncrypted": "blob:aGVsbG8=",
	"LoadCredential": "cred:/etc/hostname", "LoadCredentialEncrypted": "ecred:/etc/hostname",
	"LogExtraFields": "BORGRUN=1", "StandardInput": "null", "StandardOutput": "journal",
	"StandardError": "append:/tmp/borgrun.err", "StandardInputText": "hello\\tworld",
	"StandardInputData": "aGVsbG8K", "AppArmorProfile": "-borgrun", "SmackProcessLabel": "borgrun",
	"CapabilityBoundingSet": "CAP_NET_RAW cap_sys_admin", "AmbientCapabilities": "~CAP_SYS_ADMIN",
	"CPUAffinity": "0 1-2", "NUMAPolicy": "default", "NUMAMask": "0",
	"RestrictAddressFamilies": "AF_UNIX AF_INET", "RestrictFileSystems": "~ext4",
	"SystemCallFilter": "@system-service", "SystemCallLog": "~@basic-io",
	"RestrictNetworkInterfaces": "lo", "RestrictNamespaces": "~user net",
	"BindPaths": "/tmp:/mnt/borgrun-tmp:norbind", "BindReadOnlyPaths": "-/etc/hostname",
	"TemporaryFileSystem": "/mnt:ro", "RootHash": "/etc/borgrun.roothash",
	"RootHashSignature": "/etc/borgrun.roothash.p7s", "RootImageOptions": "ro",
	"MountImages": "/srv/img.raw:/mnt/img", "ExtensionImages": "-/srv/ext.raw",
	"StateDirectory": "borgrun", "RuntimeDirectory": "borgrun borgrun-b:borgrun-link",
	"CacheDirectory": "borgrun", "LogsDirectory": "borgrun",
	"LimitCPU": "1h", "LimitFSIZE": "1G", "LimitDATA": "infinity", "LimitSTACK": "8M",
	"LimitCORE": "0", "LimitRSS": "1G:2G", "LimitNOFILE": "1024:4096", "LimitAS": "infinity",
	"LimitNPROC": "512", "LimitMEMLOCK": "64K", "LimitLOCKS": "100", "LimitSIGPENDING": "1000",
	"LimitMSGQUEUE": "800K", "LimitNICE": "-5", "LimitRTPRIO": "10", "LimitRTTIME": "1s",
	// kill
	"KillMode": "mixed", "SendSIGHUP": "yes", "SendSIGKILL": "no", "KillSignal": "SIGINT",
	"RestartKillSignal": "HUP", "FinalKillSignal": "9", "WatchdogSignal": "RTMIN+3",
	// service
	"PIDFile": "/run/borgrun.pid", "Type": "exec", "ExitType": "cgroup", "Restart": "on-failure",
	"BusName": "org.borgrun.Test", "NotifyAccess": "main", "USBFunctionDescriptors": "",
	"USBFunctionStrings": "", "OOMPolicy": "continue", "TimeoutStartFailureMode": "terminate",
	"TimeoutStopFailureMode": "kill", "PermissionsStartOnly": "no", "RootDirectoryStartOnly": "no",
	"RemainAfterExit": "yes", "GuessMainPID": "no", "RestartSec": "100ms",
	"TimeoutStartSec": "1min 30s", "TimeoutStopSec": "infinity", "TimeoutAbortSec": "5s",
	"RuntimeMaxSec": "1d", "RuntimeRandomizedExtraSec": "1M", "WatchdogSec": "0",
	"TimeoutSec": "30m", "FileDescriptorStoreMax": "5",
	"ExecCondition": "/bin/true", "ExecStartPre": "-/bin/false arg", "ExecStart": "/bin/true",
	"ExecStartPost": "+/bin/true", "ExecConditionEx": "/bin/true", "ExecStartPreEx": "/bin/true",
	"ExecStartEx": ":/bin/echo $HOME", "ExecStartPostEx": "-/bin/true", "ExecReload": "/bin/kill -HUP $MAINPID",
	"ExecStop": "@/bin/sleep sleeper 0", "ExecStopPost": "!/bin/true", "ExecReloadEx": "!!/bin/true",
	"ExecStopEx": "/bin/true", "ExecStopPostEx": "/bin/true",
	"RestartPreventExitStatus": "1 SIGTERM", "RestartForceExitStatus": "TEMPFAIL",
	"SuccessExitStatus": "0 2 SIGKILL",
	// unit
	"Description": "borgrun test", "SourcePath": "/etc/borgrun.conf", "OnFailureJobMode": "fail",
	"JobTimeoutAction": "none", "JobTimeoutRebootArgument": "", "StartLimitAction": "none",
	"FailureAction": "none", "SuccessAction": "none", "RebootArgument": "",
	"CollectMode": "inactive-or-failed", "StopWhenUnneeded": "no", "RefuseManualStart": "no",
	"RefuseManualStop": "no", "AllowIsolate": "no", "IgnoreOnIsolate": "yes",
	"DefaultDependencies": "yes", "JobTimeoutSec": "5min", "JobRunningTimeoutSec": "infinity",
	"StartLimitIntervalSec": "10s", "StartLimitBurst": "5", "SuccessActionExitStatus": "3",
	"FailureActionExitStatus": "", "Documentation": "man:borgrun(1) https://example.org/",
	"RequiresMountsFor": "/tmp", "Markers": "needs-restart",
	// timer
	"WakeSystem": "no", "RemainAfterElapse": "yes", "Persistent": "no", "OnTimezoneChange": "yes",
	"OnClockChange": "no", "FixedRandomDelay": "yes", "AccuracySec": "1us",
	"RandomizedDelaySec": "5m", "OnActiveSec": "2h", "OnBootSec": "1y", "OnStartupSec": "1w",
	"OnUnitActiveSec": "1.5h", "OnUnitInactiveSec": "90", "OnCalendar": "*-*-* 04:00:00",
}

// extraCases are hand-picked inputs for the error-prone families and for
// invalid input, beyond one sample per name.
var extraCases = []struct {
	t  UnitType
	in string
}{
	// Scopes take the cgroup, kill and unit groups, no exec settings.
	{Scope, "Nice=5"},
	{Scope, "MemoryMax=1G"},
	{Scope, "KillMode=mixed"},
	{Scope, "Description=x"},
	{Scope, "PathExists=/x"},
	{Service, "PathExists=/x"},
	{Service, "ListenStream=80"},
	{Path, "PathExists="},
	{Path, "Unit=x.service"},
	{Path, "ExecStart=/bin/true"},
	{Socket, "ListenStream="},
	{Socket, "IPTOS=7"},
	{Socket, "IPTOS=256"},
	{Socket, "SocketProtocol="},
	{Socket, "SocketProtocol=999"},
	{Socket, "SocketProtocol=17"},
	{Socket, "MessageQueueMessageSize=8K"},
	{Socket, "Nice=5"},
	{Socket, "TimeoutSec=5"},
	// Exec* prefixes and the …Ex upgrade.
	{Service, "ExecStartPre=-/bin/true"},
	{Service, "ExecStartPre=--/bin/true"},
	{Service, "ExecStartPre=@/bin/busybox sh -c true"},
	{Service, "ExecStartPre=-@/bin/busybox sh"},
	{Service, "ExecStartPre=:/bin/echo $X"},
	{Service, "ExecStartPre=+/bin/true"},
	{Service, "ExecStartPre=!/bin/true"},
	{Service, "ExecStartPre=!!/bin/true"},
	{Service, "ExecStartPre=!!!/bin/true"},
	{Service, "ExecStartPre=+!/bin/true"},
	{Service, "ExecStartPre=!+/bin/true"},
	{Service, "ExecStartPre=-:+@/bin/echo echo hi"},
	{Service, "ExecStartPre=/bin/echo \"a b\" 'c d' e\\tf \\x41"},
	{Service, "ExecStartPre="},
	{Service, "ExecStartPre=-"},
	{Service, "ExecStartPre=+"},
	{Service, "ExecStartPre=@/bin/true"},
	{Service, "ExecStartPre=/bin/echo \"unbalanced"},
	{Service, "ExecStartPre=/bin/echo trailing\\"},
	{Service, "ExecStartPre=/bin/echo \\q"},
	{Service, "ExecStartPreEx=-/bin/true"},
	{Service, "ExecStartPreEx=/bin/true"},
	{Service, "ExecStopPost=-+/bin/true"},
	// Sec→USec renames and fan-outs.
	{Service, "TimeoutSec=1h 5min"},
	{Service, "TimeoutSec="},
	{Service, "TimeoutSec=-1"},
	{Service, "TimeoutStartSec=30m"},
	{Service, "TimeoutStartSec=1M"},
	{Service, "TimeoutStartSec=1.5h"},
	{Service, "TimeoutStartSec=.5"},
	{Service, "TimeoutStartSec=5."},
	{Service, "TimeoutStartSec=1.2.3"},
	{Service, "TimeoutStartSec=1h30min10s500ms"},
	{Service, "TimeoutStartSec=2 weeks"},
	{Service, "TimeoutStartSec=5 x"},
	{Service, "TimeoutStartSec=99999999999999999999"},
	{Service, "TimeoutStartSec= infinity "},
	{Service, "TimeoutStartSec=infinityx"},
	{Service, "RestartSec=1µs"},
	{Service, "RestartSec=0x10"},
	{Service, "TimerSlackNSec=1"},
	{Service, "TimerSlackNSec=1.5us"},
	{Timer, "RandomizedDelaySec="},
	{Timer, "AccuracySec=1.5min"},
	{Timer, "OnActiveSec="},
	{Timer, "OnBootSec=-5"},
	{Timer, "OnCalendar="},
	{Timer, "OnCalendar=daily"},
	{Timer, "OnCalendar=Mon..Fri 09:00 Europe/Berlin"},
	// Sizes and percentages.
	{Service, "MemoryMax=50%"},
	{Service, "MemoryMax=12.34%"},
	{Service, "MemoryMax=150%"},
	{Service, "MemoryMax=5‰"},
	{Service, "MemoryMax=7‱"},
	{Service, "MemoryMax="},
	{Service, "MemoryLow="},
	{Service, "MemoryMax=1G 512M"},
	{Service, "MemoryMax=1K1K"},
	{Service, "MemoryMax=12Q"},
	{Service, "MemoryMax=1g"},
	{Service, "MemoryMax=-1"},
	{Service, "MemoryMax=1.5"},
	{Service, "MemoryMax=16E"},
	{Service, "MemoryMax=0.5K"},
	{Service, "MemoryHigh=infinity"},
	{Service, "TasksMax=80%"},
	{Service, "TasksMax=1K"},
	{Service, "TasksMax="},
	{Service, "CPUQuota=150%"},
	{Service, "CPUQuota=0%"},
	{Service, "CPUQuota=12.5%"},
	{Service, "CPUQuota="},
	{Service, "CPUQuota=20"},
	{Service, "CPUQuotaPeriodSec="},
	{Service, "ManagedOOMMemoryPressureLimit=101%"},
	{Service, "IOReadBandwidthMax=/dev/sda 1K"},
	{Service, "IOReadBandwidthMax=/dev/sda 1.5M"},
	{Service, "IOWriteIOPSMax=/dev/sda"},
	{Service, "IOWriteIOPSMax="},
	{Service, "IOReadBandwidthMax=/dev/sda  1K"},
	{Service, "IODeviceWeight=/dev/sda 20000"},
	{Service, "IODeviceLatencyTargetSec="},
	{Service, "IOWeight="},
	{Service, "IOWeight=0"},
	{Service, "IOWeight=10001"},
	{Service, "CPUWeight=idle"},
	{Service, "CPUWeight=0"},
	{Service, "CPUShares=1"},
	{Service, "BlockIOWeight=5"},
	// Capabilities, namespaces, filters.
	{Service, "CapabilityBoundingSet="},
	{Service, "CapabilityBoundingSet=~"},
	{Service, "CapabilityBoundingSet=~CAP_SYS_ADMIN CAP_NET_ADMIN"},
	{Service, "CapabilityBoundingSet=CAP_NONEXISTENT cap_chown"},
	{Service, "CapabilityBoundingSet=0 63 64"},
	{Service, "CapabilityBoundingSet=cap_chown \"unbalanced cap_kill"},
	{Service, "AmbientCapabilities=CAP_NET_BIND_SERVICE"},
	{Service, "RestrictNamespaces=yes"},
	{Service, "RestrictNamespaces=no"},
	{Service, "RestrictNamespaces=net ipc"},
	{Service, "RestrictNamespaces=~net"},
	{Service, "RestrictNamespaces=time"},
	{Service, "RestrictNamespaces=~time"},
	{Service, "RestrictNamespaces=bogus"},
	{Service, "RestrictNamespaces="},
	{Service, "SystemCallFilter=~@mount @swap"},
	{Service, "SystemCallFilter=ioctl:EPERM"},
	{Service, "SystemCallFilter="},
	{Service, "SystemCallFilter=~"},
	{Service, "RestrictAddressFamilies=~AF_INET6"},
	{Service, "RestrictAddressFamilies=none"},
	{Service, "SystemCallErrorNumber=kill"},
	{Service, "SystemCallErrorNumber=eperm"},
	{Service, "SystemCallErrorNumber=4096"},
	{Service, "SystemCallErrorNumber=EBOGUS"},
	// Conditions and asserts.
	{Service, "ConditionPathExists=|!/etc/hostname"},
	{Service, "ConditionPathExists=!|/etc/hostname"},
	{Service, "ConditionPathExists=|/etc/hostname"},
	{Service, "ConditionPathExists="},
	{Service, "AssertPathExists=!/nonexistent"},
	{Timer, "ConditionACPower=true"},
	{Timer, "AssertFirstBoot=no"},
	// Limits.
	{Service, "LimitNOFILE=infinity"},
	{Service, "LimitNOFILE=4096:1024"},
	{Service, "LimitNOFILE=1:2:3"},
	{Service, "LimitNOFILE=5:"},
	{Service, "LimitNOFILE=:5"},
	{Service, "LimitNOFILE="},
	{Service, "LimitCPU=1.5"},
	{Service, "LimitCPU=infinity:infinity"},
	{Service, "LimitRTTIME=1000"},
	{Service, "LimitNICE=+5"},
	{Service, "LimitNICE=20"},
	{Service, "LimitNICE=+20"},
	{Service, "LimitNICE=41"},
	{Service, "LimitCORE=1G:infinity"},
	{Service, "LimitFOO=5"},
	// Environment quoting and C escapes.
	{Service, "Environment="},
	{Service, "Environment=A=1"},
	{Service, "Environment=\"A=with space\" B=\\x41\\u00e9"},
	{Service, "Environment=A=\\xff"},
	{Service, "Environment=A=\\x00"},
	{Service, "Environment=A='unbalanced"},
	{Service, "Environment=NOEQUALS"},
	{Service, "UnsetEnvironment=A B=1"},
	{Service, "EnvironmentFile="},
	{Service, "EnvironmentFile=/etc/borgrun.env"},
	// Standard streams.
	{Service, "StandardOutput=file:/tmp/borgrun.out"},
	{Service, "StandardOutput=truncate:/tmp/borgrun.out"},
	{Service, "StandardError=fd:stderr"},
	{Service, "StandardInput=file:/etc/hostname"},
	{Service, "StandardOutput=null"},
	{Service, "StandardInputText="},
	{Service, "StandardInputText=bad\\q"},
	{Service, "StandardInputData=!!!"},
	{Service, "StandardInputData=aGVsbG8"},
	// Empty values that reset lists.
	{Service, "ReadWritePaths="},
	{Service, "DeviceAllow="},
	{Service, "DeviceAllow=/dev/null"},
	{Service, "IPAddressAllow="},
	{Service, "IPAddressAllow=localhost"},
	{Service, "IPAddressAllow=link-local"},
	{Service, "IPAddressAllow=multicast"},
	{Service, "IPAddressAllow=192.168.1.1/33"},
	{Service, "IPAddressAllow=fe80::1%eth0"},
	{Service, "IPAddressAllow=300.1.1.1"},
	{Service, "BindPaths="},
	{Service, "BindPaths=/a:/b:rbind /c -/d:/e"},
	{Service, "BindPaths=/a:"},
	{Service, "BindPaths=/a:/b:bogus"},
	{Service, "TemporaryFileSystem=/a /b:size=10M"},
	{Service, "Wants="},
	{Service, "After=a.service \"b.service\""},
	{Service, "SocketBindAllow=tcp:80-90"},
	{Service, "SocketBindAllow=ipv6:udp:any"},
	{Service, "SocketBindAllow=ipv4"},
	{Service, "SocketBindAllow=ipv4:"},
	{Service, "SocketBindAllow=udp:0"},
	{Service, "SocketBindAllow=90-80"},
	{Service, "SocketBindAllow=tcp:80:90"},
	{Service, "StateDirectory="},
	{Service, "StateDirectory=a//b/./c/ x:y/./z"},
	{Service, "SuccessExitStatus="},
	{Service, "SuccessExitStatus=256"},
	{Service, "SuccessExitStatus=SIGBOGUS"},
	{Service, "Delegate=cpu memory"},
	{Service, "Delegate=no"},
	{Service, "AllowedCPUs="},
	{Service, "AllowedCPUs=0,2 4-5"},
	{Service, "AllowedCPUs=3-1"},
	{Service, "AllowedCPUs=8192"},
	{Service, "CPUAffinity=numa"},
	{Service, "NUMAMask=all"},
	{Service, "SetCredential="},
	{Service, "SetCredential=novalue"},
	{Service, "SetCredential=empty:"},
	{Service, "LoadCredential=onlyid"},
	{Service, "RootImageOptions=root:ro usr:ro,nosuid"},
	{Service, "RootImageOptions=a:b:c"},
	{Service, "MountImages=/a.raw:/mnt:root:ro usr:rw"},
	{Service, "MountImages=/a.raw"},
	{Service, "ExtensionImages=/e.raw:root:ro"},
	{Service, "RootHash=0123456789abcdef0123456789abcdef"},
	{Service, "RootHash=abcd"},
	{Service, "RootHashSignature=base64:aGVsbG8="},
	{Service, "RootHashSignature=aGVsbG8="},
	{Service, "AppArmorProfile=borgrun"},
	{Service, "LogExtraFields="},
	{Service, "CoredumpFilter=all"},
	{Service, "CoredumpFilter=bogus"},
	{Service, "SecureBits=bogus"},
	// Enums and numbers.
	{Service, "Nice=99"},
	{Service, "Nice=-20"},
	{Service, "Nice=0x5"},
	{Service, "Nice= 5"},
	{Service, "Nice=5 "},
	{Service, "Nice="},
	{Service, "IOSchedulingClass=best-effort"},
	{Service, "IOSchedulingClass=8"},
	{Service, "IOSchedulingClass=9"},
	{Service, "IOSchedulingPriority=8"},
	{Service, "CPUSchedulingPolicy=fifo"},
	{Service, "CPUSchedulingPolicy=7"},
	{Service, "SyslogLevel=8"},
	{Service, "SyslogLevel=DEBUG"},
	{Service, "SyslogFacility=127"},
	{Service, "NUMAPolicy=bogus"},
	{Service, "UMask=0777"},
	{Service, "UMask=10000"},
	{Service, "UMask=+0777"},
	{Service, "UMask=8"},
	{Service, "MountFlags="},
	{Service, "MountFlags=bogus"},
	{Service, "KillSignal=SIGRTMAX-2"},
	{Service, "KillSignal=RTMIN+31"},
	{Service, "KillSignal=65"},
	{Service, "KillSignal=BOGUS"},
	{Service, "FileDescriptorStoreMax=-1"},
	{Service, "FileDescriptorStoreMax=4294967296"},
	{Service, "StartLimitBurst=0b101"},
	{Service, "StartLimitBurst=0o17"},
	{Service, "StartLimitBurst=017"},
	{Service, "SuccessActionExitStatus=256"},
	{Service, "CPUAccounting=maybe"},
	{Service, "CPUAccounting=YES"},
	{Service, "CPUAccounting="},
	// Dispatch errors.
	{Service, "Nicee=5"},
	{Service, "NoSuchThing=1"},
	{Service, "RandomizedDelaySec=5"},
	{Service, "OnCalendar=daily"},
	{Timer, "Nice=5"},
	{Timer, "ExecStart=/bin/true"},
	{Timer, "Persistant=yes"},
	{Service, "Backlog=5"},
	{Service, "NoEquals"},
	{Service, "=value"},
	{Service, ""},
	{Service, "Description=multi=equals=signs"},
	{Service, "Description="},
	{Service, "Description=\xff"},
}

// goldenCase is one line of the golden file.
type goldenCase struct {
	t  UnitType
	in string
}

// allCases is the full case table: one sample per name and unit type,
// then the extra cases.
func allCases() []goldenCase {
	var cases []goldenCase
	for _, t := range []UnitType{Service, Timer} {
		for _, n := range Names(t) {
			cases = append(cases, goldenCase{t, n + "=" + samples[n]})
		}
	}
	// The other types: the names of their own groups (the rest are
	// the service's and the timer's, and encoded alike).
	for _, g := range []struct {
		t UnitType
		m map[string]handler
	}{{Scope, scopeGroup()}, {Path, pathGroup()}, {Socket, socketGroup()}} {
		names := make([]string, 0, len(g.m))
		for n := range g.m {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			cases = append(cases, goldenCase{g.t, n + "=" + samples[n]})
		}
	}
	for _, c := range extraCases {
		cases = append(cases, goldenCase(c))
	}
	return cases
}

// goldenLine renders the result of one case.
func goldenLine(c goldenCase) string {
	props, err := Parse(c.t, c.in)
	var b strings.Builder
	b.WriteString(c.t.String() + " " + goldenInput(c.in) + " ->")
	if err != nil {
		b.WriteString(" error: " + err.Error())
		return b.String()
	}
	if len(props) == 0 {
		b.WriteString(" (nothing)")
	}
	for i, p := range props {
		if i > 0 {
			b.WriteString(" ;")
		}
		fmt.Fprintf(&b, " %s %s %s", p.Name, p.Value.Signature(), renderValue(reflect.ValueOf(p.Value.Value())))
	}
	return b.String()
}

// goldenInput writes the input verbatim when that is unambiguous and
// quoted otherwise.
func goldenInput(in string) string {
	if in == "" || strings.Contains(in, " -> ") || strings.HasPrefix(in, "\"") || !strconv.CanBackquote(in) || strings.ContainsAny(in, "`\t") {
		return strconv.Quote(in)
	}
	return in
}

// renderValue renders a D-Bus value: strings quoted, byte arrays as
// quoted byte strings, arrays in [], structs in ().
func renderValue(v reflect.Value) string {
	switch v.Kind() {
	case reflect.String:
		return strconv.Quote(v.String())
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return "b" + strconv.Quote(string(v.Bytes()))
		}
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = renderValue(v.Index(i))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case reflect.Struct:
		parts := make([]string, v.NumField())
		for i := range parts {
			parts[i] = renderValue(v.Field(i))
		}
		return "(" + strings.Join(parts, ", ") + ")"
	}
	return fmt.Sprint(v.Interface())
}

func TestGolden(t *testing.T) {
	var got []string
	for _, c := range allCases() {
		got = append(got, goldenLine(c))
	}
	if *updateGolden {
		if err := os.WriteFile(goldenPath, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	data, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("%v (run go test ./props -update)", err)
	}
	want := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	for i := 0; i < max(len(got), len(want)); i++ {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("line %d:\n got: %s\nwant: %s", i+1, g, w)
		}
	}
}

func TestGoldenUniqueInputs(t *testing.T) {
	seen := map[goldenCase]bool{}
	for _, c := range extraCases {
		gc := goldenCase(c)
		if seen[gc] {
			t.Errorf("duplicate case %s %q", c.t, c.in)
		}
		seen[gc] = true
	}
	for n := range samples {
		if !slices.ContainsFunc(propTypes, func(t UnitType) bool { return tables[t][n] != nil }) {
			t.Errorf("sample for unknown name %s", n)
		}
	}
}

// TestCompleteness checks that every name Names reports is exercised by
// at least one line of the golden file for that unit type.
func TestCompleteness(t *testing.T) {
	f, err := os.Open(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[UnitType]map[string]bool{Service: {}, Timer: {}, Scope: {}, Path: {}, Socket: {}}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		typ, in, err := parseGoldenInput(sc.Text())
		if err != nil {
			t.Fatal(err)
		}
		name, _, _ := strings.Cut(in, "=")
		seen[typ][name] = true
	}
	for _, typ := range []UnitType{Service, Timer} {
		for _, n := range Names(typ) {
			if !seen[typ][n] {
				t.Errorf("%s name %s has no golden case", typ, n)
			}
		}
	}
	if n := len(Names(Service)); n < 360 {
		t.Errorf("Names(Service) has %d names, want about 364", n)
	}
	if n := len(Names(Timer)); n != 136 {
		t.Errorf("Names(Timer) has %d names, want 136", n)
	}
}

// parseGoldenInput extracts the unit type and input of a golden line.
func parseGoldenInput(line string) (UnitType, string, error) {
	typ, rest, _ := strings.Cut(line, " ")
	i := slices.IndexFunc(propTypes, func(t UnitType) bool { return t.String() == typ })
	if i < 0 {
		return 0, "", fmt.Errorf("bad golden line %q", line)
	}
	t := propTypes[i]
	if strings.HasPrefix(rest, "\"") {
		q, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return 0, "", fmt.Errorf("bad golden line %q: %v", line, err)
		}
		in, _ := strconv.Unquote(q)
		return t, in, nil
	}
	in, _, ok := strings.Cut(rest, " ->")
	if !ok {
		return 0, "", fmt.Errorf("bad golden line %q", line)
	}
	return t, in, nil
}

func TestErrorsAreTyped(t *testing.T) {
	for _, c := range allCases() {
		_, err := Parse(c.t, c.in)
		if err == nil {
			continue
		}
		var pe *Error
		if !errors.As(err, &pe) {
			t.Errorf("%s %q: error %T is not *props.Error", c.t, c.in, err)
			continue
		}
		if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrRange) &&
			!errors.Is(err, ErrUnknownProperty) && !errors.Is(err, ErrWrongUnitType) {
			t.Errorf("%s %q: error %v wraps no sentinel", c.t, c.in, err)
		}
	}
}

func TestErrorMessages(t *testing.T) {
	tests := []struct {
		t        UnitType
		in, want string
		sentinel error
	}{
		{Service, "Nicee=5", `props: parsing "Nicee=5": unknown property "Nicee" for a service; did you mean "Nice"?`, ErrUnknownProperty},
		{Service, "RandomizedDelaySec=5", `props: parsing "RandomizedDelaySec=5": RandomizedDelaySec is a timer property: use --timer-property`, ErrWrongUnitType},
		{Timer, "Nice=5", `props: parsing "Nice=5": Nice is a service property: use -p`, ErrWrongUnitType},
		{Service, "Nice=99", `props: parsing "Nice=99": out of range -20..19`, ErrRange},
		{Service, "MemoryMax=12Q", `props: parsing "MemoryMax=12Q": invalid size`, ErrSyntax},
	}
	for _, tt := range tests {
		_, err := Parse(tt.t, tt.in)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%s, %q) = %v, want %s", tt.t, tt.in, err, tt.want)
		}
		if !errors.Is(err, tt.sentinel) {
			t.Errorf("Parse(%s, %q): %v does not wrap %v", tt.t, tt.in, err, tt.sentinel)
		}
	}
}

func TestValueParsers(t *testing.T) {
	spans := []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"1h 5min", 3900000000, true}, {"30m", 1800000000, true}, {"1M", 2629800000000, true},
		{"1.5h", 5400000000, true}, {"5", 5000000, true}, {"infinity", 1<<64 - 1, true},
		{"", 0, false}, {"-1", 0, false}, {"1x", 0, false}, {"2 weeks 1d", 1296000000000, true},
	}
	for _, s := range spans {
		got, err := ParseTimespan(s.in)
		if (err == nil) != s.ok || got != s.want {
			t.Errorf("ParseTimespan(%q) = %d, %v; want %d, ok=%v", s.in, got, err, s.want, s.ok)
		}
	}
	sizes := []struct {
		in   string
		base uint64
		want uint64
		ok   bool
	}{
		{"1K", 1024, 1024, true}, {"1K", 1000, 1000, true}, {"1.5G", 1024, 1610612736, true},
		{"1G 512M", 1024, 1610612736, true}, {"1M 1G", 1024, 0, false}, {"1k", 1024, 0, false},
		{"", 1024, 0, false}, {"-5", 1024, 0, false}, {"17E", 1024, 0, false},
	}
	for _, s := range sizes {
		got, err := ParseSize(s.in, s.base)
		if (err == nil) != s.ok || got != s.want {
			t.Errorf("ParseSize(%q, %d) = %d, %v; want %d, ok=%v", s.in, s.base, got, err, s.want, s.ok)
		}
	}
	for in, want := range map[string]bool{"YES": true, "t": true, "on": true, "Off": false, "0": false} {
		if got, err := ParseBool(in); err != nil || got != want {
			t.Errorf("ParseBool(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseBool("maybe"); !errors.Is(err, ErrSyntax) {
		t.Errorf("ParseBool(maybe) = %v, want ErrSyntax", err)
	}
}

func TestParseAll(t *testing.T) {
	got, err := ParseAll(Service, []string{"TimeoutSec=5", "Nice=1"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range got {
		names = append(names, p.Name)
	}
	if want := []string{"TimeoutStartUSec", "TimeoutStopUSec", "Nice"}; !slices.Equal(names, want) {
		t.Errorf("ParseAll names = %v, want %v", names, want)
	}
	if _, err := ParseAll(Service, []string{"Nice=1", "Nice=100"}); !errors.Is(err, ErrRange) {
		t.Errorf("ParseAll with a bad assignment = %v, want ErrRange", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, c := range allCases() {
		f.Add(int(c.t), c.in)
	}
	f.Fuzz(func(t *testing.T, typ int, in string) {
		ut := UnitType(typ & 1)
		props, err := Parse(ut, in)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%s, %q): error %T is not *props.Error", ut, in, err)
			}
			_ = err.Error()
			return
		}
		for _, p := range props {
			if p.Name == "" || p.Value.Signature().String() == "" {
				t.Fatalf("Parse(%s, %q): bad property %#v", ut, in, p)
			}
			if !validValue(p.Value.Value()) {
				t.Fatalf("Parse(%s, %q): invalid string in %v", ut, in, p)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	cases := allCases()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for _, c := range cases {
			_, _ = Parse(c.t, c.in)
		}
		n += len(cases)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "assignments/s")
}
