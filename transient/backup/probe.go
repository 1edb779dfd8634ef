package backup

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"

	"github.com/borgrun/borgrun/transient"
)

// Probe returns a job that starts like b's service (the same sandbox,
// priority, environment and -p settings) but runs /bin/true at once: no
// systemd-inhibit, no boot delay, no network wait, no AC condition. The -p
// settings that would change what runs or how it is waited for are left
// out. Running it shows whether the manager can apply b's settings here.
func (b *Job) Probe() *Job {
	p := &Job{Name: b.Name, Command: []string{"/bin/true"}, Priority: b.Priority,
		Environment: b.Environment, Sandbox: b.Sandbox, Hardening: b.Hardening}
	for _, a := range b.ServiceProperties {
		name, _, _ := strings.Cut(a, "=")
		switch {
		case strings.HasPrefix(name, "Exec"), name == "Type", name == "RemainAfterExit", name == "Restart",
			strings.HasPrefix(name, "Condition"), strings.HasPrefix(name, "Assert"):
			continue
		}
		p.ServiceProperties = append(p.ServiceProperties, a)
	}
	return p
}

// ProbeUnitPrefix starts the name of the transient service that
// [ProbeSetup] runs for b; a random part and ".service" follow. No
// job's units can have such a name (job names have no ':'), and no two
// probes share one, so signals of an earlier probe still in flight cannot
// be taken for this one's.
func (b *Job) ProbeUnitPrefix() string { return UnitPrefix + b.Name + ":probe-" }

// ProbeSetup runs b's [Job.Probe] as a transient service named
// [Job.ProbeUnitPrefix] and a random part, waits for it (driven by
// signals, as [transient.Conn.RunOutcome]: what it consumed is not read) and
// returns the [transient.SetupFailure] if the manager could not apply its settings;
// nil, nil if it ran. Any other failure of the probe is returned as an
// error.
func ProbeSetup(ctx context.Context, c *transient.Conn, b *Job) (*transient.SetupFailure, error) {
	v, err := c.Version(ctx)
	if err != nil {
		return nil, err
	}
	props, err := b.Probe().Service(v, "exec")
	if err != nil {
		return nil, err
	}
	res, err := c.RunOutcome(ctx, b.ProbeUnitPrefix()+rand.Text()[:10]+".service", props)
	var exit *transient.ExitError
	if errors.As(err, &exit) {
		if f := transient.SetupFailureOf(res); f != nil {
			return f, nil
		}
	}
	return nil, err
}
