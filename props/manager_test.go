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

func badSvc(in string, accepted ...string) managerCase {
	return managerCase{props.Service, in, strings.Join(accepted, "")}
}

func badTmr(in string, accepted ...string) managerCase {
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
	badSvc("ProtectSystem=sometimes"), badSvc("ProtectSystem="), badSvc("ProtectHome=x"),
	badSvc("RuntimeDirectoryPreserve=x"), badSvc("RuntimeDirectoryPreserve=on-success", "261-"),
	badSvc("Type=bogus"), badSvc("Type=notify-reload", "253-"), badSvc("ExitType=x"),
	badSvc("Restart=sometimes"), badSvc("NotifyAccess=x"), badSvc("OOMPolicy=x"),
	badSvc("TimeoutStartFailureMode=x"), badSvc("TimeoutStopFailureMode=x"), badSvc("KillMode=bogus"),
	badSvc("KeyringMode=x"), badSvc("ProtectProc=x"), badSvc("ProcSubset=x"), badSvc("UtmpMode=x"),
	badSvc("StandardInput=bogus"), badSvc("StandardOutput=syslog"), badSvc("StandardError=bogus"),
	badSvc("DevicePolicy=x"), badSvc("ManagedOOMSwap=x"), badSvc("ManagedOOMMemoryPressure=x"),
	badSvc("ManagedOOMPreference=x"), badSvc("CollectMode=x"), badSvc("OnFailureJobMode=x"),
	badSvc("OnFailureJobMode=restart-dependencies", "254-"), badSvc("OnFailureJobMode=lenient", "258-"),
	badSvc("JobTimeoutAction=x"), badSvc("StartLimitAction=x"), badSvc("FailureAction=soft-reboot", "254-"),
	badSvc("SuccessAction=kexec", "255-"), badSvc("DisableControllers=bogus"),
	badSvc("DisableControllers=bpf-bind-network-interface", "258-"),
	badSvc("RestartMode=bogus"), badSvc("RestartMode=debug", "257-"), badSvc("MemoryPressureWatch=x"),
	badSvc("FileDescriptorStorePreserve=x"), badSvc("PrivateTmpEx=x"), badSvc("PrivateUsersEx=full", "258-"),
	badSvc("ProtectControlGroupsEx=x"), badSvc("PrivatePIDs=x"),
	badTmr("OnFailureJobMode=x"), badTmr("CollectMode=x"), badTmr("SuccessAction=x"),
	// Names.
	badSvc("User=a:b"), badSvc("User=65535"), badSvc("User=123456789012"), badSvc("Group=-1"), badSvc("Group=.."),
	badSvc("SupplementaryGroups=a/b"), badSvc("BusName=nodots"), badSvc("BusName=org.1example"),
	badSvc("LogNamespace=a b"), badSvc("LogNamespace=.."), badSvc("Slice=foo.service"), badSvc("Slice=bad"),
	badSvc("Slice="), badSvc("Wants=bad"), badSvc("After=foo@.service"), badSvc("RequiredBy=foo.service"),
	badSvc("WantedBy="), badTmr("Requires=nosuffix"), badTmr("Documentation=foo"),
	badSvc("Documentation=http://"), badSvc("JobTimeoutRebootArgument=\u00fc"),
	// The manager does not check SyslogIdentifier=.
	badSvc("SyslogIdentifier=a/b c", "252-"),
	// Paths.
	badSvc("TTYPath=tty1"), badSvc("RootDirectory=relative"), badSvc("RootImage=rel.raw"),
	badSvc("NetworkNamespacePath=rel"), badSvc("USBFunctionStrings=rel"),
	badSvc("WorkingDirectory=relative"), badSvc("WorkingDirectory=/a/../b"),
	badSvc("WorkingDirectory=-", "-256"), badSvc("PIDFile=../x"), badSvc("ReadWritePaths=relative"),
	badSvc("ReadOnlyPaths=-+rel"), badSvc("InaccessiblePaths=x"), badSvc("ExecSearchPath=/a:b"),
	badSvc("ExecSearchPath=rel"), badSvc("StateDirectory=/abs"), badSvc("StateDirectory=../x"),
	badSvc("RuntimeDirectory=private"), badSvc("CacheDirectory=private/x"),
	badSvc("ConfigurationDirectory=/etc/x"), badSvc("LogsDirectory=a:/abs"),
	badSvc("RequiresMountsFor=rel"), badTmr("RequiresMountsFor=/a/../b"), badSvc("EnvironmentFile=rel"),
	badSvc("BindPaths=rel"), badSvc("BindReadOnlyPaths=/a:rel"), badSvc("TemporaryFileSystem=rel"),
	badSvc("MountImages=/a.raw:rel"), badSvc("MountImages=/a/../b.raw:/mnt"), badSvc("ExtensionImages=rel.raw"),
	badSvc("IPIngressFilterPath=rel"), badSvc("IPEgressFilterPath=/sys/fs/bpf/../x"),
	badSvc("BPFProgram=bogus:/sys/fs/bpf/x"), badSvc("BPFProgram=ingress:rel"),
	badSvc("IOReadBandwidthMax=/dev//null 1M"), badSvc("IODeviceLatencyTargetSec=/dev/./null 1ms"),
	badSvc("IODeviceWeight=/dev/null 0"), badSvc("IODeviceWeight=/dev/null 10001"),
	badSvc("BlockIODeviceWeight=/dev/null 5"), badSvc("DeviceAllow=/tmp/x rw"),
	badSvc("DeviceAllow=/dev/null rwx"), badSvc("ExecStartPre=foo/bar"),
	// Environment.
	badSvc("Environment=JUSTANAME"), badSvc("Environment=1A=b"), badSvc("Environment=A=1 A=2"),
	badSvc("UnsetEnvironment=1A"), badSvc("PassEnvironment=A-B"),
	// Credentials.
	badSvc("SetCredential=a/b:x"), badSvc("SetCredentialEncrypted=..:eA=="),
	badSvc("LoadCredential=../x:/etc/passwd"), badSvc("LoadCredential=x:../rel"),
	badSvc("LoadCredentialEncrypted=x:/a/../b"), badSvc("ImportCredential=a*b"), badSvc("ImportCredential=a/b*"),
	badSvc("ImportCredential=*", "254-"), badSvc("ImportCredentialEx=a?:b"), badSvc("ImportCredentialEx=a*:b/c"),
	// Journal fields.
	badSvc("LogExtraFields=lower=x"), badSvc("LogExtraFields=NOEQUALS"), badSvc("LogExtraFields=_PROTECTED=x"),
	// Conditions.
	badSvc("ConditionPathExists=relative"), badSvc("AssertFileNotEmpty=rel"), badSvc("ConditionUser=|"),
	badTmr("ConditionHost=!"), badTmr("AssertPathIsDirectory=rel"),
	// Numbers.
	badSvc("CPUSchedulingPolicy=4"), badSvc("CPUSchedulingPolicy=7", "258-"), badSvc("CPUSchedulingPriority=100"), badSvc("IOSchedulingClass=4"),
	badSvc("OOMScoreAdjust=1001"), badSvc("MemoryMax=0"), badSvc("MemoryHigh=0%"), badSvc("MemoryLimit=0"),
	badSvc("TasksMax=0"), badSvc("TasksMax=100%"),
	// The rest of each family.
	badSvc("Before=bad"), badSvc("BindsTo=bad"), badSvc("Conflicts=bad"), badSvc("JoinsNamespaceOf=bad"),
	badSvc("OnFailure=bad"), badSvc("OnSuccess=bad"), badSvc("PartOf=bad"), badSvc("PropagatesReloadTo=bad"),
	badSvc("PropagatesStopTo=bad"), badSvc("ReloadPropagatedFrom=bad"), badSvc("Requisite=bad"),
	badSvc("StopPropagatedFrom=bad"), badSvc("Upholds=bad"), badTmr("BoundBy=a.service"),
	badSvc("ConflictedBy=a.service"), badSvc("ConsistsOf=a.service"), badSvc("InSlice=a.slice"),
	badSvc("OnFailureOf=a.service"), badSvc("OnSuccessOf=a.service"), badSvc("ReferencedBy=a.service"),
	badSvc("References=a.service"), badSvc("RequisiteOf=a.service"), badSvc("SliceOf=a.service"),
	badSvc("TriggeredBy=a.timer"), badSvc("Triggers=a.service"), badSvc("UpheldBy=a.service"),
	badSvc("CPUPressureWatch=x"), badSvc("IOPressureWatch=x"), badSvc("CacheDirectory=a:/abs"),
	badSvc("RuntimeDirectory=a:../b"), badSvc("StateDirectory=a:/b"), badSvc("LogsDirectory=/abs"),
	badSvc("Delegate=bogus"), badSvc("ExecStart=foo/bar"), badSvc("ExecStartEx=foo/bar"),
	badSvc("ExecCondition=a/b"), badSvc("ExecConditionEx=a/b"), badSvc("ExecStartPost=a/b"),
	badSvc("ExecStartPostEx=a/b"), badSvc("ExecStartPreEx=a/b"), badSvc("ExecReload=a/b"),
	badSvc("ExecReloadEx=a/b"), badSvc("ExecStop=a/b"), badSvc("ExecStopEx=a/b"), badSvc("ExecStopPost=a/b"),
	badSvc("ExecStopPostEx=a/b"), badSvc("ExecReloadPost=a/b"), badSvc("ExecReloadPostEx=a/b"),
	badSvc("ExecPaths=rel"), badSvc("NoExecPaths=rel"), badSvc("ExtensionDirectories=rel"),
	badSvc("InaccessibleDirectories=rel"), badSvc("ReadOnlyDirectories=rel"),
	badSvc("ReadWriteDirectories=rel"), badSvc("IOReadIOPSMax=/dev//null 1"),
	badSvc("IOWriteBandwidthMax=/dev//null 1"), badSvc("IOWriteIOPSMax=/dev//null 1"),
	badSvc("BlockIOReadBandwidth=/dev//null 1M"), badSvc("BlockIOWriteBandwidth=/dev//null 1M"),
	badSvc("IPCNamespacePath=rel"), badSvc("RootVerity=rel"), badSvc("USBFunctionDescriptors=rel"),
	badSvc("MemoryHigh=0"), badSvc("MemoryLimit=0%"), badSvc("MemoryMax=0%"), badSvc("RebootArgument=\u00fc"),
	badSvc("WantsMountsFor=rel"), badTmr("WantsMountsFor=/a/../b"),
	// Properties no manager sets transiently.
	badSvc("JobTimeoutSec=5min"), badTmr("JobTimeoutSec=1h"), badSvc("StandardInputText=hello", "258-"),
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
