package transient

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

// answerTimeout bounds the wait for the manager's answer to a call that
// changes it, once the call has been sent.
const answerTimeout = 30 * time.Second

// sendContext returns the context to send a call that changes the manager
// with. If ctx is already done, the call must not go out: it returns ctx's
// error. Otherwise the context it returns is not cancelled when ctx is
// (only after answerTimeout): once such a call is sent, its answer is
// read, so that the caller knows what the manager did and never abandons a
// unit it may have created. Call cancel when the answer is in.
func sendContext(ctx context.Context) (send context.Context, cancel context.CancelFunc, err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	send, cancel = context.WithTimeout(context.WithoutCancel(ctx), answerTimeout)
	return send, cancel, nil
}

// ErrCreated is wrapped, beside the context's error, by the error of a
// call whose context ended after the manager had created the unit: the
// unit exists (and its start job runs on) although the call did not wait
// for everything it would have.
var ErrCreated = errors.New("the unit was created")

// AuxUnit is an auxiliary unit created by [Conn.StartTransient] together
// with the main unit (the service a timer triggers): created, not started.
type AuxUnit struct {
	Name       string
	Properties []Property
}

// JobError reports that a start job finished with a result other than
// "done" or "skipped": "failed", "timeout", "canceled", "dependency", ….
// ServiceResult is the unit's Result property ("exit-code", "timeout", …)
// when the unit is a service and it could still be read, else "".
type JobError struct {
	Unit          string
	JobResult     string
	ServiceResult string
}

func (e *JobError) Error() string {
	if e.ServiceResult != "" {
		return fmt.Sprintf("transient: start job for %s finished with result %q (service result %q)", e.Unit, e.JobResult, e.ServiceResult)
	}
	return fmt.Sprintf("transient: start job for %s finished with result %q", e.Unit, e.JobResult)
}

// StartTransient creates the transient unit name with props, and the
// auxiliary units aux, in one StartTransientUnit call with job mode "fail",
// as systemd-run does. The manager starts only name.
//
// With wait false it returns once the manager has queued the start job
// (systemd-run --no-block). With wait true it also waits for the job to
// finish and returns a [*JobError] if its result is neither "done" nor
// "skipped" (for a Type=oneshot service the job ends only when the process
// has exited). Errors from the call itself are [*ManagerError]s.
//
// If ctx is done before the call is sent, nothing is sent. Once it is
// sent, its answer is waited for whatever ctx does (see [sendContext]);
// if ctx is done while the start job is waited for, the error wraps both
// ctx's error and [ErrCreated].
func (c *Conn) StartTransient(ctx context.Context, name string, props []Property, aux []AuxUnit, wait bool) error {
	return c.StartTransientMode(ctx, name, "fail", props, aux, wait)
}

// StartTransientMode is [Conn.StartTransient] with the start job's mode
// (systemd-run --job-mode): "fail", "replace", "isolate" and the others
// the manager takes; the manager refuses a mode it does not know.
func (c *Conn) StartTransientMode(ctx context.Context, name, mode string, props []Property, aux []AuxUnit, wait bool) error {
	pcs := auxCollections(aux)
	var jobs chan string
	if wait {
		jobs = make(chan string, 1)
	}
	send, cancel, err := sendContext(ctx)
	if err != nil {
		return err
	}
	_, err = c.sd.StartTransientUnitAux(send, name, mode, props, pcs, jobs)
	cancel()
	if err != nil {
		return wrap(fmt.Sprintf("starting %q", name), err)
	}
	if !wait {
		return nil
	}
	select {
	case res := <-jobs:
		if res == "done" || res == "skipped" {
			return nil
		}
		je := &JobError{Unit: name, JobResult: res}
		var v dbus.Variant
		if err := c.object(unitPath(name)).CallWithContext(ctx, ifaceProps+".Get", 0, ServiceInterface, "Result").Store(&v); err == nil {
			je.ServiceResult, _ = v.Value().(string)
		}
		return je
	case <-ctx.Done():
		return fmt.Errorf("transient: %s was created; stopped waiting for it to start: %w (%w)", name, ctx.Err(), ErrCreated)
	}
}

func auxCollections(aux []AuxUnit) []sddbus.PropertyCollection {
	var pcs []sddbus.PropertyCollection
	for _, a := range aux {
		pcs = append(pcs, sddbus.PropertyCollection{Name: a.Name, Properties: a.Properties})
	}
	return pcs
}

// UniqueName returns the connection's unique name on the bus (":1.42"),
// or "" on a manager's private socket, where there is none. systemd-run
// names its units after it (run-u42.service).
func (c *Conn) UniqueName() string {
	if c.direct {
		return ""
	}
	if names := c.bus.Names(); len(names) > 0 {
		return names[0]
	}
	return ""
}

