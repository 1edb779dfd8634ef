package props_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/borgrun/borgrun/props"
	"github.com/borgrun/borgrun/transient/transienttest"
)

var sandbox transienttest.Shared

func TestMain(m *testing.M) { os.Exit(sandbox.Run(m)) }

// TestNoGoSystemd guards the dependency rule: props must not pull in
// go-systemd, directly or indirectly.
func TestNoGoSystemd(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/borgrun/borgrun/props").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	if !strings.Contains(string(out), "github.com/godbus/dbus/v5") {
		t.Fatalf("go list -deps output looks wrong:\n%s", out)
	}
	if strings.Contains(string(out), "coreos/go-systemd") {
		t.Errorf("props depends on go-systemd:\n%s", out)
	}
}

// confirmCase is one golden input.
type confirmCase struct {
	t  props.UnitType
	in string
}

// confirmTypes are the unit types TestConfirm creates units of.
var confirmTypes = []props.UnitType{props.Service, props.Timer, props.Path, props.Socket}

// readGoldenInputs returns the inputs of testdata/assignments.golden for
// the confirmTypes.
func readGoldenInputs(t *testing.T) []confirmCase {
	t.Helper()
	f, err := os.Open("testdata/assignments.golden")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []confirmCase
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		typ, rest, _ := strings.Cut(line, " ")
		i := slices.IndexFunc(confirmTypes, func(t props.UnitType) bool { return t.String() == typ })
		if i < 0 {
			continue // a scope's: confirmed by borgrun run --scope's differential test
		}
		c := confirmCase{t: confirmTypes[i]}
		if strings.HasPrefix(rest, "\"") {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				t.Fatalf("bad golden line %q", line)
			}
			c.in, _ = strconv.Unquote(q)
		} else {
			c.in, _, _ = strings.Cut(rest, " ->")
		}
		cases = append(cases, c)
	}
	return cases
}

// The command both sides run; systemd-run derives the description from it.
var (
	sleepArgv   = []string{"/bin/sleep", "1000"}
	description = "/bin/sleep 1000"
)

type execStart struct {
	Path   string
	Argv   []string
	Ignore bool
}

type auxUnit struct {
	Name  string
	Props []props.Property
}

func mustProp(name string, v any) props.Property {
	return props.Property{Name: name, Value: dbus.MakeVariant(v)}
}

// startB starts unit name (without suffix) through D-Bus with the given
// properties, assembled exactly as systemd-run 252 assembles them.
func startB(ctx context.Context, conn *dbus.Conn, t props.UnitType, name string, ps []props.Property) error {
	desc := mustProp("Description", description)
	exec := mustProp("ExecStart", []execStart{{sleepArgv[0], sleepArgv, false}})
	obj := conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
	const method = "org.freedesktop.systemd1.Manager.StartTransientUnit"
	if t == props.Service {
		all := append(append([]props.Property{desc}, ps...), exec)
		return obj.CallWithContext(ctx, method, 0, name+".service", "fail", all, []auxUnit{}).Err
	}
	aux := []auxUnit{{name + ".service", []props.Property{desc, exec}}}
	if t == props.Path || t == props.Socket {
		all := append([]props.Property{desc}, ps...)
		return obj.CallWithContext(ctx, method, 0, name+"."+t.String(), "fail", all, aux).Err
	}
	onActive, err := props.Parse(props.Timer, "OnActiveSec=1h")
	if err != nil {
		return err
	}
	all := append([]props.Property{desc}, onActive...)
	all = append(all, ps...)
	all = append(all, mustProp("RemainAfterElapse", false))
	return obj.CallWithContext(ctx, method, 0, name+".timer", "fail", all, aux).Err
}

