package props

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Hooks for the external tests (package props_test).

// ManagerChecked is managerChecked: the D-Bus properties checkManager
// validates.
var ManagerChecked = managerChecked

// EncodeUnchecked encodes an assignment as version v's systemd-run does,
// without the manager's checks; for tests that need the D-Bus properties
// of a value ParseFor refuses.
func EncodeUnchecked(v Version, t UnitType, assignment string) ([]Property, error) {
	name, value, _ := strings.Cut(assignment, "=")
	h := tableFor(v, t)[name]
	if h == nil {
		return nil, nil
	}
	return h(name, value)
}

// ConfirmCalendarsWith is confirmCalendars for the external test package:
// it compares ParseCalendar with the systemd-analyze that command runs,
// on n generated specifications (seed, zone tz) from base, those of them
// for which keep returns true.
func ConfirmCalendarsWith(t *testing.T, command func(args ...string) *exec.Cmd, tz string, seed uint64, n int, base time.Time, keep func(spec string) bool) {
	t.Helper()
	loc, err := time.LoadLocation(tz)
	if err != nil {
		t.Fatal(err)
	}
	var specs []string
	for _, s := range genCalendarSpecs(seed, n, tz) {
		if keep(s) {
			specs = append(specs, s)
		}
	}
	t.Logf("%d of %d generated specifications kept", len(specs), n)
	confirmCalendars(t, command, tz, loc, base, specs)
}
