package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/borgrun/borgrun/props"
	"github.com/borgrun/borgrun/transient"
	"github.com/borgrun/borgrun/transient/transienttest"
)

// runCase is one systemd-run command line for the differential test. "@U"
// in args stands for the unit name, which differs between the two tools.
type runCase struct {
	args []string
	// invalid: systemd-run exits 1, borgrun must exit 2 with one line
	// and create nothing.
	invalid bool
	// invalidFrom: invalid on this systemd major version and later;
	// validFrom: invalid before this version.
	invalidFrom, validFrom int
	// noShow: the units may be unloaded at any moment after the command
	// (collected, or a race with a short-lived process), so only the
	// outcome is compared, not systemctl show.
	noShow bool
	// refusal: the case uses an option systemd-run validFrom added;
	// borgrun must name that version when it refuses it on older suites.
	refusal bool
}

func rc(args ...string) runCase        { return runCase{args: args} }
func rcNoShow(args ...string) runCase  { return runCase{args: args, noShow: true} }
func rcInvalid(args ...string) runCase { return runCase{args: args, invalid: true} }
func rcInvalidFrom(major int, args ...string) runCase {
	return runCase{args: args, invalidFrom: major, noShow: true}
}
func rcValidFrom(major int, args ...string) runCase { return runCase{args: args, validFrom: major} }

// from makes c a case of an option systemd-run v added: older suites
// must refuse it, naming v.
func (c runCase) from(v int) runCase { c.validFrom, c.refusal = v, true; return c }

// validUntil makes c invalid from v on.
func (c runCase) validUntil(v int) runCase { c.invalidFrom = v; return c }