// WaitService waits until the service name is inactive or failed with no
// job pending, systemd-run --wait's criterion, and returns how it ended.
// It reads the unit's state once at the start (one round trip) and then
// follows its PropertiesChanged signals; nothing is polled. On a bus it
// subscribes to the manager's signals only if this connection does not
// pin the unit (AddRef, as systemd-run --wait sets): the manager sends a
// unit's changes to those that pin it. Unlike [Conn.Run] it neither stops nor unloads the unit: if ctx is done
// first, it returns ctx's error and the unit keeps running.
//
// A unit that is never done (RemainAfterExit=yes) makes WaitService wait
// until ctx is done, as systemd-run --wait -r does. On a private socket,
// where a unit cannot be pinned, a unit unloaded as soon as it ended is
// reported from its last state seen.
func (c *Conn) WaitService(ctx context.Context, name string) (*Result, error) {
	return c.WaitServiceReport(ctx, name, nil)
}

// WaitServiceReport is [Conn.WaitService] that calls started, unless it
// is nil, with the unit's invocation ID (see [Conn.InvocationID]) as soon
// as its first reading of the unit's state is in: the ID comes with that
// reading, at no extra round trip.
func (c *Conn) WaitServiceReport(ctx context.Context, name string, started func(invocationID string)) (*Result, error) {
	path := unitPath(name)
	w, unwatch, err := c.watch(ctx, path)
	if err != nil {
		return nil, err
	}
	defer unwatch()
	// Read the state once (the unit was started before we watched it),
	// then follow the changes the signals carry.
	st := unitState{props: make(map[string]dbus.Variant)}
	pinned, err := c.readStateProps(ctx, path, &st)
	if err != nil {
		return nil, err
	}
	if !c.direct && !pinned {
		// On a bus the manager sends a unit's changes to the clients
		// that pin it (as systemd-run --wait does, with AddRef) and to
		// its subscribers. A unit we do not pin needs the
		// subscription, and a second reading, after it: changes
		// before it may not have come.
		release, err := c.subscribe()
		if err != nil {
			return nil, err
		}
		defer release()
		if _, err := c.readStateProps(ctx, path, &st); err != nil {
			return nil, err
		}
	}
	if started != nil {
		started(invocationID(st.props["InvocationID"]))
	}
	for !st.done() {
		select {
		case s, ok := <-w.ch:
			if !ok {
				return nil, fmt.Errorf("transient: waiting for %s: %w", name, ErrDisconnected)
			}
			st.merge(s)
			if w.lost.Swap(false) {
				if err := c.readState(ctx, path, &st); err != nil && !errors.Is(err, ErrNoSuchUnit) {
					return nil, err
				}
			}
		case <-ctx.Done():
			return nil, fmt.Errorf("transient: waiting for %s: %w", name, ctx.Err())
		}
	}
	figures := allFigures
	if _, ok := st.props["Result"]; !ok {
		// The first reading's were of another run (see
		// readStateProps) and no signal brought them since.
		figures = append(slices.Clone(allFigures), "Result", "ExecMainCode", "ExecMainStatus")
	}
	c.readFigures(ctx, path, &st, figures)
	return waitResult(name, st.props), nil
}

// ServiceResult reads how the service name stands now, in one reading of
// its state (as [Conn.WaitService] reads it first): for a service still
// running, Result is its Result so far ("success" unless it failed
// before) and Code is "". systemd-run --pty reports this state when the
// user detaches without --wait.
func (c *Conn) ServiceResult(ctx context.Context, name string) (*Result, error) {
	st := unitState{props: make(map[string]dbus.Variant)}
	if _, err := c.readStateProps(ctx, unitPath(name), &st); err != nil {
		return nil, err
	}
	return waitResult(name, st.props), nil
}

// waitResult builds a Result from a unit's properties as systemd-run
// --wait reads them.
func waitResult(name string, props map[string]dbus.Variant) *Result {
	st := unitState{props: props}
	r := &Result{
		Unit:           name,
		Result:         st.str("Result"),
		Status:         st.i32("ExecMainStatus"),
		CPU:            -1,
		IOReadBytes:    st.u64or("IOReadBytes", math.MaxUint64),
		IOWriteBytes:   st.u64or("IOWriteBytes", math.MaxUint64),
		IPIngressBytes: st.u64or("IPIngressBytes", math.MaxUint64),
		IPEgressBytes:  st.u64or("IPEgressBytes", math.MaxUint64),
		MemoryPeak:     st.u64or("MemoryPeak", math.MaxUint64),
		MemorySwapPeak: st.u64or("MemorySwapPeak", math.MaxUint64),
	}
	r.Code = exitCodeName(st.i32("ExecMainCode"))
	// ExecStartPre: a(sasbttttuii), the last two are code and status.
	if pre, ok := props["ExecStartPre"].Value().([][]any); ok {
		for _, e := range pre {
			if len(e) != 10 {
				continue
			}
			code, _ := e[8].(int32)
			status, _ := e[9].(int32)
			if code > 1 || code == 1 && status != 0 {
				r.PreCode, r.PreStatus = exitCodeName(code), status
				break
			}
		}
	}
	in, out := st.u64or("InactiveExitTimestampMonotonic", math.MaxUint64), st.u64or("InactiveEnterTimestampMonotonic", math.MaxUint64)
	set := func(t uint64) bool { return t != 0 && t != math.MaxUint64 }
	r.Ran = set(in)
	if set(in) && set(out) && out > in {
		r.Runtime = time.Duration(out-in) * time.Microsecond
	}
	if cpu := st.u64or("CPUUsageNSec", math.MaxUint64); cpu != math.MaxUint64 {
		// systemd-run rounds up to whole microseconds.
		r.CPU = time.Duration((cpu+999)/1000) * time.Microsecond
	}
	return r
}

