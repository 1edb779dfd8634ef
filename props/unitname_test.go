package props

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestMangleUnitName(t *testing.T) {
	tests := []struct {
		name, suffix string
		want         string
		notices      []string
		err          string // part of the error, "" for none
	}{
		{"x", ".service", "x.service", nil, ""},
		{"x.service", ".service", "x.service", nil, ""},
		{"x.timer", ".service", "x.timer", nil, ""},
		{"x.bar", ".service", "x.bar.service", nil, ""},
		{"a@b.service", ".service", "a@b.service", nil, ""},
		{"a@.service", ".service", "a@.service", nil, ""},
		{"x", ".slice", "x.slice", nil, ""},
		{"a b", ".service", `a\x20b.service`, []string{`Invalid unit name "a b" escaped as "a\x20b" (maybe you should use systemd-escape?).`}, ""},
		{"a/b", ".service", "a-b.service", []string{`Invalid unit name "a/b" escaped as "a-b" (maybe you should use systemd-escape?).`}, ""},
		{"x*", ".service", `x\x2a.service`, []string{
			"Glob pattern passed as unit, but globs are not supported for this.",
			`Invalid unit name "x*" escaped as "x\x2a".`}, ""},
		{"", ".service", "", nil, `props: parsing "": empty unit name`},
		{"/srv/x", ".service", "", nil, `props: parsing "/srv/x": a path, not a unit name`},
		{strings.Repeat("x", 300), ".service", "", nil, "not a valid unit name even when escaped"},
		{"@x", ".service", "", nil, "not a valid unit name even when escaped"},
	}
	for _, tt := range tests {
		got, notices, err := MangleUnitName(tt.name, tt.suffix, "as unit")
		if tt.err != "" {
			var pe *Error
			if !errors.As(err, &pe) || !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("MangleUnitName(%q) error %v, want an *Error wrapping ErrSyntax containing %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want || !slices.Equal(notices, tt.notices) {
			t.Errorf("MangleUnitName(%q, %q) = %q, %q, %v; want %q, %q", tt.name, tt.suffix, got, notices, err, tt.want, tt.notices)
		}
		if err == nil && !ValidUnitName(got) {
			t.Errorf("MangleUnitName(%q) = %q, not a valid unit name", tt.name, got)
		}
	}
}

func TestValidUnitName(t *testing.T) {
	for name, want := range map[string]bool{
		"x.service": true, "a@b.timer": true, "a@.service": true, "a:b-c_d\\x20.slice": true,
		"": false, "x": false, ".service": false, "@x.service": false, "x.bar": false,
		"a b.service": false, strings.Repeat("x", 248) + ".service": false, strings.Repeat("x", 247) + ".service": true,
	} {
		if got := ValidUnitName(name); got != want {
			t.Errorf("ValidUnitName(%q) = %v, want %v", name, got, want)
		}
	}
	for name, want := range map[string]string{"x.service": "service", "x.timer": "timer", "x.bar": "", "x": "", "a.b.slice": "slice"} {
		if got := UnitNameType(name); got != want {
			t.Errorf("UnitNameType(%q) = %q, want %q", name, got, want)
		}
	}
}