func runCases() []runCase {
	cases := []runCase{
		// Services that stay loaded (-r, or still running).
		rc("-u", "@U", "-r", "/bin/true"),
		rc("-u", "@U", "-r", "--description=hello world", "/bin/true"),
		rc("-u", "@U", "-r", "--description=", "/bin/true"),
		rc("-u", "@U", "-r", "-p", "Description=from -p", "--description=flag", "/bin/true"),
		rc("-u", "@U", "-r", "--slice=borgruntest", "/bin/true"),
		rc("-u", "@U", "-r", "--slice=a b", "/bin/true"),
		rc("-u", "@U", "-r", "-q", "--slice=a b", "/bin/true"),
		rc("-u", "@U", "-r", "--slice=x.slice", "-p", "Slice=y.slice", "/bin/true"),
		rc("-u", "@U", "-r", "--send-sighup", "/bin/true"),
		rc("-u", "@U", "-r", "--service-type=oneshot", "/bin/true"),
		rc("-u", "@U", "-r", "--service-type=exec", "-p", "Type=simple", "/bin/true"),
		rc("-u", "@U", "-r", "-p", "Type=oneshot", "--service-type=exec", "/bin/true"),
		rc("-u", "@U", "-r", "--uid=nobody", "--gid=nogroup", "/bin/true"),
		rc("-u", "@U", "-r", "-p", "User=root", "--uid=nobody", "/bin/true"),
		rc("-u", "@U", "-r", "--nice=5", "/bin/true"),
		rc("-u", "@U", "-r", "--nice=-20", "/bin/true"),
		rc("-u", "@U", "-r", "--nice=010", "/bin/true"),
		rc("-u", "@U", "-r", "--nice=0x5", "/bin/true"),
		rc("-u", "@U", "-r", "-p", "Nice=3", "--nice=4", "/bin/true"),
		rc("-u", "@U", "-r", "--nice=0b101", "/bin/true"),
		rc("-u", "@U", "-r", "-p", "Nice=0b101", "/bin/true"),
		rc("-u", "@U", "-r", "--nice= 3", "/bin/true"),
		rc("-u", "@U", "-r", "-E", `Q="x" 'y' \z`, "-E", "T=a\tb", "/bin/echo", `"a" 'b' \c`, "-x", "@y", ";"),
		rc("-u", "@U", "-r", "--working-directory=/tmp", "/bin/true"),
		rc("-u", "@U", "-r", "--working-directory=/var//./tmp/", "/bin/true"),
		rc("-u", "@U", "-r", "--working-directory=/", "/bin/true"),
		rc("-u", "@U", "-r", "--working-directory=tmp", "/bin/true"),
		rc("-u", "@U", "-r", "--working-directory=/tmp", "-d", "/bin/true"),
		rc("-u", "@U", "-r", "-d", "--working-directory=/var", "/bin/true"),
		rc("-u", "@U", "-r", "-E", "A=1", "-E", "B=2", "-E", "A=3", "/bin/true"),
		rc("-u", "@U", "-r", "-E", "PATH", "-E", "BORGRUN_UNSET_XYZ", "-E", "X=a b", "/bin/true"),
		rc("-u", "@U", "-r", "-p", "Environment=A=1 B=2", "-E", "C=3", "/bin/true"),
		rc("-u", "@U", "-r", "-G", "/bin/true"),
		rc("-u", "@U", "-r", "-q", "/bin/true"),
		rc("-u", "@U", "-r", "/bin/sh", "-c", "echo $$x"),
		rc("-u", "@U", "-r", "true"),
		rc("-u", "@U", "-r", "sh", "-c", "exit 0"),
		rc("-u", "@U", "-r", "/bin/../bin/true"),
		rc("-u", "@U", "-r", "-p", "MemoryMax=1G", "-p", "CPUQuota=50%", "-p", "TasksMax=10", "/bin/true"),
		rc("-u", "@U", "-r", "-p", "ExecStartPre=/bin/true", "-p", "ExecStartPost=/bin/true", "/bin/true"),
		rc("-u", "@U", "-r", "-p", "ConditionACPower=false", "/bin/true"),
		rc("-u", "@U", "-r", "-p", "ProtectSystem=strict", "-p", "PrivateTmp=yes", "-p", "NoNewPrivileges=yes", "/bin/true"),
		rc("-u", "@U", "-r", "-p", "CollectMode=inactive", "-G", "/bin/true"),
		rc("-u", "@U", "-r", "--system", "/bin/true"),
		rc("-u", "@U", "-r", "--no-ask-password", "/bin/true"),
		rc("--desc=abbrev", "--rem", "--un=@U", "/bin/true"),
		rc("-rqG", "-u@U", "/bin/true"),
		rc("-u", "@U", "-r", "--", "/bin/true", "--wait"),
		rc("-u", "@U", "/bin/sleep", "600"),
		rc("-u", "@U", "-p", "KillMode=mixed", "--send-sighup", "/bin/sleep", "600"),
		rc("-u", "@U", "--nice=7", "--uid=nobody", "/bin/sleep", "600"),
		rc("-u", "@U", "-p", "Type=oneshot", "/bin/false"),
		rc("-u", "@U.service", "-r", "/bin/true"),
		rc("-u", "@U x", "-r", "/bin/true"),
		rc("-u", "@U*", "-r", "/bin/true"),
		rc("-u", "@U.bar", "-r", "/bin/true"),
		rc("-u", "@U@.service", "-r", "/bin/true"),
		rc("-u", "@U", "-r", "-p", "Nice=1", "/bin/true", "extra", "args"),
		rcNoShow("-u", "@U", "--no-block", "/bin/sleep", "600"),
		rcNoShow("-u", "@U", "--no-block", "-r", "-q", "/bin/true"),
		rcNoShow("-u", "@U", "-p", "Type=oneshot", "-G", "/bin/false"),
		rcNoShow("-u", "@U", "-q", "-p", "Type=oneshot", "/bin/false"),
		rcNoShow("-u", "@U", "-p", "Type=oneshot", "-p", "TimeoutStartSec=1ms", "/bin/sleep", "5"),
		rcNoShow("-u", "@U", "-G", "/bin/true"),
		rcNoShow("-r", "/bin/true"),
		rcNoShow("-r", "-q", "/bin/true"),

		// --wait and --pipe: the outcome, summary and exit status.
		rcNoShow("-u", "@U", "--wait", "/bin/true"),
		rcNoShow("-u", "@U", "--wait", "-G", "/bin/sh", "-c", "exit 7"),
		rcNoShow("-u", "@U", "--wait", "-G", "/bin/sh", "-c", "exit 255"),
		rcNoShow("-u", "@U", "--wait", "-G", "/bin/sh", "-c", "kill -9 $$$$"),
		rcNoShow("-u", "@U", "--wait", "-G", "/bin/sh", "-c", "kill -TERM $$$$"),
		rcNoShow("-u", "@U", "--wait", "-q", "-G", "/bin/sh", "-c", "exit 3"),
		rcNoShow("-u", "@U", "--wait", "-G", "-p", "SuccessExitStatus=7", "/bin/sh", "-c", "exit 7"),
		rcNoShow("-u", "@U", "--wait", "-G", "-p", "Type=oneshot", "/bin/false"),
		rcNoShow("-u", "@U", "--wait", "-G", "-p", "ConditionPathExists=/nonexistent", "/bin/false"),
		rcNoShow("-u", "@U", "--wait", "-G", "--service-type=exec", "-p", "User=borgrun-no-such-user", "/bin/true"),
		rcNoShow("-u", "@U", "--wait", "/bin/sh", "-c", "exit 5"),
		rcNoShow("-u", "@U", "--wait", "--collect", "--quiet", "/bin/true"),
		rcNoShow("-u", "@U", "--wait", "-G", "-E", "X=1", "--nice=3", "/bin/sh", "-c", "test $$X = 1"),
		rcNoShow("--wait", "-G", "/bin/true"),
		rcNoShow("-u", "@U", "--pipe", "-G", "/bin/sh", "-c", "echo out; echo err >&2; exit 4"),
		rcNoShow("-u", "@U", "-P", "--wait", "-G", "/bin/echo", "hi"),
		rcNoShow("-u", "@U", "--pipe", "-q", "-G", "/bin/cat"),

		// Timers: both units stay loaded.
		rc("-u", "@U", "--on-active=1h", "/bin/true"),
		rc("-u", "@U", "--on-boot=1h", "/bin/true"),
		rc("-u", "@U", "--on-startup=2h", "/bin/true"),
		rc("-u", "@U", "--on-unit-active=1h", "/bin/true"),
		rc("-u", "@U", "--on-unit-inactive=30m", "/bin/true"),
		rc("-u", "@U", "--on-active=1h", "--on-boot=2h", "--on-active=3h", "/bin/true"),
		rc("-u", "@U", "--on-calendar=daily", "/bin/true"),
		rc("-u", "@U", "--on-calendar=Mon..Fri 12:00", "--on-calendar=hourly", "/bin/true"),
		rc("-u", "@U", "--on-calendar=2001-01-01", "/bin/true"),
		rc("-u", "@U", "--on-calendar=daily", "--timer-property=Persistent=yes", "/bin/true"),
		rc("-u", "@U", "--timer-property=RandomizedDelaySec=5m", "--on-active=1h", "/bin/true"),
		rc("-u", "@U", "--timer-property=OnCalendar=weekly", "/bin/true"),
		rc("-u", "@U", "--timer-property=OnActiveSec=2h", "--timer-property=AccuracySec=1s", "/bin/true"),
		rc("-u", "@U", "--timer-property=RemainAfterElapse=yes", "--on-active=1h", "/bin/true"),
		rc("-u", "@U", "--on-clock-change", "/bin/true"),
		rc("-u", "@U", "--on-timezone-change", "--on-active=1h", "/bin/true"),
		rc("-u", "@U", "-G", "--on-active=1h", "/bin/true"),
		rc("-u", "@U", "--description=timed", "--on-active=1h", "/bin/true"),
		rc("-u", "@U.service", "--on-active=1h", "/bin/true"),
		rc("-u", "@U.timer", "--on-active=1h", "/bin/true"),
		rc("-u", "@U x", "--on-active=1h", "/bin/true"),
		rc("-u", "@U", "-q", "--on-active=1h", "/bin/true"),
		rc("-u", "@U", "--on-active=1h", "-p", "Nice=5", "-E", "A=1", "--service-type=oneshot", "-r", "/bin/true"),
		rc("-u", "@U", "--on-active=1h", "--slice=timed", "--uid=nobody", "--working-directory=/tmp", "/bin/sh", "-c", "exit 1"),
		rc("-u", "@U", "--on-active=1h", "--no-block", "/bin/true"),
		rc("-u", "@U", "--on-active=1h", "-p", "Bogus=ignored-without-command"),
		rcNoShow("--on-active=1h", "/bin/true"),

		// Refused by the manager: exit 1 and the same message from both.
		rcNoShow("-u", "@U@.service", "/bin/true"),
		rcNoShow("-u", "@U", "--on-active=", "/bin/true"),

		// Refused by the manager, which borgrun checks before sending
		// (props validates as the manager does): systemd-run exits 1
		// with the manager's message; borgrun's is bad input, exit 2.
		rcInvalid("-u", "@U", "-p", "Wants=", "-p", "RequiresMountsFor=relative", "/bin/true"),
		rcInvalid("-u", "@U", "--service-type=bogus", "/bin/true"),

		// Invalid input.
		rcInvalid("--bogus", "/bin/true"),
		rcInvalid("-x", "/bin/true"),
		rcInvalid("--unit"),
		rcInvalid("-u"),
		rcInvalid("--on", "1h", "/bin/true"),
		rcInvalid("--quiet=1", "/bin/true"),
		rcInvalid("-u", "@U"),
		rcInvalid(),
		rcInvalid("-u", "@U", "--wait", "--no-block", "/bin/true"),
		rcInvalid("-u", "@U", "--pipe", "--no-block", "/bin/true"),
		rcInvalid("-u", "@U", "--pipe", "--on-active=1h", "/bin/true"),
		rcInvalid("-u", "@U", "-t", "--no-block", "/bin/true"),
		rcInvalid("-u", "@U", "--tty", "--on-calendar=daily", "/bin/true"),
		rcInvalid("-u", "@U", "-S", "/bin/true"),
		rcInvalid("-u", "@U", "-S", "--on-active=1h"),
		rcInvalid("-u", "@U", "--wait", "--on-active=1h", "/bin/true"),
		rcInvalid("-u", "@U", "--timer-property=Persistent=yes", "/bin/true"),
		rcInvalid("-u", "@U", "--on-calendar=bogus", "/bin/true"),
		rcInvalid("-u", "@U", "--on-calendar=Mon 25:00", "/bin/true"),
		rcInvalid("-u", "@U", "--on-active=xx", "/bin/true"),

		rcInvalid("-u", "@U", "--timer-property=OnActiveSec=bad", "/bin/true"),
		rcInvalid("-u", "@U", "--timer-property=Bogus=1", "--on-active=1h", "/bin/true"),
		rcInvalid("-u", "@U", "-p", "Bogus=1", "/bin/true"),
		rcInvalid("-u", "@U", "-p", "Nice=99", "/bin/true"),
		rcInvalid("-u", "@U", "-p=Nice=1", "/bin/true"),
		rcInvalid("-u", "@U", "-p", "RandomizedDelaySec=1m", "/bin/true"),
		rcInvalid("-u", "@U", "-p", "MemoryMax=12Q", "--on-active=1h", "/bin/true"),
		rcInvalid("-u", "@U", "--nice=20", "/bin/true"),
		rcInvalid("-u", "@U", "--nice=abc", "/bin/true"),
		rcInvalid("-u", "@U", "--nice=-0o7", "/bin/true"),
		rcInvalid("-u", "@U", "--nice=", "/bin/true"),
		rcInvalid("-u", "@U", "-E", "1X=y", "/bin/true"),
		rcInvalid("-u", "@U", "-E", "=x", "/bin/true"),
		rcInvalid("-u", "@U", "-E", "A B=x", "/bin/true"),
		rcInvalid("-u", "@U", "/nonexistent/command"),
		rcInvalid("-u", "@U", "borgrun-no-such-command"),
		rcInvalid("-u", "@U", "--wait", "/tmp"),
		rcInvalid("-u", "", "/bin/true"),
		rcInvalid("-u", "@U.socket", "-r", "/bin/true"),
		rcInvalid("-u", "@U.timer", "-r", "/bin/true"),
		rcInvalid("-u", "@U.socket", "--on-active=1h", "/bin/true"),

		// --scope: the scope stays while a process is left in it.
		rc("-u", "@U", "--scope", "/bin/sh", "-c", bgSleep),
		rc("-u", "@U", "--scope", "-p", "MemoryMax=1G", "-p", "KillMode=mixed", "-p", "RuntimeMaxSec=1h",
			"--description=in a scope", "--slice=borgruntest", "--send-sighup", "-G", "/bin/sh", "-c", bgSleep),
		rc("-u", "@U", "--scope", "-p", "User=nobody", "-p", "TimeoutStopSec=5", "-q", "/bin/sh", "-c", bgSleep),
		rc("-u", "@U", "--scope", "--slice-inherit", "/bin/sh", "-c", bgSleep),
		rc("-u", "@U", "--scope", "--slice-inherit", "--slice=inner", "/bin/sh", "-c", bgSleep),
		rc("-u", "@U x", "--scope", "/bin/sh", "-c", bgSleep),
		rcNoShow("-u", "@U", "--scope", "/bin/true"),
		rcNoShow("--scope", "/bin/sh", "-c", "exit 3"),
		rcInvalidFrom(262, "-u", "@U", "--scope", "--no-block", "/bin/true"),
		rcNoShow("-u", "@U", "--scope", "-E", "A=1", "-E", "HOME=/x", "--nice=5", "--uid=nobody", "--working-directory=/tmp",
			"/bin/sh", "-c", `echo $A $HOME $(id -u) $(id -g) $(nice) $PWD $USER $LOGNAME $SHELL. $INVOCATION_ID | sed 's/ [0-9a-f]\{32\}$/ ID/'`),
		rcNoShow("-u", "@U", "--scope", "--gid=nogroup", "-d", "/bin/sh", "-c", "id -g; id -u; pwd"),
		rcNoShow("-u", "@U", "--scope", "-E", "V=a 'b c'", "/bin/echo", "$V", "${V}", "$$V", "${BORGRUN_UNSET}", "${1X}", "$V$V"),
		rcNoShow("-u", "@U", "--scope", "-G", "--description=$HOME", "/bin/true"),
		rcInvalid("-u", "@U", "--scope", "/tmp"),

		// --slice-inherit on a service.
		rc("-u", "@U", "-r", "--slice-inherit", "/bin/true"),
		rc("-u", "@U", "-r", "--slice-inherit", "--slice=inner", "/bin/true"),

		// Path and socket triggers: both units stay loaded.
		rc("-u", "@U", "--path-property=PathExists=/nonexistent/@U", "/bin/true"),
		rc("-u", "@U", "--path-property=PathChanged=/tmp/@U", "--path-property=MakeDirectory=yes",
			"--path-property=DirectoryMode=0700", "--path-property=TriggerLimitBurst=3", "-G", "/bin/true"),
		rc("-u", "@U.service", "--path-property=DirectoryNotEmpty=/nonexistent/@U", "--description=watch", "/bin/true"),
		rc("-u", "@U", "--path-property=PathExistsGlob=/nonexistent/*.@U"),
		rc("-u", "@U", "--path-property=PathExists=/nonexistent/@U", "-p", "Nice=3", "-E", "A=1", "-r", "/bin/true"),
		rc("-u", "@U", "--socket-property=ListenStream=/run/@U.sock", "/bin/true"),
		rc("-u", "@U", "--socket-property=ListenStream=/run/@U.sock", "--socket-property=Accept=yes",
			"--socket-property=SocketMode=0600", "--socket-property=Backlog=8", "/bin/true"),
		rc("-u", "@U", "--socket-property=ListenDatagram=/run/@U.dgram", "--socket-property=ReceiveBuffer=1M",
			"--socket-property=TimeoutSec=5", "--socket-property=ExecStartPre=/bin/true", "-q", "/bin/true"),
		rc("-u", "@U", "--socket-property=ListenFIFO=/run/@U.fifo", "--socket-property=RemoveOnStop=yes", "--slice=sock", "/bin/cat"),
		rcNoShow("--path-property=PathExists=/nonexistent/x", "/bin/true"),
		rc("-u", "@U", "--socket-property=ListenStream=/run/@U.s", "--socket-property=KeepAlive=yes",
			"--socket-property=KeepAliveTimeSec=2h", "--socket-property=KeepAliveIntervalSec=75s",
			"--socket-property=KeepAliveProbes=9", "--socket-property=NoDelay=yes", "--socket-property=IPTOS=low-delay",
			"--socket-property=Priority=6", "--socket-property=Mark=7", "--socket-property=SendBuffer=64K", "/bin/true"),
		rc("-u", "@U", "--socket-property=ListenSequentialPacket=/run/@U.seq", "--socket-property=Symlinks=/run/@U.a /run/@U.b",
			"--socket-property=FileDescriptorName=borg", "--socket-property=SocketUser=nobody",
			"--socket-property=DirectoryMode=0700", "--socket-property=TriggerLimitIntervalSec=2s",
			"--socket-property=TriggerLimitBurst=7", "--socket-property=ExecStopPost=-/bin/rm -f /run/@U.x", "/bin/true"),
		rc("-u", "@U", "--socket-property=ListenMessageQueue=/@U", "--socket-property=MessageQueueMaxMessages=10",
			"--socket-property=MessageQueueMessageSize=128", "/bin/true"),
		rc("-u", "@U", "--socket-property=ListenStream=/run/@U.s", "--socket-property=ListenStream=",
			"--socket-property=ListenDatagram=/run/@U.d", "--socket-property=Description=two", "/bin/true"),
		rc("-u", "@U", "--path-property=PathExists=/nonexistent/@U", "--path-property=PathExists=",
			"--path-property=PathModified=/nonexistent/@U.m", "--path-property=Wants=@U-other.service", "/bin/true"),
		rcValidFrom(257, "-u", "@U", "--path-property=PathExists=/nonexistent/@U", "--path-property=PollLimitBurst=5",
			"--path-property=PollLimitIntervalSec=3s", "/bin/true"),
		rcValidFrom(257, "-u", "@U", "--socket-property=ListenStream=/run/@U.s", "--socket-property=PassFileDescriptorsToExec=yes", "/bin/true"),
		rc("-u", "@U", "--scope", "-p", "CPUWeight=50", "-p", "TasksMax=20", "-p", "Delegate=yes", "-p", "OOMPolicy=continue",
			"-p", "RuntimeRandomizedExtraSec=5", "-p", "Group=nogroup", "-p", "Wants=@U-x.service", "/bin/sh", "-c", bgSleep),

		// Refused: one line and exit 2 from borgrun.
		rcInvalid("-u", "@U", "--scope", "-r", "/bin/true"),
		rcInvalid("-u", "@U", "--scope", "--service-type=exec", "/bin/true"),
		rcInvalid("-u", "@U", "--scope", "--service-type=", "/bin/true"),
		rcInvalid("-u", "@U", "--scope", "--wait", "/bin/true"),
		rcInvalid("-u", "@U", "--scope", "--pipe", "/bin/true"),
		rcInvalid("-u", "@U", "--scope", "--on-active=1h", "/bin/true"),
		rcInvalid("-u", "@U", "--scope", "--path-property=PathExists=/x", "/bin/true"),
		rcInvalid("-u", "@U", "--scope", "-p", "Nice=5", "/bin/true"),
		rcInvalid("-u", "@U", "--scope", "-p", "Bogus=1", "/bin/true"),
		rcInvalid("-u", "@U", "--scope", "--uid=borgrun-no-such-user", "/bin/true"),
		rcInvalid("-u", "@U", "--scope", "--gid=borgrun-no-such-group", "/bin/true"),
		rcInvalid("-u", "@U", "--scope"),
		rcInvalid("-u", "@U", "--scope", "-H", "db1", "/bin/true"),
		rcInvalid("-u", "@U", "--on-active=1h", "--path-property=PathExists=/x", "/bin/true"),
		rcInvalid("-u", "@U", "--path-property=PathExists=/x", "--socket-property=ListenStream=/run/x", "/bin/true"),
		rcInvalid("-u", "@U", "--path-property=PathExists=/x", "--wait", "/bin/true"),
		rcInvalid("-u", "@U", "--socket-property=ListenStream=/run/x", "--pipe", "/bin/true"),
		rcInvalid("-u", "@U", "--path-property=Bogus=1", "/bin/true"),
		rcInvalid("-u", "@U", "--path-property=Nice=1", "/bin/true"),
		rcInvalid("-u", "@U", "--socket-property=Backlog=x", "/bin/true"),
		rcInvalid("-u", "@U", "--socket-property=ListenStream=/run/x", "-p", "Backlog=5", "/bin/true"),
		rcInvalid("--path-property=PathExists=/x"),

		// Options later versions added: run as that version does where
		// the suite has them, refused (naming the version) where not.
		rc("-u", "@U", "-r", "--expand-environment=no", "/bin/echo", "$$HOME", "$${X}").from(254),
		rc("-u", "@U", "-r", "--expand-environment=yes", "/bin/echo", "$$HOME").from(254),
		rc("-u", "@U", "-r", "--expand-environment=0", "--expand-environment=1", "/bin/true").from(254),
		rc("-u", "@U", "--expand-environment=off", "--on-active=1h", "/bin/true").from(254),
		rcNoShow("-u", "@U", "--wait", "-G", "--expand-environment=no", "/bin/sh", "-c", "test \"$$0\" = /bin/sh").from(254),
		rcInvalid("-u", "@U", "--expand-environment=maybe", "/bin/true"),
		rc("-u", "@U", "-r", "--ignore-failure", "/bin/false").from(256),
		rc("-u", "@U", "-r", "--ignore-failure", "--expand-environment=no", "/bin/false").from(256),
		rcNoShow("-u", "@U", "--wait", "-G", "--ignore-failure", "/bin/sh", "-c", "exit 3").from(256),
		rc("-u", "@U", "--ignore-failure", "--on-active=1h", "/bin/false").from(256),
		rc("-u", "@U", "-r", "--background=44", "/bin/true").from(256),
		rc("-u", "@U", "-r", "--background=", "/bin/true").from(256),
		// 257 takes any color; 262 checks it.
		rc("-u", "@U", "-r", "--background=red", "/bin/true").from(256).validUntil(262),
		rc("-u", "@U", "-r", "--background=4;", "/bin/true").from(256).validUntil(262),
		rc("-u", "@U", "-r", "--json=short", "/bin/true").from(257),
		rc("-u", "@U", "-r", "--json=pretty", "/bin/true").from(257),
		rc("-u", "@U", "-r", "--json=off", "/bin/true").from(257),
		rc("-u", "@U", "-r", "-q", "--json=short", "/bin/true").from(257),
		rc("-u", "@U", "--json=short", "--on-active=1h", "/bin/true").from(257).validUntil(262),
		rcInvalid("-u", "@U", "--json=long", "/bin/true"),
		rc("-u", "@U", "-r", "--job-mode=replace", "/bin/true").from(258),
		rc("-u", "@U", "-r", "--job-mode=lenient", "/bin/true").from(258),
		rc("-u", "@U", "--job-mode=replace", "--on-active=1h", "/bin/true").from(258),
		rcNoShow("-u", "@U", "--job-mode=isolate", "/bin/true").from(258),
		rcInvalid("-u", "@U", "--job-mode=bogus", "/bin/true"),
		rcNoShow("-u", "@U", "-T", "-P", "-G", "/bin/echo", "hi").from(258),
		rcInvalid("-u", "@U", "-T", "--service-type=oneshot", "/bin/true"),
		rc("-u", "@U", "-r", "-R", "/bin/true").from(259),
		rc("-u", "@U", "-r", "--root-directory=/", "-d", "/bin/true").from(259),
		rc("-u", "@U", "-r", "--root-directory=/", "--on-active=1h", "/bin/true").from(259),
		rc("-u", "@U", "-r", "--root-directory=//./", "/bin/true").from(259),
		rc("-u", "@U", "-r", "-R", "--root-directory=", "/bin/true").from(259),
		rcInvalid("-u", "@U", "-r", "--root-directory=/tmp", "-d", "/bin/true"),
		rc("-u", "@U", "-r", "--no-pager", "/bin/true").from(262),
		// -v: the unit's journal on stdout, from the local journalctl.
		rcNoShow("-u", "@U", "-v", "--output=cat", "--wait", "/bin/echo", "hello").from(261),
		rcNoShow("-u", "@U", "-v", "--output=cat", "--wait", "-G", "/bin/sh", "-c", "echo out; echo err >&2; exit 3").from(261),
		rc("-u", "@U", "-v", "--output=cat", "-r", "--service-type=oneshot", "/bin/echo", "hi").from(261),
		rc("-u", "@U", "-r", "--output=cat", "/bin/true").from(261),
		rcInvalid("-u", "@U", "-v", "--output=bogus", "/bin/true"),
		rcInvalid("-u", "@U", "-v", "--json=short", "/bin/true"),
		// Abbreviations resolve among the version's own options: --c
		// is --collect until --capsule came (256).
		rcNoShow("-u", "@U", "--c", "/bin/true").validUntil(256),
		// --on-clock-change alone makes a timer in every version; from
		// 262 --timer-property=OnClockChange= does too.
		rc("-u", "@U", "--on-timezone-change", "/bin/true"),
		// The new options with --scope: 254..257 expand a scope's
		// command line only with --expand-environment=yes, 258 unless
		// =no; 262 refuses --json and --ignore-failure there.
		rcNoShow("-u", "@U", "--scope", "--expand-environment=yes", "-E", "V=a b", "/bin/echo", "$V", "${V}", "$$V", "${BORGRUN_UNSET}").from(254),
		rcNoShow("-u", "@U", "--scope", "--expand-environment=no", "-E", "V=a", "/bin/echo", "$V", "${V}", "$$V").from(254),
		rcNoShow("-u", "@U", "--scope", "--expand-environment=no", "-G", "--description=$HOME", "/bin/true").from(254),
		// 257's --json with --scope prints nothing into a pipe (its
		// stdio buffer is lost at the exec).
		rcNoShow("-u", "@U", "--scope", "-q", "--json=short", "/bin/true").from(257).validUntil(262),
		rcNoShow("-u", "@U", "--scope", "--json=pretty", "/bin/echo", "hi").from(257).validUntil(262),
		rcNoShow("-u", "@U", "--scope", "--ignore-failure", "/bin/true").from(256).validUntil(262),
		rcInvalid("-u", "@U", "--scope", "-R", "/bin/true"),
		rcNoShow("-u", "@U", "--scope", "--job-mode=replace", "/bin/true").from(258),
		rcNoShow("-u", "@U", "--scope", "--job-mode=isolate", "/bin/true").from(258),
		rc("-u", "@U", "--json=short", "--path-property=PathExists=/nonexistent/@U", "/bin/true").from(257).validUntil(262),
		rcValidFrom(262, "-u", "@U", "--timer-property=OnClockChange=yes", "/bin/true"),
		rcValidFrom(262, "-u", "@U", "--timer-property=OnTimezoneChange=yes", "--timer-property=Persistent=yes", "/bin/true"),
	}
	return cases
}