// volatile are `systemctl show` keys that differ between two identical
// units (PIDs, times, counters, state that races with startup).
var volatile = map[string]bool{
	"InvocationID": true, "MainPID": true, "ExecMainPID": true, "ControlPID": true,
	"ExecMainCode": true, "ExecMainStatus": true, "StatusErrno": true, "NRestarts": true,
	"CPUUsageNSec": true, "MemoryCurrent": true, "MemoryAvailable": true, "TasksCurrent": true,
	"IPIngressBytes": true, "IPIngressPackets": true, "IPEgressBytes": true, "IPEgressPackets": true,
	"IOReadBytes": true, "IOReadOperations": true, "IOWriteBytes": true, "IOWriteOperations": true,
	"ControlGroupId": true, "ActiveState": true, "SubState": true, "Result": true,
	"ConditionResult": true, "AssertResult": true, "NextElapseUSecRealtime": true,
	"NextElapseUSecMonotonic": true, "LastTriggerUSec": true, "LastTriggerUSecMonotonic": true,
	"EffectiveCPUs": true, "EffectiveMemoryNodes": true, "StatusText": true, "UID": true, "GID": true,
	"ReloadResult": true, "CleanResult": true, "ExecMainStartTimestamp": true,
	"Job": true, "ControlGroup": true, "WatchdogUSec": true,
	// Read from the cgroup once it exists (262): 0 or unset (UINT64_MAX).
	"OOMKills": true, "ManagedOOMKills": true,
	// Whether the running unit's namespace takes live mounts (257).
	"CanLiveMount": true,
}

// unordered are keys whose space-separated values come in hash order.
var unordered = map[string]bool{
	"Requires": true, "Requisite": true, "Wants": true, "BindsTo": true, "PartOf": true,
	"Upholds": true, "RequiredBy": true, "RequisiteOf": true, "WantedBy": true, "BoundBy": true,
	"UpheldBy": true, "ConsistsOf": true, "Conflicts": true, "ConflictedBy": true, "Before": true,
	"After": true, "OnSuccess": true, "OnSuccessOf": true, "OnFailure": true, "OnFailureOf": true,
	"Triggers": true, "TriggeredBy": true, "PropagatesReloadTo": true, "ReloadPropagatedFrom": true,
	"PropagatesStopTo": true, "StopPropagatedFrom": true, "JoinsNamespaceOf": true,
	"References": true, "ReferencedBy": true, "RequiresMountsFor": true,
}

var (
	execRuntime = regexp.MustCompile(`(start_time|stop_time)=\[[^\]]*\]|pid=\d+|code=\S+|status=\S+`)
	nextElapse  = regexp.MustCompile(`next_elapse=[^}]*`)
)

// exclusive names claim something only one unit may hold (a bus name), so
// A is stopped before B is started.
var exclusive = map[string]bool{"BusName": true}

// waitUnloaded waits (bounded by ctx) until the manager has unloaded
// unit, driven by its UnitRemoved signal.
func waitUnloaded(ctx context.Context, conn *dbus.Conn, unit string) error {
	ch := make(chan *dbus.Signal, 64)
	conn.Signal(ch)
	defer conn.RemoveSignal(ch)
	rule := "type='signal',sender='org.freedesktop.systemd1',interface='org.freedesktop.systemd1.Manager',member='UnitRemoved',arg0='" + unit + "'"
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.AddMatch", 0, rule).Err; err != nil {
		return fmt.Errorf("waiting for %s to unload: %w", unit, err)
	}
	defer conn.BusObject().Go("org.freedesktop.DBus.RemoveMatch", dbus.FlagNoReplyExpected, nil, rule)
	mgr := conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
	// UnitRemoved goes on the bus only while some client subscribes.
	// The manager refuses a second Subscribe of one client (the cases
	// share conn): a refusal means it is subscribed.
	if err := mgr.CallWithContext(ctx, "org.freedesktop.systemd1.Manager.Subscribe", 0).Err; err != nil {
		var de dbus.Error
		var pde *dbus.Error
		if !errors.As(err, &de) && !errors.As(err, &pde) {
			return fmt.Errorf("waiting for %s to unload: %w", unit, err)
		}
	}
	if mgr.CallWithContext(ctx, "org.freedesktop.systemd1.Manager.GetUnit", 0, unit).Err != nil {
		return nil // not loaded (any other failure shows in B's start)
	}
	for {
		select {
		case s := <-ch:
			if s.Name == "org.freedesktop.systemd1.Manager.UnitRemoved" && len(s.Body) > 0 && s.Body[0] == unit {
				return nil
			}
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s to unload: %w", unit, ctx.Err())
		}
	}
}

