package backup

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/borgrun/borgrun/transient"
	"github.com/godbus/dbus/v5"
)

// Outcome says what [Schedule] did.
type Outcome string

const (
	Created   Outcome = "created"   // the pair did not exist and was created
	Unchanged Outcome = "unchanged" // an identical pair was already scheduled
	Replaced  Outcome = "replaced"  // a different pair was replaced
)

var (
	// ErrScheduleDiffers: a pair of that name exists with another
	// definition, and replacing it was not asked for.
	ErrScheduleDiffers = errors.New("scheduled with a different definition")
	// ErrRunInProgress: the job's service is running; replacing or
	// removing it would kill the backup.
	ErrRunInProgress = errors.New("a run is in progress")
	// ErrNotOurs: a unit of that name exists but borgrun did not create it
	// (for example a unit file on disk).
	ErrNotOurs = errors.New("exists and was not created by borgrun")
)

// Scheduled reports whether b's pair is loaded exactly as [Schedule]
// would create it (same fingerprint), so that Schedule would answer
// [Unchanged]. Callers use it to skip work that only a new pair needs.
func Scheduled(ctx context.Context, c *transient.Conn, b *Job) (bool, error) {
	l, err := Look(ctx, c, b)
	if err != nil {
		return false, err
	}
	return l.Unchanged(b), nil
}

// Lookup is what [Look] found loaded under a job's names, to decide
// whether a pair is already scheduled and, passed to [ScheduleLooked],
// to schedule it without looking again.
type Lookup struct {
	name string
	cur  *current
	// Timer is the job's timer as it was, if it was loaded (read in the
	// same round trip as the rest); nil if it was not, or could not be
	// read.
	Timer *transient.TimerStatus
}

// Look looks up what is loaded under the names of b's units: one round
// trip if nothing is, two if something is (the few properties that tell
// whether the pair is ours and its fingerprint, and the timer's status,
// are read together in the second).
func Look(ctx context.Context, c *transient.Conn, b *Job) (*Lookup, error) {
	curs, err := lookupMany(ctx, c, []string{b.Name}, true)
	if err != nil {
		return nil, err
	}
	return &Lookup{name: b.Name, cur: curs[0], Timer: curs[0].timer}, nil
}

// Unchanged reports whether the pair l found is b's exactly as [Schedule]
// would create it (same fingerprint): Schedule would answer [Unchanged].
func (l *Lookup) Unchanged(b *Job) bool {
	return l.name == b.Name && l.cur.ours && l.cur.timerLoaded && l.cur.fingerprint == b.Fingerprint()
}

// Schedule creates the job's timer and service in one call, idempotently:
// if an identical pair (same [Job.Fingerprint]) is already scheduled it
// does nothing and returns Unchanged, so that a boot script can run the same
// schedule on every boot. The units are encoded for the manager's own
// systemd version ([transient.Conn.Version]); a job that
// [Job.CheckSchedule] refuses for that version is an [ErrInvalid] error,
// and nothing is sent. A pair with another definition is an
// ErrScheduleDiffers error unless replace is set; replacing never kills a
// run in progress (ErrRunInProgress). Concurrent identical calls end with
// exactly one pair. If ctx ends once the pair has been created, Schedule
// returns its outcome with an error wrapping [transient.ErrCreated].
func Schedule(ctx context.Context, c *transient.Conn, b *Job, replace bool) (Outcome, error) {
	return ScheduleLooked(ctx, c, b, replace, nil)
}

