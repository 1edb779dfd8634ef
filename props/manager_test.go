package props_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/borgrun/borgrun/props"
)

// managerCase is a value the manager validates: in is the assignment,
// accepted the versions whose manager accepts it ("" none, "254-" 254 and
// newer, "-256" up to 256, "253-260"). Every other version's manager
// refuses it (or its systemd-run does, client-side), and so must ParseFor.
type managerCase struct {
	t        props.UnitType
	in       string
	accepted string
}

func svc(in string, accepted ...string) managerCase {
	return managerCase{props.Service, in, strings.Join(accepted, "")}
}

func tmr(in string, accepted ...string) managerCase {
	return managerCase{props.Timer, in, strings.Join(accepted, "")}
}

// acceptedBy reports whether version v's manager accepts c.
func (c managerCase) acceptedBy(v props.Version) bool {
	if c.accepted == "" {
		return false
	}
	lo, hi, _ := strings.Cut(c.accepted, "-")
	if lo != "" {
		n, _ := strconv.Atoi(lo)
		if int(v) < n {
			return false
		}
	}
	if hi != "" {
		n, _ := strconv.Atoi(hi)
		if int(v) > n {
			return false
		}
	}
	return true
}

// managerCases: one or more bad values per validated property, and a few
// values whose acceptance depends on the version.
var managerCases = []managerCase{
	// Enumerations.
	svc("ProtectSystem=sometimes"), svc("ProtectSystem="), svc("ProtectHome=x"),
	svc("RuntimeDirectoryPreserve=x"), svc("RuntimeDirectoryPreserve=on-success", "261-"),
	svc("Type=bogus"), svc("Type=notify-reload", "253-"), svc("ExitType=x"),
	svc("Restart=sometimes"), svc("NotifyAccess=x"), svc("OOMPolicy=x"),
	svc("TimeoutStartFailureMode=x"), svc("TimeoutStopFailureMode=x"), svc("KillMode=bogus"),
	svc("KeyringMode=x"), svc("ProtectProc=x"), svc("ProcSubset=x"), svc("UtmpMode=x"),
	svc("StandardInput=bogus"), svc("StandardOutput=syslog"), svc("StandardError=bogus"),
	svc("DevicePolicy=x"), svc("ManagedOOMSwap=x"), svc("ManagedOOMMemoryPressure=x"),
	svc("ManagedOOMPreference=x"), svc("CollectMode=x"), svc("OnFailureJobMode=x"),
	svc("OnFailureJobMode=restart-dependencies", "254-"), svc("OnFailureJobMode=lenient", "258-"),
	svc("JobTimeoutAction=x"), svc("StartLimitAction=x"), svc("FailureAction=soft-reboot", "254-"),
	svc("SuccessAction=kexec", "255-"), svc("DisableControllers=bogus"),
	svc("DisableControllers=bpf-bind-network-interface", "258-"),
	svc("RestartMode=bogus"), svc("RestartMode=debug", "257-"), svc("MemoryPressureWatch=x"),
	svc("FileDescriptorStorePreserve=x"), svc("PrivateTmpEx=x"), svc("PrivateUsersEx=full", "258-"),
	svc("ProtectControlGroupsEx=x"), svc("PrivatePIDs=x"),
	tmr("OnFailureJobMode=x"), tmr("CollectMode=x"), tmr("SuccessAction=x"),
	// Names.
	svc("User=a:b"), svc("User=65535"), svc("User=123456789012"), svc("Group=-1"), svc("Group=.."),
	svc("SupplementaryGroups=a/b"), svc("BusName=nodots"), svc("BusName=org.1example"),
	svc("LogNamespace=a b"), svc("LogNamespace=.."), svc("Slice=foo.service"), svc("Slice=bad"),
	svc("Slice="), svc("Wants=bad"), svc("After=foo@.service"), svc("RequiredBy=foo.service"),
	svc("WantedBy="), tmr("Requires=nosuffix"), tmr("Documentation=foo"),
	svc("Documentation=http://"), svc("JobTimeoutRebootArgument=\u00fc"),
	// The manager does not check SyslogIdentifier=.
	svc("SyslogIdentifier=a/b c", "252-"),
	// Paths.
	svc("TTYPath=tty1"), svc("RootDirectory=relative"), svc("RootImage=rel.raw"),
	svc("NetworkNamespacePath=rel"), svc("USBFunctionStrings=rel"),
	svc("WorkingDirectory=relative"), svc("WorkingDirectory=/a/../b"),
	svc("WorkingDirectory=-", "-256"), svc("PIDFile=../x"), svc("ReadWritePaths=relative"),
	svc("ReadOnlyPaths=-+rel"), svc("InaccessiblePaths=x"), svc("ExecSearchPath=/a:b"),
	svc("ExecSearchPath=rel"), svc("StateDirectory=/abs"), svc("StateDirectory=../x"),
	svc("RuntimeDirectory=private"), svc("CacheDirectory=private/x"),
	svc("ConfigurationDirectory=/etc/x"), svc("LogsDirectory=a:/abs"),
	svc("RequiresMountsFor=rel"), tmr("RequiresMountsFor=/a/../b"), svc("EnvironmentFile=rel"),
	svc("BindPaths=rel"), svc("BindReadOnlyPaths=/a:rel"), svc("TemporaryFileSystem=rel"),
	svc("MountImages=/a.raw:rel"), svc("MountImages=/a/../b.raw:/mnt"), svc("ExtensionImages=rel.raw"),
	svc("IPIngressFilterPath=rel"), svc("IPEgressFilterPath=/sys/fs/bpf/../x"),
	svc("BPFProgram=bogus:/sys/fs/bpf/x"), svc("BPFProgram=ingress:rel"),
	svc("IOReadBandwidthMax=/dev//null 1M"), svc("IODeviceLatencyTargetSec=/dev/./null 1ms"),
	svc("IODeviceWeight=/dev/null 0"), svc("IODeviceWeight=/dev/null 10001"),
	svc("BlockIODeviceWeight=/dev/null 5"), svc("DeviceAllow=/tmp/x rw"),
	svc("DeviceAllow=/dev/null rwx"), svc("ExecStartPre=foo/bar"),
	// Environment.
	svc("Environment=JUSTANAME"), svc("Environment=1A=b"), svc("Environment=A=1 A=2"),
	svc("UnsetEnvironment=1A"), svc("PassEnvironment=A-B"),
	// Credentials.
	svc("SetCredential=a/b:x"), svc("SetCredentialEncrypted=..:eA=="),
	svc("LoadCredential=../x:/etc/passwd"), svc("LoadCredential=x:../rel"),
	svc("LoadCredentialEncrypted=x:/a/../b"), svc("ImportCredential=a*b"), svc("ImportCredential=a/b*"),
	svc("ImportCredential=*", "254-"), svc("ImportCredentialEx=a?:b"), svc("ImportCredentialEx=a*:b/c"),
	// Journal fields.
	svc("LogExtraFields=lower=x"), svc("LogExtraFields=NOEQUALS"), svc("LogExtraFields=_PROTECTED=x"),
	// Conditions.
	svc("ConditionPathExists=relative"), svc("AssertFileNotEmpty=rel"), svc("ConditionUser=|"),
	tmr("ConditionHost=!"), tmr("AssertPathIsDirectory=rel"),
	// Numbers.
	svc("CPUSchedulingPolicy=4"), svc("CPUSchedulingPriority=100"), svc("IOSchedulingClass=4"),
	svc("OOMScoreAdjust=1001"), svc("MemoryMax=0"), svc("MemoryHigh=0%"), svc("MemoryLimit=0"),
	svc("TasksMax=0"), svc("TasksMax=100%"),
	// The rest of each family.
	svc("Before=bad"), svc("BindsTo=bad"), svc("Conflicts=bad"), svc("JoinsNamespaceOf=bad"),
	svc("OnFailure=bad"), svc("OnSuccess=bad"), svc("PartOf=bad"), svc("PropagatesReloadTo=bad"),
	svc("PropagatesStopTo=bad"), svc("ReloadPropagatedFrom=bad"), svc("Requisite=bad"),
	svc("StopPropagatedFrom=bad"), svc("Upholds=bad"), tmr("BoundBy=a.service"),
	svc("ConflictedBy=a.service"), svc("ConsistsOf=a.service"), svc("InSlice=a.slice"),
	svc("OnFailureOf=a.service"), svc("OnSuccessOf=a.service"), svc("ReferencedBy=a.service"),
	svc("References=a.service"), svc("RequisiteOf=a.service"), svc("SliceOf=a.service"),
	svc("TriggeredBy=a.timer"), svc("Triggers=a.service"), svc("UpheldBy=a.service"),
	svc("CPUPressureWatch=x"), svc("IOPressureWatch=x"), svc("CacheDirectory=a:/abs"),
	svc("RuntimeDirectory=a:../b"), svc("StateDirectory=a:/b"), svc("LogsDirectory=/abs"),
	svc("Delegate=bogus"), svc("ExecStart=foo/bar"), svc("ExecStartEx=foo/bar"),
	svc("ExecCondition=a/b"), svc("ExecConditionEx=a/b"), svc("ExecStartPost=a/b"),
	svc("ExecStartPostEx=a/b"), svc("ExecStartPreEx=a/b"), svc("ExecReload=a/b"),
	svc("ExecReloadEx=a/b"), svc("ExecStop=a/b"), svc("ExecStopEx=a/b"), svc("ExecStopPost=a/b"),
	svc("ExecStopPostEx=a/b"), svc("ExecReloadPost=a/b"), svc("ExecReloadPostEx=a/b"),
	svc("ExecPaths=rel"), svc("NoExecPaths=rel"), svc("ExtensionDirectories=rel"),
	svc("InaccessibleDirectories=rel"), svc("ReadOnlyDirectories=rel"),
	svc("ReadWriteDirectories=rel"), svc("IOReadIOPSMax=/dev//null 1"),
	svc("IOWriteBandwidthMax=/dev//null 1"), svc("IOWriteIOPSMax=/dev//null 1"),
	svc("BlockIOReadBandwidth=/dev//null 1M"), svc("BlockIOWriteBandwidth=/dev//null 1M"),
	svc("IPCNamespacePath=rel"), svc("RootVerity=rel"), svc("USBFunctionDescriptors=rel"),
	svc("MemoryHigh=0"), svc("MemoryLimit=0%"), svc("MemoryMax=0%"), svc("RebootArgument=\u00fc"),
	svc("WantsMountsFor=rel"), tmr("WantsMountsFor=/a/../b"),
	// Properties no manager sets transiently.
	svc("JobTimeoutSec=5min"), tmr("JobTimeoutSec=1h"), svc("StandardInputText=hello"),
}