// parseShow splits `systemctl show A B` output into one map per unit,
// normalised: volatile keys dropped, unit names replaced.
func parseShow(out string, names ...string) []map[string]string {
	var units []map[string]string
	for _, block := range strings.Split(strings.TrimSpace(out), "\n\n") {
		m := map[string]string{}
		for _, line := range strings.Split(block, "\n") {
			k, v, _ := strings.Cut(line, "=")
			if volatile[k] || strings.Contains(k, "Timestamp") {
				continue
			}
			for _, n := range names {
				v = strings.ReplaceAll(v, n, "UNIT")
				// As part of a unit name (run-credentials-NAME.mount),
				// escaped, and quoted by systemctl show.
				v = strings.ReplaceAll(v, strings.ReplaceAll(n, "-", `\\x2d`), "UNIT")
			}
			if unordered[k] {
				f := strings.Fields(v)
				sort.Strings(f)
				v = strings.Join(f, " ")
			}
			if strings.HasPrefix(k, "Exec") {
				v = execRuntime.ReplaceAllString(v, "$1")
			}
			if strings.HasPrefix(k, "Timers") {
				v = nextElapse.ReplaceAllString(v, "next_elapse")
			}
			m[k] = v
		}
		units = append(units, m)
	}
	return units
}

func diffMaps(a, b map[string]string) []string {
	var d []string
	for k, v := range a {
		if w, ok := b[k]; !ok || v != w {
			d = append(d, fmt.Sprintf("%s: systemd-run %q, props %q", k, v, w))
		}
	}
	for k, w := range b {
		if _, ok := a[k]; !ok {
			d = append(d, fmt.Sprintf("%s: systemd-run (absent), props %q", k, w))
		}
	}
	sort.Strings(d)
	return d
}

// extraFor returns assignments sent before the case on both sides so that
// the case can be compared at all.
func extraFor(c confirmCase) []string {
	name, _, _ := strings.Cut(c.in, "=")
	switch {
	case name == "ExecStart" || name == "ExecStartEx":
		// A second ExecStart (systemd-run adds /bin/sleep) needs oneshot.
		return []string{"Type=oneshot"}
	case c.t == props.Service && (strings.HasPrefix(name, "Condition") || strings.HasPrefix(name, "Assert")):
		// A unit whose condition fails never starts and is unloaded at
		// once, possibly before it is compared: its start job waits
		// behind the blocker instead, keeping it loaded. (Not for a
		// timer: systemd-run --no-block of a timer whose start job
		// waits does not return, on 252 and 254 at least. The timer
		// samples' conditions hold instead.)
		return []string{"After=" + confirmBlocker}
	}
	return nil
}

// confirmBlocker is a service that stays activating for the whole test, so
// that start jobs ordered after it wait.
const confirmBlocker = "borgrun-cf-blocker.service"

// TestConfirm is the differential test against systemd-run, on every
// suite's root with that root's own systemd-run and props.ParseFor of its
// version: for every case it creates unit A with systemd-run and unit B
// from ParseFor's output over D-Bus, and requires `systemctl show` to
// agree (after normalising names, PIDs and times); for invalid cases it
// requires systemd-run to fail too. The cases are the golden (252) inputs,
// samples of every name added after 252 and of every changed encoding
// (confirmSamples); each suite must exercise every name of its NamesFor.
func TestConfirm(t *testing.T) {
	for _, s := range transienttest.Suites() {
		t.Run(s.String()+"/"+strconv.Itoa(s.SystemdMajor()), func(t *testing.T) {
			t.Parallel()
			sys := sandbox.GetSuite(t, s)
			confirmSuite(t, sys, props.Version(s.SystemdMajor()))
		})
	}
}

// confirmSlots bounds the cases in flight over all suites: each runs a
// handful of processes, and the suites' subtests run in parallel.
var confirmSlots = make(chan struct{}, 16)

// confirmStats counts one suite's outcomes.
type confirmStats struct {
	mu                                 sync.Mutex
	matched, bothRejected, invalid     int
	newerRejected, mismatched, ignored int
	beyond                             int
	exercised, matchedNames            map[props.UnitType]map[string]bool
}

