package props

import "testing"

func TestExitStatusName(t *testing.T) {
	for _, tc := range []struct {
		status int
		v      Version
		want   string
	}{
		{0, V252, "SUCCESS"}, {1, V257, "FAILURE"}, {2, V257, "INVALIDARGUMENT"}, {5, V257, "NOTINSTALLED"},
		{7, V262, "NOTRUNNING"}, {8, V262, ""}, {63, V262, ""}, {64, V257, "USAGE"}, {78, V257, "CONFIG"},
		{79, V257, ""}, {199, V257, ""}, {200, V257, "CHDIR"}, {217, V257, "USER"}, {222, V262, "STDERR"}, {223, V262, ""},
		{231, V257, "APPARMOR"}, {234, V257, ""}, {244, V252, "BPF"},
		{245, V253, ""}, {245, V254, "KSM"}, {246, V259, ""}, {246, V260, "MEMORY_THP"},
		{246, Version(300), "MEMORY_THP"}, {247, V262, ""}, {254, V262, ""}, {255, V257, "EXCEPTION"},
		{256, V262, ""}, {-1, V262, ""},
	} {
		if got := ExitStatusName(tc.status, tc.v); got != tc.want {
			t.Errorf("ExitStatusName(%d, %d) = %q, want %q", tc.status, tc.v, got, tc.want)
		}
	}
	// Each name once: the table has no typo'd duplicate.
	seen := map[string]int{}
	for n, e := range exitStatuses {
		if m, ok := seen[e.name]; ok {
			t.Errorf("%q names both %d and %d", e.name, m, n)
		}
		seen[e.name] = n
	}
}