// TestManagerCases checks ParseFor against the table for every known
// version: it refuses a value exactly when that version's manager does,
// with a one-line *props.Error wrapping ErrSyntax or ErrRange that names
// the assignment.
func TestManagerCases(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range managerCases {
		if seen[c.t.String()+c.in] {
			t.Errorf("duplicate case %s %q", c.t, c.in)
		}
		seen[c.t.String()+c.in] = true
		name, _, _ := strings.Cut(c.in, "=")
		for v := props.OldestVersion; v <= props.NewestVersion; v++ {
			if since, ok := props.Since(c.t, name); !ok || since > v {
				continue
			}
			if _, ignored := props.Ignored(v, c.t, name); ignored {
				continue
			}
			_, err := props.ParseFor(v, c.t, c.in)
			if c.acceptedBy(v) {
				if err != nil {
					t.Errorf("%d %s %q: accepted by the manager, but ParseFor: %v", v, c.t, c.in, err)
				}
				continue
			}
			if err == nil {
				t.Errorf("%d %s %q: refused by the manager, but ParseFor accepts it", v, c.t, c.in)
				continue
			}
			var pe *props.Error
			if !errors.As(err, &pe) || pe.Input != c.in || pe.Name != name {
				t.Errorf("%d %s %q: error %#v is not a *props.Error for the assignment", v, c.t, c.in, err)
			}
			if !errors.Is(err, props.ErrSyntax) && !errors.Is(err, props.ErrRange) {
				t.Errorf("%d %s %q: error %v wraps neither ErrSyntax nor ErrRange", v, c.t, c.in, err)
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "props: parsing "+strconv.Quote(c.in)+": ") {
				t.Errorf("%d %s %q: message %q", v, c.t, c.in, msg)
			}
		}
	}
}