// bgSleep leaves a process in the scope (or service) and exits.
const bgSleep = "sleep 600 </dev/null >/dev/null 2>&1 &"

var (
	reRunName  = regexp.MustCompile(`run-(u[0-9]+|r[0-9a-f]{32}|p[0-9]+-i[0-9]+)`)
	reFigures  = regexp.MustCompile(`(?m)^( *)(Service runtime|CPU time consumed|Memory peak|IP traffic received|IP traffic sent|IO bytes read|IO bytes written|IP traffic|IO bytes|IP Traffic|IO Bytes): .*$`)
	reInvID    = regexp.MustCompile(`; invocation ID: [0-9a-f]{32}`)
	reInValues = regexp.MustCompile(`(pid|start_time|stop_time|next_elapse)=(\[[^\]]*\]|[^;}]*)`)
)

// normalizeMessages makes the output of the two tools comparable: the unit
// name given becomes UNIT, run-u<N>, run-r<hex> and (257) run-p<PID>-i<ID>
// keep only their kind, the figures of the --wait summary (from 262 a
// table, its fields right-aligned) are dropped, and so are (255) the
// invocation IDs, random, to "X".
func normalizeMessages(s, unit string) string {
	if unit != "" {
		s = strings.ReplaceAll(s, unit, "UNIT")
	}
	s = reRunName.ReplaceAllStringFunc(s, func(m string) string { return m[:5] })
	s = reInvID.ReplaceAllString(s, "; invocation ID: X")
	return reFigures.ReplaceAllString(s, "$1$2: X")
}

