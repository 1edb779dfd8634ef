package backup_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/borgrun/borgrun/transient"
	"github.com/borgrun/borgrun/transient/backup"
)

// TestProbeSetup runs the probe against the real manager: under the
// default sandbox it runs; with a setting the manager genuinely cannot
// apply it reports which, by exit status. The probe leaves no unit behind.
// It logs what a probe costs.
func TestProbeSetup(t *testing.T) {
	c, sys := dial(t)
	sb, err := backup.DeriveSandbox(backup.SandboxOptions{Profile: backup.ProfileDefault, Name: "probe",
		Command: []string{"/usr/bin/borg", "create"}, Home: "/root", BorgVersion: "borg 1.2.4", HostID: "h@id"})
	if err != nil {
		t.Fatal(err)
	}
	base := backup.Job{Name: "probe", Command: []string{"/usr/bin/borg"}, Priority: backup.Background,
		Hardening: sb.Assignments(), NetworkWait: true, ACPowerOnly: true, BootDelay: time.Hour,
		// What runs and conditions are the job's, never the probe's.
		ServiceProperties: []string{"ExecStartPre=/bin/false", "ConditionPathExists=/nonexistent"}}
	for _, tt := range []struct {
		name   string
		extra  []string
		status int32
	}{
		{"default sandbox runs", nil, 0},
		{"strict sandbox runs", []string{"SystemCallFilter=~@privileged @resources"}, 0},
		// A writable path that does not exist (no "-"): the manager
		// cannot build the mount namespace.
		{"missing ReadWritePaths", []string{"ReadWritePaths=/nonexistent/borgrun-probe"}, 226},
		{"missing BindReadOnlyPaths", []string{"BindReadOnlyPaths=/nonexistent/borgrun-probe"}, 226},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := base
			b.ServiceProperties = append(slices.Clone(b.ServiceProperties), tt.extra...)
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			var costs []time.Duration
			for range 5 {
				start := time.Now()
				f, err := backup.ProbeSetup(ctx, c, &b)
				costs = append(costs, time.Since(start))
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case tt.status == 0 && f != nil:
					t.Fatalf("probe failed: %+v", f)
				case tt.status != 0 && (f == nil || f.Status != tt.status):
					t.Fatalf("probe: %+v, want exit status %d", f, tt.status)
				}
			}
			slices.Sort(costs)
			t.Logf("probe: median %.1f ms, max %.1f ms over %d runs", float64(costs[2])/1e6, float64(costs[4])/1e6, len(costs))
			// A probe's unit unloads itself (CollectMode) once it has
			// ended, which may be just after the probe has its answer:
			// wait for that (signal-driven, bounded), then look.
			if out, _ := sys.Output(t.Context(), "systemctl", "list-units", "--all", "--no-legend", "--plain", b.ProbeUnitPrefix()+"*"); strings.TrimSpace(out) != "" {
				var names []string
				for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
					names = append(names, strings.Fields(line)[0])
				}
				wctx, wcancel := context.WithTimeout(t.Context(), 10*time.Second)
				err := c.WaitAllGone(wctx, names...)
				wcancel()
				if err != nil {
					t.Errorf("the probe left units behind: %s (%v)", out, err)
				}
			}
		})
	}
}

func TestSetupFailureOf(t *testing.T) {
	for _, tt := range []struct {
		r    transient.Result
		want string
	}{
		{transient.Result{Result: "exit-code", Code: "exited", Status: 226}, "NAMESPACE"},
		{transient.Result{Result: "exit-code", Code: "exited", Status: 214}, "SETSCHEDULER"},
		{transient.Result{Result: "exit-code", Code: "exited", Status: 218}, "CAPABILITIES"},
		{transient.Result{Result: "exit-code", Code: "exited", Status: 228}, "SECCOMP"},
		{transient.Result{Result: "exit-code", Code: "exited", Status: 2}, ""},
		{transient.Result{Result: "signal", Code: "killed", Status: 226}, ""},
		{transient.Result{Result: "success", Code: "exited"}, ""},
		// The first command the manager spawns fails: an ExecStartPre=.
		{transient.Result{Result: "exit-code", PreCode: "exited", PreStatus: 226}, "NAMESPACE"},
		{transient.Result{Result: "exit-code", PreCode: "exited", PreStatus: 1}, ""},
	} {
		f := transient.SetupFailureOf(&tt.r)
		if got := ""; f != nil {
			got = f.Name
			if got != tt.want {
				t.Errorf("SetupFailureOf(%+v) = %s, want %q", tt.r, got, tt.want)
			}
		} else if tt.want != "" {
			t.Errorf("SetupFailureOf(%+v) = nil, want %s", tt.r, tt.want)
		}
	}
}