// TestManagerMessages pins the wording of a few errors.
func TestManagerMessages(t *testing.T) {
	for _, c := range []struct {
		v    props.Version
		in   string
		want string
	}{
		{props.V252, "ProtectSystem=sometimes", `props: parsing "ProtectSystem=sometimes": want yes, no, full, strict or another boolean`},
		{props.V252, "Type=notify-reload", `props: parsing "Type=notify-reload": "notify-reload" needs systemd 253 or newer; this manager is 252`},
		{props.V252, "Type=bogus", `props: parsing "Type=bogus": want simple, exec, forking, oneshot, dbus, notify or idle`},
		{props.V257, "Type=bogus", `props: parsing "Type=bogus": want simple, exec, forking, oneshot, dbus, notify, notify-reload or idle`},
		{props.V252, "StateDirectory=/abs", `props: parsing "StateDirectory=/abs": "/abs" is absolute: want a path relative to the directory's base, like borgrun`},
		{props.V252, "IOSchedulingClass=4", `props: parsing "IOSchedulingClass=4": invalid I/O scheduling class: want none, realtime, best-effort, idle or 0..3`},
		{props.V252, "TasksMax=0", `props: parsing "TasksMax=0": out of range at least 1`},
	} {
		_, err := props.ParseFor(c.v, props.Service, c.in)
		if err == nil || err.Error() != c.want {
			t.Errorf("ParseFor(%d, %q) = %v, want %s", c.v, c.in, err, c.want)
		}
	}
}

