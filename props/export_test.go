package props

// Hooks for the external tests (package props_test).

// ManagerChecked is managerChecked: the D-Bus properties checkManager
// validates.
var ManagerChecked = managerChecked

// EncodeUnchecked encodes an assignment as version v's systemd-run does,
// without the manager's checks; for tests that need the D-Bus properties
// of a value ParseFor refuses.
func EncodeUnchecked(v Version, t UnitType, assignment string) ([]Property, error) {
	name, value, _ := cutAssignment(assignment)
	h := tableFor(v, t)[name]
	if h == nil {
		return nil, nil
	}
	return h(name, value)
}

func cutAssignment(a string) (string, string, bool) {
	for i := 0; i < len(a); i++ {
		if a[i] == '=' {
			return a[:i], a[i+1:], true
		}
	}
	return a, "", false
}