// ScheduleLooked is [Schedule] that starts from what [Look] found (if l is
// not nil; a Lookup of another job is ignored), rather than looking again:
// one round trip or two fewer. Should the pair have been created since,
// by another caller, the manager refuses the creation and ScheduleLooked
// looks again, as Schedule does.
func ScheduleLooked(ctx context.Context, c *transient.Conn, b *Job, replace bool, l *Lookup) (Outcome, error) {
	v, err := c.Version(ctx)
	if err != nil {
		return "", err
	}
	if err := b.CheckSchedule(v); err != nil {
		return "", err
	}
	s := b.scheduled()
	timerProps, err := s.Timer(v)
	if err != nil {
		return "", err
	}
	serviceProps, err := s.Service(v, "oneshot")
	if err != nil {
		return "", err
	}
	hooks, err := s.HookUnits(v, b.ServiceUnit())
	if err != nil {
		return "", err
	}
	fp := b.Fingerprint()
	outcome := Created
	for attempt := 0; ; attempt++ {
		var cur *current
		if attempt == 0 && l != nil && l.name == b.Name {
			cur = l.cur
		} else if cur, err = lookup(ctx, c, b); err != nil {
			return "", err
		}
		switch {
		case cur.loaded && !cur.ours:
			return "", fmt.Errorf("backup: %s: %w", cur.which, ErrNotOurs)
		case cur.timerLoaded && cur.fingerprint == fp:
			// Identical. (Its timer may still be starting, if another
			// Schedule call created the pair a moment ago.)
			return Unchanged, nil
		case cur.timerLoaded && !replace:
			return "", fmt.Errorf("backup: %s: %w (use replace)", b.TimerUnit(), ErrScheduleDiffers)
		case cur.loaded:
			// A different pair to replace, or a service left without its
			// timer (the timer was stopped): clear it away, but never
			// while it runs.
			if cur.serviceRunning {
				return "", fmt.Errorf("backup: replacing %s: %w", b.ServiceUnit(), ErrRunInProgress)
			}
			if err := unloadUnits(ctx, c, cur.units); err != nil {
				return "", err
			}
			if cur.timerLoaded {
				outcome = Replaced
			}
		}
		err = c.StartTimer(ctx, b.TimerUnit(), timerProps, b.ServiceUnit(), serviceProps, hooks...)
		if errors.Is(err, transient.ErrCreated) {
			// Interrupted once the pair existed: it is scheduled.
			return outcome, err
		}
		if errors.Is(err, transient.ErrUnitExists) && attempt == 0 {
			// Someone created it between our look and our start: look
			// again (an identical pair is then Unchanged).
			continue
		}
		if err != nil && outcome == Replaced {
			// The manager refused the new pair after the old one was
			// unloaded: say so, rather than leave the caller to find out.
			return "", fmt.Errorf("%w (the previous schedule of %s was removed first; run its schedule command again to restore it)", err, b.Name)
		}
		if err != nil {
			return "", err
		}
		return outcome, nil
	}
}

// current describes what is loaded under a job's names.
type current struct {
	loaded         bool     // a unit of the job is loaded
	units          []string // the job's loaded units: timer, service, hooks
	which          string   // the first loaded unit
	ours           bool     // both are transient and carry a fingerprint
	fingerprint    string
	timerLoaded    bool
	serviceRunning bool
	timer          *transient.TimerStatus // if read (see lookupMany)
}

func lookup(ctx context.Context, c *transient.Conn, b *Job) (*current, error) {
	curs, err := lookupMany(ctx, c, []string{b.Name}, false)
	if err != nil {
		return nil, err
	}
	return curs[0], nil
}