// TestManagerSamplesValid: every golden input that Parse accepts passes
// the manager's checks in ParseFor(252), except those the real 252
// manager refuses (listed in goldenManagerRefuses and confirmed by
// TestManagerConfirm).
func TestManagerSamplesValid(t *testing.T) {
	for _, c := range readGoldenInputs(t) {
		if _, err := props.Parse(c.t, c.in); err != nil {
			continue
		}
		_, err := props.ParseFor(props.V252, c.t, c.in)
		switch {
		case err != nil && !goldenManagerRefuses[c.in]:
			t.Errorf("%s %q: Parse accepts, ParseFor(252) refuses: %v", c.t, c.in, err)
		case err == nil && goldenManagerRefuses[c.in]:
			t.Errorf("%s %q: listed as refused by the manager, but ParseFor(252) accepts it", c.t, c.in)
		}
	}
}

// goldenManagerRefuses are the golden inputs props' 252 parser accepts but
// the 252 manager refuses, as TestConfirm found ("rejected by the manager
// on both sides"); ParseFor refuses them now.
var goldenManagerRefuses = map[string]bool{
	"BindPaths=":                             true,
	"BindPaths=/a:":                          true,
	"BoundBy=":                               true,
	"CPUSchedulingPolicy=7":                  true,
	"ConditionPathExists=!|/etc/hostname":    true,
	"ConflictedBy=":                          true,
	"ConsistsOf=":                            true,
	"Environment=NOEQUALS":                   true,
	"ExecStartPre=!!!/bin/true":              true,
	"ExecStartPre=!+/bin/true":               true,
	"ExecStartPre=+!/bin/true":               true,
	"ExecStartPre=--/bin/true":               true,
	"IODeviceWeight=/dev/sda 20000":          true,
	"IOSchedulingClass=8":                    true,
	"InSlice=":                               true,
	"LogExtraFields=":                        true,
	"MountImages=/a.raw:/mnt:root:ro usr:rw": true,
	"OnFailureOf=":                           true,
	"OnSuccessOf=":                           true,
	"ReferencedBy=":                          true,
	"References=":                            true,
	"RequiredBy=":                            true,
	"RequisiteOf=":                           true,
	"SliceOf=":                               true,
	"TriggeredBy=":                           true,
	"Triggers=":                              true,
	"UpheldBy=":                              true,
	"WantedBy=":                              true,
	"JobTimeoutSec=5min":                     true,
	"StandardInputText=":                     true,
	"StandardInputText=hello\\tworld":        true,
}