// confirmSuite runs the differential test against the systemd-run of sys,
// whose version is v.
func confirmSuite(t *testing.T, sys *transienttest.Systemd, v props.Version) {
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()

	// The manager refuses direct connections from outside its PID
	// namespace, so props' side goes through the sandbox's system bus.
	stream, err := sys.BusStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := dbus.NewConn(stream)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
		t.Fatal(err)
	}
	if err := conn.Hello(); err != nil {
		t.Fatal(err)
	}
	var full string
	if err := conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1").
		StoreProperty("org.freedesktop.systemd1.Manager.Version", &full); err != nil {
		t.Fatal(err)
	}
	if got, err := props.ParseVersion(full); err != nil || got != v {
		t.Fatalf("the manager is %q (%v), want systemd %d", full, err, int(v))
	}

	if _, err := boundedOutput(ctx, sys, "systemd-run", "--unit="+confirmBlocker, "--service-type=oneshot", "--no-block", "/bin/sleep", "infinity"); err != nil {
		t.Fatal(err)
	}
	defer boundedOutput(context.Background(), sys, "systemctl", "stop", "--no-block", confirmBlocker)

	cases := confirmCasesFor(t, v)

	st := &confirmStats{
		exercised:    map[props.UnitType]map[string]bool{},
		matchedNames: map[props.UnitType]map[string]bool{},
	}
	for _, typ := range confirmTypes {
		st.exercised[typ], st.matchedNames[typ] = map[string]bool{}, map[string]bool{}
	}
	type job struct {
		i int
		c confirmCase
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				confirmSlots <- struct{}{}
				r, err := confirmOne(ctx, t, sys, conn, v, j.i, j.c)
				<-confirmSlots
				name, _, _ := strings.Cut(j.c.in, "=")
				st.mu.Lock()
				st.exercised[j.c.t][name] = true
				switch {
				case err != nil:
					st.mismatched++
					t.Errorf("%s %s %q: %v", v, j.c.t, j.c.in, err)
				case r == confirmMatched:
					st.matched++
					st.matchedNames[j.c.t][name] = true
				case r == confirmIgnored:
					st.ignored++
					st.matchedNames[j.c.t][name] = true
				case r == confirmBothRejected:
					st.bothRejected++
				case r == confirmInvalid:
					st.invalid++
				case r == confirmNewer:
					st.newerRejected++
				case r == confirmBeyond:
					st.beyond++
				}
				st.mu.Unlock()
			}
		}()
	}
	for i, c := range cases {
		jobs <- job{i, c}
	}
	close(jobs)
	wg.Wait()
	_, _ = boundedOutput(ctx, sys, "systemctl", "reset-failed")

	shared := map[string]bool{} // a path's or socket's names that a service or timer has too
	for _, typ := range []props.UnitType{props.Service, props.Timer} {
		for _, n := range props.NamesFor(v, typ) {
			shared[n] = true
		}
	}
	for _, typ := range confirmTypes {
		names := props.NamesFor(v, typ)
		if typ == props.Path || typ == props.Socket {
			// Those are confirmed for the service and the timer; the
			// golden file has the path's and socket's own.
			names = slices.DeleteFunc(names, func(n string) bool { return shared[n] })
		}
		matchedNames := 0
		for _, n := range names {
			if !st.exercised[typ][n] {
				t.Errorf("%s %s name %s was not confirmed", v, typ, n)
			}
			if st.matchedNames[typ][n] {
				matchedNames++
			}
		}
		t.Logf("%s %s: %d names known, %d exercised, %d matched systemd-run with at least one value",
			v, typ, len(names), countIn(st.exercised[typ], names), matchedNames)
	}
	t.Logf("%s: %d cases: %d matched systemd-run (%d more where both only warn and send nothing), "+
		"%d valid for props but rejected by the manager on both sides, %d invalid rejected by both, "+
		"%d unknown names (a newer version's, the other unit type's, or none's) rejected by both, "+
		"%d refused by systemd-run that props sends and the manager takes (props.Beyond), %d mismatches",
		v, len(cases), st.matched, st.ignored, st.bothRejected, st.invalid, st.newerRejected, st.beyond, st.mismatched)
}

func countIn(set map[string]bool, names []string) int {
	n := 0
	for _, x := range names {
		if set[x] {
			n++
		}
	}
	return n
}

// confirmCasesFor returns the cases for version v: a calibration case,
// the golden inputs (including their unknown names and invalid values), and every sample of confirmSamples (those of names
// v does not know yet must be rejected by both sides).
func confirmCasesFor(t *testing.T, v props.Version) []confirmCase {
	// Calibration: two identical systemd-run units must compare equal.
	cases := []confirmCase{{props.Service, "Description=" + description}}
	cases = append(cases, readGoldenInputs(t)...)
	return append(cases, confirmSamples...)
}

// confirmResult is how one case ended, when both sides agreed.
type confirmResult int

