package transient

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
)

// SetupFailure is a service's failure to start because the manager could
// not apply its execution settings, before the command ran: the exit
// statuses of systemd.exec(5), "Process Exit Codes", that sandboxing and
// scheduling settings cause where the manager lacks the privileges or
// kernel features (some containers, user managers).
type SetupFailure struct {
	// Status is the exit status (226) and Name its systemd name
	// ("NAMESPACE").
	Status int32
	Name   string
	// What says what the manager could not do.
	What string
	// Priority is true when the settings at fault are the CPU and IO
	// priority's, not the sandbox's.
	Priority bool
}

// setupFailures are the exit statuses [SetupFailureOf] recognises.
var setupFailures = []SetupFailure{
	{Status: 214, Name: "SETSCHEDULER", What: "set the CPU scheduling policy", Priority: true},
	{Status: 218, Name: "CAPABILITIES", What: "restrict the capabilities"},
	{Status: 226, Name: "NAMESPACE", What: "set up the sandbox's namespaces and mounts"},
	{Status: 228, Name: "SECCOMP", What: "install the system call filter"},
}

// SetupFailureOf returns what r's failure means if the service failed with
// one of the exit statuses of a setting the manager could not apply, and
// nil otherwise. The command's own exit status could be the same number;
// the caller says "probably" where that matters.
func SetupFailureOf(r *Result) *SetupFailure {
	if r == nil || r.Result != "exit-code" {
		return nil
	}
	status := r.Status
	switch {
	case r.PreCode == "exited":
		status = r.PreStatus
	case r.PreCode != "" || r.Code != "exited":
		return nil
	}
	for _, f := range setupFailures {
		if f.Status == status {
			return &f
		}
	}
	return nil
}

// Probe returns a job that starts like b's service (the same sandbox,
// priority, environment and -p settings) but runs /bin/true at once: no
// systemd-inhibit, no boot delay, no network wait, no AC condition. The -p
// settings that would change what runs or how it is waited for are left
// out. Running it shows whether the manager can apply b's settings here.
func (b *Backup) Probe() *Backup {
	p := &Backup{Name: b.Name, Command: []string{"/bin/true"}, Priority: b.Priority,
		Environment: b.Environment, Hardening: b.Hardening}
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
// [Conn.ProbeSetup] runs for b; a random part and ".service" follow. No
// job's units can have such a name (job names have no ':'), and no two
// probes share one, so signals of an earlier probe still in flight cannot
// be taken for this one's.
func (b *Backup) ProbeUnitPrefix() string { return UnitPrefix + b.Name + ":probe-" }

// ProbeSetup runs b's [Backup.Probe] as a transient service named
// [Backup.ProbeUnitPrefix] and a random part, waits for it (driven by
// signals, as [Conn.Run]) and
// returns the [SetupFailure] if the manager could not apply its settings;
// nil, nil if it ran. Any other failure of the probe is returned as an
// error.
func (c *Conn) ProbeSetup(ctx context.Context, b *Backup) (*SetupFailure, error) {
	props, err := b.Probe().Service("exec")
	if err != nil {
		return nil, err
	}
	res, err := c.Run(ctx, b.ProbeUnitPrefix()+rand.Text()[:10]+".service", props)
	var exit *ExitError
	if errors.As(err, &exit) {
		if f := SetupFailureOf(res); f != nil {
			return f, nil
		}
	}
	return nil, err
}