var reJSONID = regexp.MustCompile(`"[0-9a-f]{32}"`)

// normalizeStdout is normalizeMessages for stdout, where --json prints
// the unit and its invocation ID.
func normalizeStdout(s, unit string) string {
	return reJSONID.ReplaceAllString(normalizeMessages(s, unit), `"X"`)
}

// unstartedInvocation reports whether args make systemd-run 257 read the
// unit's invocation ID without waiting for its start job (--wait, --pipe,
// --no-block): the ID is there or not depending on whether the manager ran
// the job first, a race in systemd-run itself, so that the two tools'
// messages are compared without it. With -G/--collect the same holds the
// other way: a command that ends at once may have its unit collected
// before either tool reads the ID (262, "-G /bin/true": 1 run in ~10).
func unstartedInvocation(args []string) bool {
	for _, a := range args {
		if a == "--wait" || a == "--pipe" || a == "-P" || a == "--no-block" || a == "-G" || a == "--collect" {
			return true
		}
	}
	return false
}

// volatile are systemctl show properties that differ between two runs of
// the same command: process IDs, times, counters, random IDs.
var volatile = map[string]bool{
	"MainPID": true, "ExecMainPID": true, "ControlGroupId": true, "CPUUsageNSec": true, "InvocationID": true,
	"MemoryCurrent": true, "MemoryAvailable": true, "TasksCurrent": true, "IOReadBytes": true, "IOWriteBytes": true,
	"IOReadOperations": true, "IOWriteOperations": true, "IPIngressBytes": true, "IPEgressBytes": true,
	"IPIngressPackets": true, "IPEgressPackets": true, "NextElapseUSecMonotonic": true, "NextElapseUSecRealtime": true,
	"Refs": true, "LastTriggerUSec": true, "LastTriggerUSecMonotonic": true, "ExecMainStartTimestamp": true, "ExecMainExitTimestamp": true,
	// The manager resolves User=/Group= into UID/GID once the process
	// has started: "[not set]" or the number, depending on when show
	// reads them (257, --uid=nobody with a running command: 2 of 8 runs).
	// User= and Group=, which the tools send, are compared.
	"UID": true, "GID": true,
}