const (
	confirmMatched      confirmResult = iota + 1 // both units compare equal
	confirmIgnored                               // both accept, warn and send nothing
	confirmBeyond                                // systemd-run refuses; props sends what the manager takes
	confirmBothRejected                          // valid for both clients, rejected by the manager
	confirmInvalid                               // rejected by both clients
	confirmNewer                                 // a name unknown to both (a newer version's, or none's)
)

// undefinedInSystemdRun reports an assignment whose encoding in version
// v's systemd-run is undefined behaviour, which props refuses: before 258,
// IODeviceLatencyTargetSec= (empty) passes USEC_INFINITY (64 bits) as the
// element count of an a(st) to sd_bus_message_append's varargs, so the
// outcome depends on what the stack holds (on 257 accepted in some runs,
// refused in others).
func undefinedInSystemdRun(v props.Version, in string) bool {
	return v < props.V258 && in == "IODeviceLatencyTargetSec="
}

// confirmOne runs one case against the systemd-run and manager of
// version v. It reports how both sides agreed; err describes a
// disagreement.
func confirmOne(ctx context.Context, t *testing.T, sys *transienttest.Systemd, conn *dbus.Conn, v props.Version, i int, c confirmCase) (r confirmResult, err error) {
	ctx, cancel := context.WithTimeout(ctx, confirmCaseTimeout)
	defer cancel()
	nameA := fmt.Sprintf("borgrun-cf-a%d", i)
	nameB := fmt.Sprintf("borgrun-cf-b%d", i)
	suffix := ".service"
	flag := "-p"
	// The description is explicit: systemd-run 257 and newer prefix the
	// command line it derives one from with "[systemd-run] ".
	args := []string{"--unit=" + nameA, "--description=" + description}
	extra := extraFor(c)
	switch c.t {
	case props.Timer:
		suffix, flag = ".timer", "--timer-property"
		args = append(args, "--on-active=1h")
	case props.Path:
		// A path unit needs a path to watch, a socket something to
		// listen on.
		suffix, flag = ".path", "--path-property"
		extra = append([]string{"PathExists=/nonexistent/borgrun-cf"}, extra...)
	case props.Socket:
		suffix, flag = ".socket", "--socket-property"
		extra = append([]string{fmt.Sprintf("ListenStream=/run/borgrun-cf-%d.sock", i)}, extra...)
	}
	for _, e := range extra {
		args = append(args, flag, e)
	}
	args = append(args, flag, c.in, "--no-block")
	args = append(args, sleepArgv...)

	ours, perr := props.ParseAllFor(v, c.t, append(extra, c.in))
	var stderr bytes.Buffer
	cmd := sys.Command(ctx, "systemd-run", args...)
	cmd.Stderr = &stderr
	cmd.WaitDelay = confirmWaitDelay
	runErr := cmd.Run()
	if ctx.Err() != nil {
		return 0, fmt.Errorf("systemd-run did not return within %v: %v, stderr %q", confirmCaseTimeout, runErr, stderr.String())
	}
	defer func() {
		_, _ = boundedOutput(context.Background(), sys, "systemctl", "stop", "--no-block",
			nameA+".service", nameB+".service", nameA+".timer", nameB+".timer", nameA+".path", nameB+".path",
			nameA+".socket", nameB+".socket")
	}()
	msg := strings.TrimSpace(stderr.String())
	name, _, _ := strings.Cut(c.in, "=")

	if perr != nil {
		var pe *props.Error
		if !errors.As(perr, &pe) {
			return 0, fmt.Errorf("ParseFor error %T is not *props.Error", perr)
		}
		if undefinedInSystemdRun(v, c.in) {
			// props refuses it; what systemd-run does is not defined.
			return confirmInvalid, nil
		}
		if runErr == nil {
			return 0, fmt.Errorf("props rejects (%v) but systemd-run accepts", perr)
		}
		if errors.Is(perr, props.ErrNeedsNewer) || errors.Is(perr, props.ErrWrongUnitType) || errors.Is(perr, props.ErrUnknownProperty) {
			if !strings.Contains(msg, "Unknown assignment") {
				return 0, fmt.Errorf("props does not know the name (%v) but systemd-run does: %s", perr, msg)
			}
			return confirmNewer, nil
		}
		if strings.Contains(msg, "Unknown assignment") {
			return 0, fmt.Errorf("props knows the name (%v) but systemd-run does not: %s", perr, msg)
		}
		return confirmInvalid, nil
	}
	warning, ignored := props.Ignored(v, c.t, name)
	if ignored && runErr == nil && !strings.Contains(msg, warning) {
		return 0, fmt.Errorf("props ignores the name (warning %q) but systemd-run does not say so: %q", warning, msg)
	}
	if !ignored && strings.Contains(msg, "ignoring") {
		return 0, fmt.Errorf("systemd-run ignores it (%s) but props does not", msg)
	}
	var showA string
	// Sockets listen on the same addresses: A is stopped before B too.
	if (exclusive[name] || c.t == props.Socket) && runErr == nil {
		if showA, err = boundedOutput(ctx, sys, "systemctl", "show", nameA+suffix); err != nil {
			return 0, err
		}
		if _, err = boundedOutput(ctx, sys, "systemctl", "stop", nameA+suffix); err != nil {
			return 0, err
		}
		// A stopped unit holds its bus name until it is unloaded:
		// on 257, B's BusName= met A's and failed with "File exists".
		if exclusive[name] {
			if err := waitUnloaded(ctx, conn, nameA+suffix); err != nil {
				return 0, err
			}
		}
	}
	bErr := startB(ctx, conn, c.t, nameB, ours)
	if runErr != nil && bErr == nil && strings.HasPrefix(msg, "Job failed") {
		// systemd-run waited for the trigger's start job, which failed
		// (a socket that cannot listen): B's job must fail too.
		if _, err := boundedOutput(ctx, sys, "systemctl", "start", nameB+suffix); err != nil {
			t.Logf("%s %s %q: start job failed on both sides: %s", v, c.t, c.in, msg)
			return confirmBothRejected, nil
		}
	}
	switch {
	case runErr != nil && bErr != nil:
		if !strings.Contains(msg, "Failed to start transient") {
			return 0, fmt.Errorf("systemd-run rejects client-side (%s) but props accepts", msg)
		}
		t.Logf("%s %s %q: rejected by the manager on both sides: %s", v, c.t, c.in, msg)
		return confirmBothRejected, nil
	case runErr != nil && props.Beyond(v, c.t, name) && !strings.Contains(msg, "Failed to start transient"):
		// Refused by v's systemd-run, taken by v's manager: what props
		// adds for v. The unit props made has the value asked for.
		out, err := boundedOutput(ctx, sys, "systemctl", "show", nameB+suffix)
		if err != nil {
			return 0, err
		}
		_, value, _ := strings.Cut(c.in, "=")
		base := strings.TrimSuffix(name, "Ex")
		if !strings.Contains("\n"+out, "\n"+base+"Ex="+value+"\n") {
			return 0, fmt.Errorf("props goes beyond systemd-run for %q, but the unit shows no %sEx=%s:\n%s", c.in, base, value, out)
		}
		return confirmBeyond, nil
	case runErr != nil:
		return 0, fmt.Errorf("systemd-run fails (%s) but the manager accepts props' output %v", msg, ours)
	case bErr != nil:
		return 0, fmt.Errorf("systemd-run succeeds but the manager rejects props' output %v: %v", ours, bErr)
	}
	var out string
	if showA != "" {
		out, err = boundedOutput(ctx, sys, "systemctl", "show", nameB+suffix)
		out = showA + "\n" + out
	} else {
		out, err = boundedOutput(ctx, sys, "systemctl", "show", nameA+suffix, nameB+suffix)
	}
	if err != nil {
		return 0, err
	}
	units := parseShow(out, nameA, nameB)
	if len(units) != 2 {
		return 0, fmt.Errorf("systemctl show returned %d units", len(units))
	}
	if d := diffMaps(units[0], units[1]); len(d) > 0 {
		return 0, fmt.Errorf("units differ (props sent %v):\n\t%s", ours, strings.Join(d, "\n\t"))
	}
	if ignored {
		return confirmIgnored, nil
	}
	return confirmMatched, nil
}

// Bounds on one case: nsenter forks the command inside the sandbox, and
// a command that outlives a killed nsenter keeps its output pipes open,
// so every command gets a WaitDelay too.
const (
	confirmCaseTimeout = time.Minute
	confirmWaitDelay   = 5 * time.Second
)

// boundedOutput is sys.Output, but returns at most confirmWaitDelay
// after ctx is done even if the command inside lingers.
func boundedOutput(ctx context.Context, sys *transienttest.Systemd, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, confirmCaseTimeout)
	defer cancel()
	cmd := sys.Command(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = confirmWaitDelay
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}
