package backup

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/borgrun/borgrun/transient"
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
	cur, err := lookup(ctx, c, b)
	if err != nil {
		return false, err
	}
	return cur.ours && cur.timerLoaded && cur.fingerprint == b.Fingerprint(), nil
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
		cur, err := lookup(ctx, c, b)
		if err != nil {
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
			if err := unload(ctx, c, b); err != nil {
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
	loaded         bool   // the timer, the service or a hook unit is loaded
	which          string // the first loaded unit
	ours           bool   // both are transient and carry a fingerprint
	fingerprint    string
	timerLoaded    bool
	serviceRunning bool
}

func lookup(ctx context.Context, c *transient.Conn, b *Job) (*current, error) {
	// One call sees all units at one instant. (Two calls could straddle
	// a concurrent creation of the pair and see half of it.) The hook
	// units of any kind are looked at, whether b has hooks or not: one
	// left loaded (still running) would make the creation fail.
	sts, err := c.Units(ctx, jobUnits(b)...)
	if err != nil {
		return nil, err
	}
	cur := &current{ours: true}
	pair := false // the timer or the service is loaded
	for _, st := range sts {
		if st.LoadState == "not-found" || st.LoadState == "" {
			continue
		}
		if !cur.loaded {
			cur.loaded, cur.which = true, st.Name
		}
		unit, err := c.Properties(ctx, st.Name, transient.UnitInterface)
		if err != nil {
			return nil, err
		}
		if tr, _ := unit["Transient"].Value().(bool); !tr {
			cur.ours = false
		}
		if st.Name == b.TimerUnit() {
			cur.timerLoaded, pair = true, true
			continue
		}
		if st.Name != b.ServiceUnit() {
			continue // a hook unit
		}
		pair = true
		cur.serviceRunning = transient.IsRunning(st.ActiveState)
		svc, err := c.Properties(ctx, st.Name, transient.ServiceInterface)
		if err != nil {
			return nil, err
		}
		env, _ := svc["Environment"].Value().([]string)
		for _, e := range env {
			if v, ok := strings.CutPrefix(e, FingerprintVar+"="); ok {
				cur.fingerprint = v
			}
		}
	}
	if pair && cur.fingerprint == "" {
		cur.ours = false
	}
	return cur, nil
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
	// Hooks are the kinds of hook the job has ("on-failure",
	// "on-success"): the service names a unit in OnFailure= or OnSuccess=.
	Hooks []Hook `json:"hooks,omitempty"`
}

// List returns every job borgrun scheduled on the manager (every loaded
// borgrun-*.timer), sorted by name.
func List(ctx context.Context, c *transient.Conn) ([]JobStatus, error) {
	units, err := c.UnitsMatching(ctx, UnitPrefix+"*.timer")
	if err != nil {
		return nil, err
	}
	var jobs []JobStatus
	for _, u := range units {
		if u.LoadState != "loaded" {
			continue
		}
		stem := strings.TrimSuffix(u.Name, ".timer")
		j := JobStatus{Name: strings.TrimPrefix(stem, UnitPrefix), Timer: u.Name, Service: stem + ".service", State: u.ActiveState}
		st, err := c.Timer(ctx, u.Name)
		if errors.Is(err, transient.ErrNoSuchUnit) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		j.Calendars, j.Next, j.Last = st.Calendars, st.Next, st.Last
		unit, err := c.Properties(ctx, j.Service, transient.UnitInterface)
		if err != nil {
			return nil, err
		}
		if transient.IsRunning(unit["ActiveState"].Value()) {
			j.State = "running"
		}
		for _, k := range Hooks {
			if deps, _ := unit[dependencyOf(k)].Value().([]string); len(deps) > 0 {
				j.Hooks = append(j.Hooks, k)
			}
		}
		if ls, _ := unit["LoadState"].Value().(string); ls == "loaded" {
			svc, err := c.Properties(ctx, j.Service, transient.ServiceInterface)
			if err != nil {
				return nil, err
			}
			if ex, _ := svc["ExecMainExitTimestamp"].Value().(uint64); ex != 0 || unit["ActiveState"].Value() == "failed" {
				j.Result, _ = svc["Result"].Value().(string)
				j.Status, _ = svc["ExecMainStatus"].Value().(int32)
			}
		}
		jobs = append(jobs, j)
	}
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

// Remove stops and unloads a job's timer and service and resets their
// failed state. It refuses (ErrRunInProgress) while the service runs,
// unless force is set, in which case the run is stopped (SIGTERM: borg
// writes a checkpoint). A job that does not exist is ErrNoSuchUnit.
func Remove(ctx context.Context, c *transient.Conn, name string, force bool) error {
	b := &Job{Name: name}
	cur, err := lookup(ctx, c, b)
	if err != nil {
		return err
	}
	if !cur.loaded {
		return fmt.Errorf("backup: no job %q (%s): %w", name, b.TimerUnit(), transient.ErrNoSuchUnit)
	}
	if !cur.ours {
		return fmt.Errorf("backup: %s: %w", cur.which, ErrNotOurs)
	}
	if cur.serviceRunning && !force {
		return fmt.Errorf("backup: removing %s: %w", b.ServiceUnit(), ErrRunInProgress)
	}
	return unload(ctx, c, b)
}

// unloadTimeout bounds the wait for a stopped pair to be unloaded.
const unloadTimeout = 30 * time.Second

// jobUnits returns the names of every unit a scheduled job may have: its
// timer, its service and their hook units.
func jobUnits(b *Job) []string {
	units := []string{b.TimerUnit(), b.ServiceUnit()}
	for _, k := range Hooks {
		units = append(units, HookUnit(b.ServiceUnit(), k))
	}
	return units
}

// unload stops a job's timer, service and hook units and waits (bounded)
// until the manager has unloaded them all. They go as one: if ctx is done
// before anything is sent, nothing is; once the first stop is sent, all
// are, and waited for, whatever ctx does (bounded by unloadTimeout), so
// that an interruption never leaves part of a job.
func unload(ctx context.Context, c *transient.Conn, b *Job) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unloadTimeout)
	defer cancel()
	if err := c.Stop(ctx, jobUnits(b)...); err != nil {
		return err
	}
	for _, u := range jobUnits(b) {
		if err := c.WaitGone(ctx, u); err != nil {
			return err
		}
	}
	return nil
}