// unordered are list properties whose order the manager does not keep.
var unordered = map[string]bool{"After": true, "Before": true, "Wants": true, "Requires": true, "Conflicts": true,
	"RequiredBy": true, "WantedBy": true, "Triggers": true, "TriggeredBy": true, "ConflictedBy": true}

// showUnit returns systemctl show for unit, normalised.
func showUnit(t *testing.T, sys *transienttest.Systemd, unit, stem string) string {
	t.Helper()
	out, err := sys.Output(t.Context(), "systemctl", "show", unit)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(l, "=")
		if volatile[k] || strings.HasSuffix(k, "Timestamp") || strings.HasSuffix(k, "TimestampMonotonic") {
			continue
		}
		v = strings.ReplaceAll(v, stem, "UNIT")
		v = reInValues.ReplaceAllString(v, "$1=X")
		if unordered[k] {
			w := strings.Fields(v)
			slices.Sort(w)
			v = strings.Join(w, " ")
		}
		lines = append(lines, k+"="+v)
	}
	return strings.Join(lines, "\n")
}

type outcome struct {
	stdout, stderr string
	code           int
}

func systemdRunIn(t *testing.T, sys *transienttest.Systemd, args []string) outcome {
	t.Helper()
	cmd := sys.Command(t.Context(), "systemd-run", args...)
	stdout, stderr, code := runCapture(t, cmd)
	return outcome{stdout, stderr, code}
}

// unitSuffixes are the unit types systemd-run creates.
var unitSuffixes = []string{".service", ".timer", ".scope", ".path", ".socket"}