// lookupMany looks up the pairs of the named jobs in two round trips,
// whatever their number: one call lists all their units at one instant
// (two calls could straddle a concurrent creation of a pair and see half
// of it), then the few properties that tell whether each is ours are read
// all at once (none if nothing is loaded: one round trip). With timers,
// the status of each loaded timer is read in the same second round.
func lookupMany(ctx context.Context, c *transient.Conn, names []string, timers bool) ([]*current, error) {
	// The hook units of any kind are looked at, whether a job has hooks or
	// not: one left loaded (still running) would make a creation fail.
	var units []string
	for _, n := range names {
		units = append(units, jobUnits(&Job{Name: n})...)
	}
	sts, err := c.Units(ctx, units...)
	if err != nil {
		return nil, err
	}
	state := map[string]transient.UnitStatus{}
	for _, st := range sts {
		state[st.Name] = st
	}
	var loaded, services, loadedTimers []string
	for _, n := range names {
		b := &Job{Name: n}
		for _, u := range jobUnits(b) {
			if ls := state[u].LoadState; ls != "not-found" && ls != "" {
				loaded = append(loaded, u)
				switch u {
				case b.ServiceUnit():
					services = append(services, u)
				case b.TimerUnit():
					if timers && ls == "loaded" {
						loadedTimers = append(loadedTimers, u)
					}
				}
			}
		}
	}
	var unitProps, svcProps []transient.UnitProperties
	var unitErr, svcErr error
	timerStatus := make([]*transient.TimerStatus, len(loadedTimers))
	var wg sync.WaitGroup
	if len(loaded) > 0 {
		wg.Go(func() {
			unitProps, unitErr = c.PropertiesOf(ctx, loaded, transient.UnitInterface, "Transient", "LoadState")
		})
	}
	if len(services) > 0 {
		wg.Go(func() { svcProps, svcErr = c.PropertiesOf(ctx, services, transient.ServiceInterface, "Environment") })
	}
	for i, t := range loadedTimers {
		// Unload meanwhile, or unreadable: left nil, read later if
		// needed.
		wg.Go(func() { timerStatus[i], _ = c.Timer(ctx, t) })
	}
	wg.Wait()
	timerOf := map[string]*transient.TimerStatus{}
	for i, t := range loadedTimers {
		timerOf[t] = timerStatus[i]
	}
	if err := errors.Join(unitErr, svcErr); err != nil {
		return nil, err
	}
	props := map[string]map[string]dbus.Variant{}
	for _, ps := range [][]transient.UnitProperties{unitProps, svcProps} {
		for _, p := range ps {
			if p.Err != nil {
				return nil, p.Err
			}
			if props[p.Unit] == nil {
				props[p.Unit] = map[string]dbus.Variant{}
			}
			maps.Copy(props[p.Unit], p.Properties)
		}
	}
	var curs []*current
	for _, n := range names {
		b := &Job{Name: n}
		cur := &current{ours: true}
		pair := false // the timer or the service is loaded
		for _, u := range jobUnits(b) {
			st := state[u]
			if st.LoadState == "not-found" || st.LoadState == "" {
				continue
			}
			if !cur.loaded {
				cur.loaded, cur.which = true, u
			}
			cur.units = append(cur.units, u)
			p := props[u]
			if st.LoadState == "stub" {
				// Just created as the auxiliary unit of a
				// StartTransientUnit call and not loaded yet:
				// Properties loads it first.
				unit, err := c.Properties(ctx, u, transient.UnitInterface)
				if err != nil {
					return nil, err
				}
				p = map[string]dbus.Variant{"Transient": unit["Transient"]}
				if u == b.ServiceUnit() {
					svc, err := c.Properties(ctx, u, transient.ServiceInterface)
					if err != nil {
						return nil, err
					}
					p["Environment"] = svc["Environment"]
				}
			}
			if tr, _ := p["Transient"].Value().(bool); !tr {
				cur.ours = false
			}
			if u == b.TimerUnit() {
				cur.timerLoaded, pair = true, true
				cur.timer = timerOf[u]
				continue
			}
			if u != b.ServiceUnit() {
				continue // a hook unit
			}
			pair = true
			cur.serviceRunning = transient.IsRunning(st.ActiveState)
			env, _ := p["Environment"].Value().([]string)
			for _, e := range env {
				if v, ok := strings.CutPrefix(e, FingerprintVar+"="); ok {
					cur.fingerprint = v
				}
			}
		}
		if pair && cur.fingerprint == "" {
			cur.ours = false
		}
		curs = append(curs, cur)
	}
	return curs, nil
}

// JobStatus is the state of one scheduled job, as [List] reports it.
type JobStatus struct {
	Name      string    `json:"name"`
	Timer     string    `json:"timer"`
	Service   string    `json:"service"`
	Calendars []string  `json:"calendars"`
	Next      time.Time `json:"next,omitzero"`
	Last      time.Time `json:"last,omitzero"`
	// Result is the service's last result ("success", "exit-code", …;
	// "" if it never ran) and Status its main process's exit status.
	Result string `json:"result,omitempty"`
	Status int32  `json:"status"`
	// State is "running" while the service runs, else the timer's
	// ActiveState ("active" = waiting for the next run).
	State string `json:"state"`
	// Ended is when the last run ended (zero while the first runs).
	Ended time.Time `json:"ended,omitzero"`
	// LastSuccess is when the last successful run ended, as far as the
	// manager knows: the end of the last run if it succeeded, else zero
	// (an earlier success is only in the journal: the CLI looks there).
	LastSuccess time.Time `json:"last_success,omitzero"`
	// RandomizedDelay is the timer's RandomizedDelaySec.
	RandomizedDelay time.Duration `json:"randomized_delay,omitempty"`
	// Hooks are the kinds of hook the job has ("on-failure",
	// "on-success"): the service names a unit in OnFailure= or OnSuccess=.
	Hooks []Hook `json:"hooks,omitempty"`
}

// Names returns the names of every job borgrun scheduled on the manager
// (every loaded borgrun-*.timer), sorted, in one round trip.
func Names(ctx context.Context, c *transient.Conn) ([]string, error) {
	units, err := c.UnitsMatching(ctx, UnitPrefix+"*.timer")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, u := range units {
		if u.LoadState == "loaded" {
			names = append(names, strings.TrimPrefix(strings.TrimSuffix(u.Name, ".timer"), UnitPrefix))
		}
	}
	slices.Sort(names)
	return names, nil
}