// sandboxVersion returns the version of the sandbox's manager.
func sandboxVersion(ctx context.Context, t *testing.T, run func(context.Context, string, ...string) (string, error)) props.Version {
	out, err := run(ctx, "systemctl", "--version")
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(out, "\n")
	v, err := props.ParseVersion(strings.TrimPrefix(strings.TrimSpace(first), "systemd "))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestManagerConfirm is the differential test against the real manager:
// for every case of managerCases (and every golden input ParseFor refuses
// but Parse accepts) it runs systemd-run in the throwaway systemd and
// requires it to fail exactly when ParseFor refuses, for the sandbox's
// version. A refusal must come from the manager ("Failed to start
// transient ...") or from systemd-run's own parser.
func TestManagerConfirm(t *testing.T) {
	sys := sandbox.Get(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	v := sandboxVersion(ctx, t, sys.Output)
	t.Logf("manager: systemd %d", v)

	type job struct {
		c     managerCase
		extra []string
	}
	var jobs []job
	inTable := map[string]bool{}
	for _, c := range managerCases {
		inTable[c.t.String()+c.in] = true
		name, _, _ := strings.Cut(c.in, "=")
		if since, ok := props.Since(c.t, name); !ok || since > v {
			continue // systemd-run of v does not know the name
		}
		jobs = append(jobs, job{c: c})
	}
	for _, g := range readGoldenInputs(t) {
		if _, err := props.Parse(g.t, g.in); err != nil {
			continue
		}
		if _, err := props.ParseFor(v, g.t, g.in); err != nil && !inTable[g.t.String()+g.in] {
			jobs = append(jobs, job{c: managerCase{g.t, g.in, ""}, extra: extraFor(g)})
		}
	}
	// extraFor may order a case after confirmBlocker: harmless here, as
	// every case is refused (or not) at StartTransientUnit already.

	var (
		mu                       sync.Mutex
		byManager, byClient, acc int
		confirmedNames           = map[string]bool{}
		confirmedProps           = map[string]bool{}
		checked                  = map[string]bool{}
		work                     = make(chan int)
		wg                       sync.WaitGroup
	)
	for _, n := range props.ManagerChecked() {
		checked[n] = true
	}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				j := jobs[i]
				unit := fmt.Sprintf("borgrun-mg-%d", i)
				flag := "-p"
				args := []string{"--unit=" + unit, "--no-block"}
				if j.c.t == props.Timer {
					flag = "--timer-property"
					args = append(args, "--on-calendar=2099-01-01")
				}
				for _, e := range j.extra {
					args = append(args, flag, e)
				}
				args = append(args, flag, j.c.in, "/bin/sleep", "1000")
				var stderr bytes.Buffer
				cmd := sys.Command(ctx, "systemd-run", args...)
				cmd.Stderr = &stderr
				runErr := cmd.Run()
				_, _ = sys.Output(ctx, "systemctl", "stop", "--no-block", unit+".service", unit+".timer")
				_, perr := props.ParseAllFor(v, j.c.t, append(append([]string{}, j.extra...), j.c.in))
				msg := strings.TrimSpace(stderr.String())
				mu.Lock()
				switch {
				case runErr == nil && perr != nil:
					t.Errorf("%s %q: systemd %d accepts, ParseFor refuses: %v", j.c.t, j.c.in, v, perr)
				case runErr != nil && perr == nil:
					t.Errorf("%s %q: systemd %d refuses (%s), ParseFor accepts", j.c.t, j.c.in, v, msg)
				case runErr == nil:
					acc++
					if !j.c.acceptedBy(v) {
						t.Errorf("%s %q: the table says systemd %d refuses it", j.c.t, j.c.in, v)
					}
				case strings.Contains(msg, "Failed to start transient"):
					byManager++
					name, _, _ := strings.Cut(j.c.in, "=")
					confirmedNames[name] = true
					ps, _ := props.EncodeUnchecked(v, j.c.t, j.c.in)
					for _, p := range ps {
						if checked[p.Name] {
							confirmedProps[p.Name] = true
						}
					}
					t.Logf("%s %q: manager refuses: %s; props: %v", j.c.t, j.c.in, msg, perr)
				default:
					byClient++
					t.Logf("%s %q: systemd-run refuses client-side: %s; props: %v", j.c.t, j.c.in, msg, perr)
				}
				if runErr != nil && j.c.acceptedBy(v) {
					t.Errorf("%s %q: the table says systemd %d accepts it", j.c.t, j.c.in, v)
				}
				mu.Unlock()
			}
		}()
	}
	for i := range jobs {
		work <- i
	}
	close(work)
	wg.Wait()
	_, _ = sys.Output(ctx, "systemctl", "reset-failed")
	t.Logf("systemd %d: %d cases: %d refused by the manager, %d by systemd-run client-side, %d accepted; refusals confirmed for %d assignment names, %d of the %d checked D-Bus properties",
		v, len(jobs), byManager, byClient, acc, len(confirmedNames), len(confirmedProps), len(checked))
}