// cleanupUnits stops and resets the units of a case, named or auto-named
// (found in the messages).
func cleanupUnits(t *testing.T, sys *transienttest.Systemd, stem string, messages ...string) {
	t.Helper()
	var units []string
	for _, suffix := range unitSuffixes {
		units = append(units, stem+suffix)
	}
	for _, m := range messages {
		for _, n := range reRunName.FindAllString(m, -1) {
			for _, suffix := range unitSuffixes {
				units = append(units, n+suffix)
			}
		}
	}
	// Escaped forms of the odd names the cases use.
	units = append(units, stem+`\x20x.service`, stem+`\x20x.timer`, stem+`\x20x.scope`, stem+`\x2a.service`, stem+".bar.service")
	ctx := context.WithoutCancel(t.Context())
	sys.Output(ctx, "systemctl", append([]string{"stop"}, units...)...)
	sys.Output(ctx, "systemctl", append([]string{"reset-failed"}, units...)...)
}

func subst(args []string, stem string) []string {
	r := slices.Clone(args)
	for i := range r {
		r[i] = strings.ReplaceAll(r[i], "@U", stem)
	}
	return r
}

// TestRunDifferential runs each case through systemd-run and borgrun run
// in the same throwaway systemd and requires the same outcome and, where
// the units stay loaded, the same units: on every suite, against that
// suite's own systemd-run and manager.
func TestRunDifferential(t *testing.T) {
	cases := runCases()
	if len(cases) < 100 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, suite := range transienttest.Suites() {
		t.Run(fmt.Sprintf("%s/%d", suite, suite.SystemdMajor()), func(t *testing.T) {
			transienttest.RequireSuite(t, suite)
			sys := sandbox.GetSuite(t, suite)
			runDifferential(t, sys, cases)
		})
	}
}

// runDifferential is TestRunDifferential in the throwaway systemd sys.
func runDifferential(t *testing.T, sys *transienttest.Systemd, cases []runCase) {
	major := sys.Suite().SystemdMajor()
	for i, tc := range cases {
		t.Run(fmt.Sprintf("%03d %s", i, strings.Join(tc.args, " ")), func(t *testing.T) {
			t.Parallel()
			sdStem, brStem := fmt.Sprintf("sdrun%03d", i), fmt.Sprintf("brrun%03d", i)
			sd := systemdRunIn(t, sys, subst(tc.args, sdStem))
			stdout, stderr, code := borgrunIn(t, sys, nil, append([]string{"run"}, subst(tc.args, brStem)...)...)
			br := outcome{stdout, stderr, code}
			t.Cleanup(func() { cleanupUnits(t, sys, sdStem, sd.stderr); cleanupUnits(t, sys, brStem, br.stderr) })

			if tc.invalid || tc.invalidFrom != 0 && major >= tc.invalidFrom || major < tc.validFrom {
				if tc.refusal && major < tc.validFrom && !strings.Contains(br.stderr, fmt.Sprintf("needs systemd %d or newer; this manager is %d", tc.validFrom, major)) {
					t.Errorf("borgrun stderr %q does not name the version needed (%d) and the manager's (%d)", br.stderr, tc.validFrom, major)
				}
				if sd.code != 1 {
					t.Errorf("systemd-run exit %d, want 1 (the case says invalid); stderr %q", sd.code, sd.stderr)
				}
				if br.code != exitUsage || strings.Count(br.stderr, "\n") != 1 || !strings.HasPrefix(br.stderr, "borgrun: run: ") {
					t.Errorf("borgrun exit %d, stderr %q: want %d and one line \"borgrun: run: ...\"", br.code, br.stderr, exitUsage)
				}
				for _, suffix := range unitSuffixes {
					u := brStem + suffix
					if ls := showPropsIn(t, sys, u, "LoadState")["LoadState"]; ls != "not-found" {
						t.Errorf("invalid input created %s (LoadState=%s)", u, ls)
					}
				}
				return
			}
			if br.code != sd.code {
				t.Errorf("exit %d, systemd-run %d\nborgrun stderr:\n%s\nsystemd-run stderr:\n%s", br.code, sd.code, br.stderr, sd.stderr)
			}
			a, b := normalizeMessages(br.stderr, brStem), normalizeMessages(sd.stderr, sdStem)
			if unstartedInvocation(tc.args) {
				a, b = strings.ReplaceAll(a, "; invocation ID: X", ""), strings.ReplaceAll(b, "; invocation ID: X", "")
			}
			if slices.Contains(tc.args, "--pipe") || slices.Contains(tc.args, "-P") {
				// The service writes to the same stderr while the tool
				// prints its own lines: their order is timing, for
				// either tool. Compare the lines, not their order.
				a, b = sortedLines(a), sortedLines(b)
			}
			if a != b {
				t.Errorf("stderr differs\nborgrun:\n%s\nsystemd-run:\n%s", a, b)
			}
			if printsJSON(tc.args) && !strings.Contains(sd.stdout, `"unit"`) {
				t.Errorf("systemd-run printed no JSON object on stdout: %q", sd.stdout)
			}
			if slices.Contains(tc.args, "-v") && !strings.Contains(sd.stdout, sdStem+".service - [systemd-run]") {
				t.Errorf("systemd-run -v printed no journal on stdout: %q", sd.stdout)
			}
			a, b = normalizeStdout(br.stdout, brStem), normalizeStdout(sd.stdout, sdStem)
			if slices.Contains(tc.args, "-v") || slices.Contains(tc.args, "--verbose") {
				// The journal orders the service's output and the
				// manager's messages about it as they arrive: timing,
				// for either tool (262: "out" before or after "Main
				// process exited"). Compare the lines, not their order.
				a, b = sortedLines(a), sortedLines(b)
			}
			if a != b {
				t.Errorf("stdout %q, systemd-run %q", br.stdout, sd.stdout)
			}
			if tc.noShow {
				return
			}
			if remainsAfterExit(tc.args) {
				// With RemainAfterExit the unit stays active; wait
				// (signal-driven, bounded) until both commands have
				// exited, so that the two are compared in one state.
				waitExited(t, sys, brStem+".service", sdStem+".service")
			}
			for _, unit := range []string{"UNIT.service", "UNIT.timer", "UNIT.scope", "UNIT.path", "UNIT.socket", `UNIT\x20x.service`, `UNIT\x20x.timer`, `UNIT\x20x.scope`, `UNIT\x2a.service`, "UNIT.bar.service"} {
				a := showUnit(t, sys, strings.ReplaceAll(unit, "UNIT", brStem), brStem)
				b := showUnit(t, sys, strings.ReplaceAll(unit, "UNIT", sdStem), sdStem)
				if a != b {
					t.Errorf("%s differs:\n%s", unit, lineDiff(a, b))
				}
			}
		})
	}
}

// printsJSON reports whether systemd-run prints a JSON object on stdout
// (into a pipe) for args: --json=short or pretty without -q, for a
// service; not for a trigger, or (257) a scope.
func printsJSON(args []string) bool {
	json := false
	for _, a := range args {
		switch {
		case a == "--json=short" || a == "--json=pretty":
			json = true
		case a == "-q" || a == "--scope" || strings.HasPrefix(a, "--on-") || strings.HasPrefix(a, "--path-") || strings.HasPrefix(a, "--socket-"):
			return false
		}
	}
	return json
}

// sortedLines returns s's lines sorted.
func sortedLines(s string) string {
	l := strings.Split(s, "\n")
	slices.Sort(l)
	return strings.Join(l, "\n")
}