// List returns every job borgrun scheduled on the manager (every loaded
// borgrun-*.timer), sorted by name. It costs two round trips whatever the
// number of jobs (on a bus, one more per 100 jobs: see
// [transient.Conn.PropertiesOf]): one lists the timers and services with
// their states, one reads each timer's small interface (calendars, next
// and last trigger, randomized delay: cheaper in calls and bytes than the
// same four by name) and three properties of each service by name (of
// the hundreds of a service's GetAll): its last start, whether its
// conditions held, and, of one that failed, its result and exit status.
// (The three of ExecMainExitTimestamp, ConditionResult, or of a failed
// one Result and ExecMainStatus.)
func List(ctx context.Context, c *transient.Conn) ([]JobStatus, error) {
	units, err := c.UnitsMatching(ctx, UnitPrefix+"*.timer", UnitPrefix+"*.service")
	if err != nil {
		return nil, err
	}
	services := map[string]transient.UnitStatus{}
	for _, u := range units {
		if strings.HasSuffix(u.Name, ".service") {
			services[u.Name] = u
		}
	}
	var jobs []JobStatus
	var timers, failed, ended, loadedServices []string
	for _, u := range units {
		if u.LoadState != "loaded" || !strings.HasSuffix(u.Name, ".timer") {
			continue
		}
		stem := strings.TrimSuffix(u.Name, ".timer")
		j := JobStatus{Name: strings.TrimPrefix(stem, UnitPrefix), Timer: u.Name, Service: stem + ".service", State: u.ActiveState}
		svc := services[j.Service]
		if transient.IsRunning(svc.ActiveState) {
			j.State = "running"
		}
		timers = append(timers, u.Name)
		if svc.LoadState == "loaded" {
			loadedServices = append(loadedServices, j.Service)
		}
		switch {
		case svc.LoadState != "loaded":
		case svc.ActiveState == "failed":
			failed = append(failed, j.Service)
		case j.State != "running":
			ended = append(ended, j.Service)
		}
		jobs = append(jobs, j)
	}
	if len(jobs) == 0 {
		return nil, nil
	}
	var tp, sp, ep, cp, hp []transient.UnitProperties
	var terr, serr, eerr, cerr, herr error
	var wg sync.WaitGroup
	wg.Go(func() {
		hp, herr = c.PropertiesOf(ctx, loadedServices, transient.UnitInterface, "OnFailure", "OnSuccess")
	})
	wg.Go(func() { tp, terr = c.PropertiesOf(ctx, timers, transient.TimerInterface) })
	wg.Go(func() {
		sp, serr = c.PropertiesOf(ctx, failed, transient.ServiceInterface, "Result", "ExecMainStatus", "ExecMainExitTimestamp")
	})
	wg.Go(func() { ep, eerr = c.PropertiesOf(ctx, ended, transient.ServiceInterface, "ExecMainExitTimestamp") })
	wg.Go(func() { cp, cerr = c.PropertiesOf(ctx, ended, transient.UnitInterface, "ConditionResult") })
	wg.Wait()
	if err := errors.Join(terr, serr, eerr, cerr, herr); err != nil {
		return nil, err
	}
	hooks := map[string][]Hook{}
	for _, p := range hp {
		for _, k := range hookKinds {
			if deps, _ := p.Properties[dependencyOf(k)].Value().([]string); p.Err == nil && len(deps) > 0 {
				hooks[p.Unit] = append(hooks[p.Unit], k)
			}
		}
	}
	svcProps := map[string]map[string]dbus.Variant{}
	for _, ps := range [][]transient.UnitProperties{sp, ep, cp} {
		for _, p := range ps {
			if p.Err != nil {
				continue // removed meanwhile
			}
			if svcProps[p.Unit] == nil {
				svcProps[p.Unit] = map[string]dbus.Variant{}
			}
			maps.Copy(svcProps[p.Unit], p.Properties)
		}
	}
	kept := jobs[:0]
	for i, j := range jobs {
		if err := tp[i].Err; err != nil {
			if errors.Is(err, transient.ErrAccessDenied) {
				return nil, err
			}
			continue // removed meanwhile: its timer interface is gone
		}
		t := tp[i].Properties
		j.Next = usecTime(t["NextElapseUSecRealtime"])
		j.Last = usecTime(t["LastTriggerUSec"])
		if d, ok := t["RandomizedDelayUSec"].Value().(uint64); ok && d != math.MaxUint64 {
			j.RandomizedDelay = time.Duration(d) * time.Microsecond
		}
		if cals, ok := t["TimersCalendar"].Value().([][]any); ok {
			for _, e := range cals {
				if len(e) >= 2 {
					if spec, ok := e[1].(string); ok {
						j.Calendars = append(j.Calendars, spec)
					}
				}
			}
		}
		j.Hooks = hooks[j.Service]
		svc, p := services[j.Service], svcProps[j.Service]
		switch {
		case svc.ActiveState == "failed":
			j.Result = "failed"
			if r, ok := p["Result"].Value().(string); ok {
				j.Result = r
			}
			j.Status, _ = p["ExecMainStatus"].Value().(int32)
			j.Ended = usecTime(p["ExecMainExitTimestamp"])
		case p != nil:
			// Not running and not failed: the last run that
			// started succeeded.
			if end := usecTime(p["ExecMainExitTimestamp"]); !end.IsZero() {
				j.Result, j.LastSuccess, j.Ended = "success", end, end
			}
			if ok, _ := p["ConditionResult"].Value().(bool); !ok && !j.Last.IsZero() {
				// The last trigger's run was skipped: a condition
				// (AC power) did not hold.
				j.Result = "condition"
			}
		}
		kept = append(kept, j)
	}
	jobs = kept
	slices.SortFunc(jobs, func(a, b JobStatus) int { return strings.Compare(a.Name, b.Name) })
	return jobs, nil
}

