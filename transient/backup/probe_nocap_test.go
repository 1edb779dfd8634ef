package backup_test

import (
	"context"
	"testing"
	"time"

	"github.com/borgrun/borgrun/transient"
	"github.com/borgrun/borgrun/transient/backup"
	"github.com/borgrun/borgrun/transient/transienttest"
)

// TestProbeSetupWithoutSetpcap boots a manager without CAP_SETPCAP, as in
// a container that withholds it: the manager then cannot apply a
// service's CapabilityBoundingSet=, and the probe of the default sandbox
// reports the real 218/CAPABILITIES. (A manager without CAP_SYS_ADMIN,
// which could not build namespaces, does not boot at all.)
func TestProbeSetupWithoutSetpcap(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a second manager")
	}
	sys, err := transienttest.Start(t.Context(), transienttest.Options{DropCapabilities: []string{"setpcap"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sys.Close() })
	c, err := transient.Dial(t.Context(), transient.DialOptions{Stream: sys.BusStream})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	sb, err := backup.DeriveSandbox(backup.SandboxOptions{Profile: backup.ProfileDefault, Name: "nocap",
		Command: []string{"/usr/bin/borg", "create"}, Home: "/root", BorgVersion: "borg 1.2.4"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for _, tt := range []struct {
		name      string
		hardening []string
		status    int32
	}{
		{"default sandbox", sb.Assignments(), 218},
		{"no sandbox", nil, 0},
	} {
		b := &backup.Job{Name: "nocap", Command: []string{"/usr/bin/borg"}, Priority: backup.Background, Hardening: tt.hardening}
		start := time.Now()
		f, err := backup.ProbeSetup(ctx, c, b)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		t.Logf("%s: probe %+v in %.1f ms", tt.name, f, float64(time.Since(start))/1e6)
		if tt.status == 0 && f != nil || tt.status != 0 && (f == nil || f.Status != tt.status) {
			t.Errorf("%s: probe %+v, want exit status %d", tt.name, f, tt.status)
		}
	}
}