// remainsAfterExit reports whether args ask for RemainAfterExit: -r,
// --remain-after-exit (or an abbreviation, --rem), or r among combined
// short options (-rqG).
func remainsAfterExit(args []string) bool {
	return slices.ContainsFunc(args, func(a string) bool {
		return strings.HasPrefix(a, "--rem") || len(a) > 1 && a[0] == '-' && a[1] != '-' && strings.Contains(a[1:], "r") && !strings.ContainsAny(a[1:2], "upEdH")
	})
}

// lineDiff lists the lines only in a (-) or only in b (+).
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for _, l := range al {
		if !slices.Contains(bl, l) {
			out = append(out, "- borgrun:     "+l)
		}
	}
	for _, l := range bl {
		if !slices.Contains(al, l) {
			out = append(out, "+ systemd-run: "+l)
		}
	}
	return strings.Join(out, "\n")
}

// TestRunBadInput runs borgrun run in-process: bad input exits 2 with one
// line naming the bad token, before any connection to a manager.
func TestRunBadInput(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--bogus", "/bin/true"}, "'--bogus'"},
		{[]string{"-x", "/bin/true"}, "'x'"},
		{[]string{"--unit"}, "'--unit' requires an argument"},
		{[]string{"-u"}, "-- 'u'"},
		{[]string{"--on", "1h", "/bin/true"}, "'--on' is ambiguous"},
		{[]string{"--quiet=1", "/bin/true"}, "'--quiet' doesn't allow an argument"},
		{[]string{"-t", "--no-block", "/bin/true"}, "--pty/--pipe is not compatible with --no-block."},
		{[]string{"--tty", "--on-active=1h", "/bin/true"}, "--pty/--pipe is not compatible in timer or --scope mode."},
		{[]string{"-S", "/bin/sh"}, "If --shell is used, no command line is expected."},
		{[]string{"-S", "--no-block"}, "--pty/--pipe is not compatible with --no-block."},
		{[]string{"-H", "db1", "-t", "/bin/true"}, "--pty/--pipe is only supported when connecting to the local system or containers."},
		{[]string{"--scope", "-r", "/bin/true"}, "--scope"},
		{[]string{"--scope", "--wait", "/bin/true"}, "--scope"},
		{[]string{"--scope", "-t", "/bin/true"}, "--pty/--pipe is not compatible in timer or --scope mode."},
		{[]string{"--scope", "-p", "Nice=5", "/bin/true"}, `"Nice=5"`},
		{[]string{"--scope", "--uid=borgrun-no-such-user", "/bin/true"}, `"borgrun-no-such-user"`},
		{[]string{"--scope", "-H", "db1", "/bin/true"}, "Scope execution is not supported on remote systems."},
		{[]string{"--scope", "-M", "web1", "/bin/true"}, "--scope cannot be combined with -M"},
		{[]string{"--path-property=PathExists=/x", "--on-active=1h", "/bin/true"}, "single trigger"},
		{[]string{"--path-property=Bogus=1", "/bin/true"}, `"Bogus=1"`},
		{[]string{"--socket-property=ListenStream=/run/x", "--wait", "/bin/true"}, "--wait"},
		{[]string{"--socket-property=ListenStream=/run/x", "-t", "/bin/true"}, "--pty/--pipe"},
		{[]string{"-u", "x.timer", "--socket-property=ListenStream=/run/x", "/bin/true"}, `"x.timer"`},
		{[]string{}, "COMMAND"},
		{[]string{"-u", "x"}, "COMMAND"},
		{[]string{"--wait", "--no-block", "/bin/true"}, "--no-block"},
		{[]string{"--pipe", "--no-block", "/bin/true"}, "--no-block"},
		{[]string{"--pipe", "--on-active=1h", "/bin/true"}, "--pipe"},
		{[]string{"--wait", "--on-calendar=daily", "/bin/true"}, "--wait"},
		{[]string{"--timer-property=Persistent=yes", "/bin/true"}, "Persistent=yes"},
		{[]string{"--on-calendar=Mon 25:00", "/bin/true"}, `"Mon 25:00"`},
		{[]string{"--on-active=5x", "/bin/true"}, `"OnActiveSec=5x"`},
		{[]string{"--on-active=1h", "--timer-property=Bogus=1", "/bin/true"}, `"Bogus=1"`},
		{[]string{"-p", "Nice=99", "/bin/true"}, `"Nice=99"`},
		{[]string{"-p", "RandomizedDelaySec=1m", "/bin/true"}, `--timer-property`},
		{[]string{"--nice=20", "/bin/true"}, `"20"`},
		{[]string{"--nice=1_0", "/bin/true"}, `"1_0"`},
		{[]string{"-E", "1X=y", "/bin/true"}, `"1X=y"`},
		{[]string{"-E", "A.b", "/bin/true"}, `"A.b"`},
		{[]string{"borgrun-no-such-command"}, `"borgrun-no-such-command"`},
		{[]string{"-u", "", "/bin/true"}, "--unit"},
		{[]string{"-u", "/srv/x", "/bin/true"}, `"/srv/x"`},
		{[]string{"-u", "x.socket", "/bin/true"}, `"x.socket"`},
		{[]string{"-u", "x.path", "--on-active=1h", "/bin/true"}, `"x.path"`},
		{[]string{"--slice=x.service", "/bin/true"}, `"x.service"`},
		{[]string{"-u", strings.Repeat("x", 300), "/bin/true"}, "--unit"},
		{[]string{"-H", "db1", "--pipe", "/bin/true"}, "--pty/--pipe is only supported when connecting to the local system or containers."},
		{[]string{"-H", "db1", "--user", "/bin/true"}, "--user"},
		{[]string{"-H", "db1/a/b", "/bin/true"}, `"db1/a/b"`},
		{[]string{"-M", "a/b", "/bin/true"}, `"a/b"`},
		{[]string{"-M", "root@web1", "/bin/true"}, `"root@web1"`},
		{[]string{"-M", "alice@", "--user", "/bin/true"}, `"alice@"`},
		{[]string{"-M", "-x@web1", "--user", "/bin/true"}, `"-x@web1"`},
		{[]string{"-M", "alice@web1", "-H", "db1", "--user", "/bin/true"}, "--user"},
		{[]string{"-M", "web1", "-Mweb1", "/bin/true"}, "given twice"},
		{[]string{"-M", "web1", "-M", "web2", "--pipe", "/bin/true"}, "--pty/--pipe goes with one -M"},
		{[]string{"-Hdb1", "-H", "db1", "/bin/true"}, `given twice`},
		{[]string{"-H", "db1", "--parallel=x", "/bin/true"}, `--parallel "x"`},
		{[]string{"-H", "db1", "bin/true"}, `"bin/true"`},
		{[]string{"-H", "db1", "-p", "Bogus=1", "/bin/true"}, `"Bogus=1"`},
		// Options of later versions: bad values whatever the manager.
		{[]string{"--expand-environment=maybe", "/bin/true"}, "--expand-environment=maybe"},
		{[]string{"--json=long", "/bin/true"}, "--json=long"},
		{[]string{"--job-mode=bogus", "/bin/true"}, "--job-mode=bogus"},
		{[]string{"-T", "--service-type=oneshot", "/bin/true"}, "--pty-late is not compatible with --service-type=oneshot."},
		{[]string{"--root-directory=/tmp", "-d", "/bin/true"}, "--same-dir"},
		{[]string{"-C", "x", "/bin/true"}, "--capsule"},
		{[]string{"-v", "--output=bogus", "/bin/true"}, "--output=bogus"},
		{[]string{"--c", "--json", "/bin/true"}, "'--c' is ambiguous"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := newBadInputEnv(t, &stdout, &stderr).main(append([]string{"run"}, tt.args...)); code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			msg := stderr.String()
			if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "borgrun: run: ") || !strings.Contains(msg, tt.want) {
				t.Errorf("stderr %q: want one line starting \"borgrun: run: \" containing %q", msg, tt.want)
			}
		})
	}
}