// dependencyOf returns the unit property that names the units of a hook
// of kind: OnFailure or OnSuccess.
func dependencyOf(kind Hook) string {
	if kind == HookSuccess {
		return "OnSuccess"
	}
	return "OnFailure"
}

func usecTime(v dbus.Variant) time.Time {
	u, _ := v.Value().(uint64)
	if u == 0 || u == math.MaxUint64 {
		return time.Time{}
	}
	return time.UnixMicro(int64(u))
}

// Remove stops and unloads a job's timer and service and resets their
// failed state. It refuses (ErrRunInProgress) while the service runs,
// unless force is set, in which case the run is stopped (SIGTERM: borg
// writes a checkpoint). A job that does not exist is ErrNoSuchUnit.
func Remove(ctx context.Context, c *transient.Conn, name string, force bool) error {
	return RemoveJobs(ctx, c, []string{name}, force)[0]
}

// RemoveJobs is [Remove] for several jobs at once, in a number of round
// trips that does not grow with their number: one lookup of all, the
// stops of all sent together and their jobs waited for together, then
// one wait for all to be unloaded. The result has one error per name (nil
// if that job was removed); an error common to all (the connection) is
// every name's.
func RemoveJobs(ctx context.Context, c *transient.Conn, names []string, force bool) []error {
	errs := make([]error, len(names))
	fail := func(err error) []error {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		return errs
	}
	curs, err := lookupMany(ctx, c, names, false)
	if err != nil {
		return fail(err)
	}
	var units []string
	var which []int
	for i, name := range names {
		b := &Job{Name: name}
		cur := curs[i]
		switch {
		case !cur.loaded:
			errs[i] = fmt.Errorf("backup: no job %q (%s): %w", name, b.TimerUnit(), transient.ErrNoSuchUnit)
		case !cur.ours:
			errs[i] = fmt.Errorf("backup: %s: %w", cur.which, ErrNotOurs)
		case cur.serviceRunning && !force:
			errs[i] = fmt.Errorf("backup: removing %s: %w", b.ServiceUnit(), ErrRunInProgress)
		default:
			units = append(units, cur.units...)
			which = append(which, i)
		}
	}
	if len(units) == 0 {
		return errs
	}
	if err := unloadUnits(ctx, c, units); err != nil {
		for _, i := range which {
			errs[i] = err
		}
	}
	return errs
}

// unloadTimeout bounds the wait for a stopped pair to be unloaded.
const unloadTimeout = 30 * time.Second

// jobUnits returns the names of every unit a scheduled job may have: its
// timer, its service and their hook units.
func jobUnits(b *Job) []string {
	units := []string{b.TimerUnit(), b.ServiceUnit()}
	for _, k := range hookKinds {
		units = append(units, HookUnit(b.ServiceUnit(), k))
	}
	return units
}

// unloadUnits stops units (the loaded units of one or more jobs: timer,
// service, hooks) and waits (bounded) until the manager has unloaded them
// all. They go as one: if ctx is done before anything is
// sent, nothing is; once the stops are sent, all are, and waited for,
// whatever ctx does (bounded by unloadTimeout), so that an interruption
// never leaves part of a job.
func unloadUnits(ctx context.Context, c *transient.Conn, units []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unloadTimeout)
	defer cancel()
	return c.UnloadAll(ctx, units...)
}
