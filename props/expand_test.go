package props

import (
	"slices"
	"testing"
)

// TestExpandArgv checks replace_env_argv's rules, as systemd 262's
// test-env-util exercises them.
func TestExpandArgv(t *testing.T) {
	env := map[string]string{"FOO": "BAR BAR", "BAR": "waldo", "Q": `a "b c" 'd'`, "EMPTY": ""}
	lookup := func(n string) (string, bool) { v, ok := env[n]; return v, ok }
	tests := []struct {
		in, want, unset, bad []string
	}{
		{[]string{"$FOO"}, []string{"BAR", "BAR"}, nil, nil},
		{[]string{"$Q"}, []string{"a", "b c", "d"}, nil, nil},
		{[]string{"${FOO}"}, []string{"BAR BAR"}, nil, nil},
		{[]string{"x${BAR}y${FOO}"}, []string{"xwaldoyBAR BAR"}, nil, nil},
		{[]string{"$$FOO", "a$$b", "$$"}, []string{"$FOO", "a$b", "$"}, nil, nil},
		{[]string{"$FOO$BAR"}, []string{}, nil, []string{"FOO$BAR"}},
		{[]string{"${NOPE}", "$NOPE", "${NOPE}"}, []string{"", ""}, []string{"NOPE"}, nil},
		{[]string{"$EMPTY", "${EMPTY}"}, []string{""}, nil, nil},
		{[]string{"${1X}x"}, []string{"x"}, nil, []string{"1X"}},
		{[]string{"${FOO", "a$b", "$"}, []string{"${FOO", "a$b"}, nil, []string{""}},
		{[]string{"${FOO:-x}${BAR}"}, []string{"${FOO:-x}waldo"}, nil, nil},
	}
	for _, tt := range tests {
		got, unset, bad := ExpandArgv(tt.in, lookup)
		if !slices.Equal(got, tt.want) || !slices.Equal(unset, tt.unset) || !slices.Equal(bad, tt.bad) {
			t.Errorf("ExpandArgv(%q) = %q, unset %q, bad %q; want %q, %q, %q", tt.in, got, unset, bad, tt.want, tt.unset, tt.bad)
		}
	}
}