// TestGetoptLong checks the getopt_long emulation on what parses.
func TestGetoptLong(t *testing.T) {
	opts, rest, err := getoptLong([]string{"-rqGu", "name", "--desc", "d e", "--pt", "-pA=1", "--property=B=2", "--", "-x"}, props.V252)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range opts {
		got = append(got, o.opt.long+"="+o.arg)
	}
	want := []string{"remain-after-exit=", "quiet=", "collect=", "unit=name", "description=d e", "pty=", "property=A=1", "property=B=2"}
	if !slices.Equal(got, want) || !slices.Equal(rest, []string{"-x"}) {
		t.Errorf("got %q rest %q, want %q rest [-x]", got, rest, want)
	}
}

// TestGetoptLongVersions checks that options and abbreviations are those
// of the manager's version: --c is --collect until --capsule (256), --pt
// is --pty until --pty-late (258), and an option a later version added is
// refused naming that version.
func TestGetoptLongVersions(t *testing.T) {
	tests := []struct {
		args []string
		v    props.Version
		want string // the option parsed, or the error
	}{
		{[]string{"--c"}, props.V255, "collect"},
		{[]string{"--c"}, props.V256, "option '--c' is ambiguous; possibilities: '--collect' '--capsule'"},
		{[]string{"--pt"}, props.V257, "pty"},
		{[]string{"--pt"}, props.V258, "option '--pt' is ambiguous; possibilities: '--pty' '--pty-late'"},
		{[]string{"--tt"}, props.V262, "tty"},
		{[]string{"--json=short"}, props.V256, "--json needs systemd 257 or newer; this manager is 256"},
		{[]string{"--js=short"}, props.V252, "--json needs systemd 257 or newer; this manager is 252"},
		{[]string{"--json=short"}, props.V257, "json"},
		{[]string{"-T"}, props.V257, "-T/--pty-late needs systemd 258 or newer; this manager is 257"},
		{[]string{"-R"}, props.V258, "-R/--same-root-dir needs systemd 259 or newer; this manager is 258"},
		{[]string{"-R"}, props.V259, "same-root-dir"},
		{[]string{"--expand-environment=no"}, props.V253, "--expand-environment needs systemd 254 or newer; this manager is 253"},
		{[]string{"--expand-environment=no"}, props.V254, "expand-environment"},
		{[]string{"--no-pager"}, props.V261, "--no-pager needs systemd 262 or newer; this manager is 261"},
		{[]string{"--no-p"}, props.V262, "no-pager"},
	}
	for _, tt := range tests {
		opts, _, err := getoptLong(tt.args, tt.v)
		got := ""
		if err != nil {
			got = err.Error()
		} else if len(opts) == 1 {
			got = opts[0].opt.long
		}
		if got != tt.want {
			t.Errorf("%q as %d: got %q, want %q", tt.args, tt.v, got, tt.want)
		}
	}
}

// waitExited waits until each unit that is still running has exited
// (SubState "exited", as a RemainAfterExit service shows it).
func waitExited(t *testing.T, sys *transienttest.Systemd, units ...string) {
	t.Helper()
	c, err := transient.Dial(t.Context(), transient.DialOptions{Stream: sys.BusStream})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for _, u := range units {
		if showPropsIn(t, sys, u, "SubState")["SubState"] != "running" {
			continue // not a started service that remains after exit
		}
		if err := c.WaitUnitProperty(ctx, u, "SubState", "exited"); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRunScopeCgroup runs a command with --scope through systemd-run and
// borgrun run on every suite: the command must run inside the named scope
// (its cgroup path ends in the scope, under the slice asked for), with the
// same output, messages and exit status from both. The last case runs the
// tool inside a scope in outer.slice, so that --slice-inherit has a slice
// to inherit.
func TestRunScopeCgroup(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, suite := range transienttest.Suites() {
		t.Run(fmt.Sprintf("%s/%d", suite, suite.SystemdMajor()), func(t *testing.T) {
			transienttest.RequireSuite(t, suite)
			sys := sandbox.GetSuite(t, suite)
			for i, tc := range []struct {
				args   []string
				nested bool   // run the tool again, in a scope in outer.slice
				want   string // the end of the cgroup path, @U the unit
			}{
				{[]string{"/bin/cat", "/proc/self/cgroup"}, false, "/system.slice/@U.scope"},
				{[]string{"--slice=borgruntest", "sh", "-c", "exec cat /proc/self/cgroup"}, false, "/borgruntest.slice/@U.scope"},
				{[]string{"--slice-inherit", "--slice=inner", "--", "/bin/cat", "/proc/self/cgroup"}, true, "/outer.slice/outer-inner.slice/@U.scope"},
				{[]string{"--slice-inherit", "-q", "/bin/cat", "/proc/self/cgroup"}, true, "/outer.slice/@U.scope"},
			} {
				sdStem, brStem := fmt.Sprintf("sdscope%d", i), fmt.Sprintf("brscope%d", i)
				args := append([]string{"-u", "@U", "--scope"}, tc.args...)
				sdArgs, brArgs := subst(args, sdStem), append([]string{"run"}, subst(args, brStem)...)
				if tc.nested {
					sdArgs = append([]string{"-u", sdStem + "-outer", "--scope", "--slice=outer", "--", "systemd-run"}, sdArgs...)
					brArgs = append([]string{"run", "-u", brStem + "-outer", "--scope", "--slice=outer", "--", exe}, brArgs...)
				}
				sd := systemdRunIn(t, sys, sdArgs)
				stdout, stderr, code := borgrunIn(t, sys, nil, brArgs...)
				br := outcome{stdout, stderr, code}
				t.Cleanup(func() { cleanupUnits(t, sys, sdStem); cleanupUnits(t, sys, brStem) })
				for _, o := range []struct {
					tool string
					out  outcome
					stem string
				}{{"systemd-run", sd, sdStem}, {"borgrun", br, brStem}} {
					var unified string
					for _, l := range strings.Split(o.out.stdout, "\n") {
						if p, ok := strings.CutPrefix(l, "0::"); ok {
							unified = p
						}
					}
					if want := strings.ReplaceAll(tc.want, "@U", o.stem); o.out.code != 0 || !strings.HasSuffix(unified, want) {
						t.Errorf("%s %q: exit %d, cgroup %q, want a path ending in %q; stderr %q", o.tool, args, o.out.code, unified, want, o.out.stderr)
					}
				}
				if a, b := strings.ReplaceAll(br.stdout, brStem, "UNIT"), strings.ReplaceAll(sd.stdout, sdStem, "UNIT"); a != b {
					t.Errorf("%q: stdout %q, systemd-run %q", args, a, b)
				}
				if a, b := normalizeMessages(br.stderr, brStem), normalizeMessages(sd.stderr, sdStem); a != b {
					t.Errorf("%q: stderr %q, systemd-run %q", args, a, b)
				}
			}
		})
	}
}