// exitCodeName names a siginfo si_code as systemd-run does.
func exitCodeName(code int32) string {
	switch code {
	case 1:
		return "exited"
	case 2:
		return "killed"
	case 3:
		return "dumped"
	case 4:
		return "trapped"
	case 5:
		return "stopped"
	case 6:
		return "continued"
	}
	return ""
}

// stateProps are the properties that decide when a run is over and how it
// ended, by interface.
var stateProps = [...]struct{ iface, name string }{
	{UnitInterface, "ActiveState"}, {UnitInterface, "Job"}, {UnitInterface, "InvocationID"},
	{UnitInterface, "InactiveExitTimestampMonotonic"}, {UnitInterface, "InactiveEnterTimestampMonotonic"},
	{ServiceInterface, "Result"}, {ServiceInterface, "ExecMainCode"}, {ServiceInterface, "ExecMainStatus"},
}

// readStateProps reads stateProps into st, all in one round trip. The
// unit interface's are one snapshot (a GetAll of that interface): separate
// Gets, even sent at once, are answered at different moments, and a quick
// service could be read as inactive from before its start and with no job
// from after its end, and taken for done before it ran. The service's
// three are read by name behind it, then the InvocationID again: they are
// kept only if it is the snapshot's, so that they belong to the same run
// (a unit collected meanwhile reads back as a fresh stub). They can be
// newer than the snapshot, never older; a run the snapshot shows as
// not done brings them again in its signals as it ends.
//
// (A GetAll of every interface, as systemd-run reads, is one snapshot
// too, but the service's interface carries some 300 properties, its
// accounting read from the kernel: it cost a run --wait about 5%.)
//
// pinned reports whether this connection pins the unit (its unique name
// is among the unit's Refs, read in the same snapshot): the manager then
// sends it the unit's changes without a subscription.
func (c *Conn) readStateProps(ctx context.Context, path dbus.ObjectPath, st *unitState) (pinned bool, err error) {
	obj := c.object(path)
	reqs := []request{{obj, ifaceProps + ".GetAll", []any{UnitInterface}}}
	var svc []string
	for _, p := range stateProps {
		if p.iface == ServiceInterface {
			reqs = append(reqs, request{obj, ifaceProps + ".Get", []any{p.iface, p.name}})
			svc = append(svc, p.name)
		}
	}
	reqs = append(reqs, request{obj, ifaceProps + ".Get", []any{UnitInterface, "InvocationID"}})
	calls, err := c.callAll(ctx, reqs)
	if err != nil {
		return false, wrap("reading "+string(path), err)
	}
	var unit map[string]dbus.Variant
	if err := calls[0].Store(&unit); err != nil {
		return false, wrap("reading "+string(path), err)
	}
	if refs, ok := unit["Refs"].Value().([]string); ok && !c.direct {
		pinned = slices.Contains(refs, c.UniqueName())
	}
	for _, p := range stateProps {
		if v, ok := unit[p.name]; ok && p.iface == UnitInterface {
			st.props[p.name] = v
		}
	}
	var id dbus.Variant
	if calls[len(calls)-1].Store(&id) != nil || fmt.Sprint(id.Value()) != fmt.Sprint(unit["InvocationID"].Value()) {
		return pinned, nil
	}
	for i, name := range svc {
		var v dbus.Variant
		if calls[1+i].Store(&v) == nil {
			st.props[name] = v
		}
	}
	return pinned, nil
}

// InvocationID reads the InvocationID of the unit called name, as
// systemd-run 255 and later do to print it: 32 hex digits, or "" while the
// unit has none (not started yet, or inactive).
func (c *Conn) InvocationID(ctx context.Context, name string) (string, error) {
	var v dbus.Variant
	if err := c.object(unitPath(name)).CallWithContext(ctx, ifaceProps+".Get", 0, UnitInterface, "InvocationID").Store(&v); err != nil {
		return "", wrap(fmt.Sprintf("reading the invocation ID of %q", name), err)
	}
	return invocationID(v), nil
}

// invocationID renders an InvocationID property (ay, 16 bytes, or none)
// as hex, "" for none or all zeros.
func invocationID(v dbus.Variant) string {
	b, _ := v.Value().([]byte)
	if len(b) != 16 || bytes.Count(b, []byte{0}) == 16 {
		return ""
	}
	return hex.EncodeToString(b)
}