// FuzzParseFor checks ParseFor for every known version, seeded with the
// manager cases and the golden inputs: it never panics, every error is a
// *props.Error for the assignment wrapping one of the sentinels, and
// whatever ParseFor(252) accepts Parse accepts with the same properties
// (the manager's checks only refuse more).
func FuzzParseFor(f *testing.F) {
	for _, c := range managerCases {
		f.Add(int(c.t), c.in)
	}
	for _, in := range []string{"WorkingDirectory=-/a/./b", "User=0", "User=4294967294",
		"Environment=A=1 B=2", "LoadCredential=x", "BusName=:1.42", "Slice=a@b.slice",
		"Documentation=man:systemd.exec(5)", "StateDirectory=a:b c"} {
		f.Add(int(props.Service), in)
	}
	f.Fuzz(func(t *testing.T, typ int, in string) {
		ut := props.UnitType(typ & 1)
		for v := props.OldestVersion; v <= props.NewestVersion; v++ {
			ps, err := props.ParseFor(v, ut, in)
			if err != nil {
				var pe *props.Error
				if !errors.As(err, &pe) || pe.Input != in {
					t.Fatalf("ParseFor(%d, %s, %q): error %#v is not a *props.Error for the input", v, ut, in, err)
				}
				if !errors.Is(err, props.ErrSyntax) && !errors.Is(err, props.ErrRange) &&
					!errors.Is(err, props.ErrUnknownProperty) && !errors.Is(err, props.ErrWrongUnitType) &&
					!errors.Is(err, props.ErrNeedsNewer) {
					t.Fatalf("ParseFor(%d, %s, %q): error %v wraps no sentinel", v, ut, in, err)
				}
				continue
			}
			if v == props.V252 {
				ps0, err := props.Parse(ut, in)
				if err != nil || fmt.Sprint(ps0) != fmt.Sprint(ps) {
					t.Fatalf("ParseFor(252, %s, %q) = %v, but Parse = %v, %v", ut, in, ps, ps0, err)
				}
			}
		}
	})
}

// TestManagerCoverage: every D-Bus property the manager checks cover has
// at least one case in managerCases.
func TestManagerCoverage(t *testing.T) {
	covered := map[string]bool{}
	for _, c := range managerCases {
		for v := props.OldestVersion; v <= props.NewestVersion; v++ {
			ps, _ := props.EncodeUnchecked(v, c.t, c.in)
			for _, p := range ps {
				covered[p.Name] = true
			}
		}
	}
	var missing []string
	for _, n := range props.ManagerChecked() {
		if !covered[n] {
			missing = append(missing, n)
		}
	}
	t.Logf("%d D-Bus properties checked, %d covered by cases", len(props.ManagerChecked()), len(props.ManagerChecked())-len(missing))
	if len(missing) > 0 {
		t.Errorf("no case for %s", strings.Join(missing, ", "))
	}
}

// TestImportCredentialVerbatim: systemd-run 254..257 sends
// ImportCredential=a:b verbatim (258 splits it into ImportCredentialEx),
// and the 254..257 managers refuse the glob "a:b"; so ParseFor does.
func TestImportCredentialVerbatim(t *testing.T) {
	for _, v := range []props.Version{props.V254, props.V257} {
		ps, err := props.EncodeUnchecked(v, props.Service, "ImportCredential=a:b")
		if err != nil || len(ps) != 1 || ps[0].Name != "ImportCredential" || fmt.Sprint(ps[0].Value.Value()) != "[a:b]" {
			t.Errorf("%d: encoded as %v, %v; want ImportCredential [a:b]", v, ps, err)
		}
		if _, err := props.ParseFor(v, props.Service, "ImportCredential=a:b"); err == nil {
			t.Errorf("%d: ParseFor accepts ImportCredential=a:b", v)
		}
	}
	if _, err := props.ParseFor(props.V258, props.Service, "ImportCredential=a:b"); err != nil {
		t.Errorf("258: %v", err)
	}
}
