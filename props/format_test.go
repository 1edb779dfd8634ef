package props

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestFormatTimespan(t *testing.T) {
	tests := []struct {
		usec, acc uint64
		want      string
	}{
		{0, 1000, "0"},
		{math.MaxUint64, 1, "infinity"},
		{12345, 1000, "12ms"},
		{1512345, 1000, "1.512s"},
		{65e6, 1000, "1min 5s"},
		{6*3600e6 + 52*60e6, 60e6, "6h 52min"},
		{90, 1000, "90us"},
		{49*3600e6 + 3e6, 1e6, "2d 1h 3s"},
		{600e6, 1, "10min"},
		{1500000, 1, "1.500000s"},
		{3600e6 + 1, 1, "1h 1us"},
	}
	for _, tt := range tests {
		if got := FormatTimespan(tt.usec, tt.acc); got != tt.want {
			t.Errorf("FormatTimespan(%d, %d) = %q, want %q", tt.usec, tt.acc, got, tt.want)
		}
	}
}

// TestFormatTimespanRoundTrip: at accuracy 1, formatting then parsing is
// the identity.
func TestFormatTimespanRoundTrip(t *testing.T) {
	for _, us := range []uint64{1, 999, 1000, 1500000, 59999999, 60e6, 61e6 + 7, 3600e6 + 1, 86400e6 * 400, 31557600e6 + 5} {
		s := FormatTimespan(us, 1)
		got, err := ParseTimespan(s)
		if err != nil || got != us {
			t.Errorf("ParseTimespan(FormatTimespan(%d) = %q) = %d, %v", us, s, got, err)
		}
	}
}

// TestFormatNamespacesRoundTrip prints every combination of the eight
// namespace flags and parses it back.
func TestFormatNamespacesRoundTrip(t *testing.T) {
	for set := 0; set < 1<<len(namespaceFlags); set++ {
		var flags uint64
		for i, n := range namespaceFlags {
			if set&(1<<i) != 0 {
				flags |= n.flag
			}
		}
		s := FormatNamespaces(flags)
		ps, err := Parse(Service, "RestrictNamespaces="+s)
		if err != nil || len(ps) != 1 || ps[0].Value.Value() != flags {
			t.Errorf("Parse(RestrictNamespaces=%s) = %v, %v; want %#x", s, ps, err, flags)
		}
	}
	for flags, want := range map[uint64]string{
		0:                               "yes",
		namespaceFlagsAll:               "no",
		0x02000000 | 0x08000000:         "cgroup ipc",
		namespaceFlagsAll &^ 0x40000000: "cgroup ipc mnt pid user uts",
		0x80:                            "time",
		namespaceFlagsAll | 0x80:        "cgroup ipc net mnt pid user uts time",
		0x40000000 | 0x1:                "net",
	} {
		if got := FormatNamespaces(flags); got != want {
			t.Errorf("FormatNamespaces(%#x) = %q, want %q", flags, got, want)
		}
	}
}

// TestFormatExecCommandRoundTrip prints commands with every combination
// of flags that prefixes can express and parses them back.
func TestFormatExecCommandRoundTrip(t *testing.T) {
	commands := []struct {
		path string
		argv []string
	}{
		{"/bin/true", []string{"/bin/true"}},
		{"/bin/sh", []string{"/bin/sh", "-c", `echo "$x" 'y' \z; exit 50%`}},
		{"/bin/busybox", []string{"sh", "-c", "true"}},
		{"-x", []string{"-x", "@y", "+z", ";", "", " "}},
		{"/bin/echo", []string{"echo", "tab\there", "nl\n", "\x01"}},
	}
	tried := 0
	for set := 0; set < 1<<len(execFlagNames); set++ {
		var flags []string
		for i, n := range execFlagNames {
			if set&(1<<i) != 0 {
				flags = append(flags, n)
			}
		}
		for _, c := range commands {
			s, err := FormatExecCommand(c.path, c.argv, flags)
			if set&execPrivileged != 0 && set&(execNoSetuid|execAmbient) != 0 || set&execNoSetuid != 0 && set&execAmbient != 0 {
				var pe *Error
				if !errors.As(err, &pe) || !errors.Is(err, ErrSyntax) {
					t.Errorf("FormatExecCommand(%q, %v) = %q, %v; want an *Error", c.path, flags, s, err)
				}
				continue
			}
			tried++
			if err != nil {
				t.Fatalf("FormatExecCommand(%q, %q, %v): %v", c.path, c.argv, flags, err)
			}
			ps, err := Parse(Service, "ExecStart="+s)
			if err != nil || len(ps) != 1 {
				t.Fatalf("Parse(ExecStart=%s) = %v, %v", s, ps, err)
			}
			var got execCommandEx
			switch v := ps[0].Value.Value().(type) {
			case []execCommand:
				got = execCommandEx{v[0].Path, v[0].Argv, []string{}}
				if v[0].IgnoreFailure {
					got.Flags = []string{"ignore-failure"}
				}
			case []execCommandEx:
				got = v[0]
			}
			if want := (execCommandEx{c.path, c.argv, append([]string{}, flags...)}); !reflect.DeepEqual(got, want) {
				t.Errorf("Parse(ExecStart=%s) = %+v, want %+v", s, got, want)
			}
		}
	}
	if tried != 16*len(commands) { // 4 of the 8 combinations of +, ! and !! are valid
		t.Errorf("%d commands round-tripped, want %d", tried, 16*len(commands))
	}
}

func TestFormatExec(t *testing.T) {
	tests := []struct {
		path        string
		argv, flags []string
		cmd, unit   string
	}{
		{"/bin/true", []string{"/bin/true"}, nil, `"/bin/true"`, `"/bin/true"`},
		{"/bin/echo", []string{"/bin/echo", ";", "50%", `a\b`, "tab\there", ""}, nil,
			`"/bin/echo" ";" "50%" "a\\b" "tab\there" ""`, `"/bin/echo" \; "50%%" "a\\b" "tab\there" ""`},
		{"/bin/mkdir", []string{"/bin/mkdir", "-p"}, []string{"privileged"}, `+"/bin/mkdir" "-p"`, `+"/bin/mkdir" "-p"`},
		{"/bin/x", []string{"/bin/x"}, []string{"ignore-failure", "no-env-expand"}, `-:"/bin/x"`, `-:"/bin/x"`},
		{"/bin/x", []string{"/bin/x"}, []string{"ambient"}, `!!"/bin/x"`, `!!"/bin/x"`},
		{"/bin/busybox", []string{"sh", "-c", "true"}, nil, `@"/bin/busybox" "sh" "-c" "true"`, `@"/bin/busybox" "sh" "-c" "true"`},
	}
	for _, tt := range tests {
		if got, err := FormatExecCommand(tt.path, tt.argv, tt.flags); err != nil || got != tt.cmd {
			t.Errorf("FormatExecCommand(%q, %q, %q) = %s, %v; want %s", tt.path, tt.argv, tt.flags, got, err, tt.cmd)
		}
		if got, err := FormatExecUnitFile(tt.path, tt.argv, tt.flags); err != nil || got != tt.unit {
			t.Errorf("FormatExecUnitFile(%q, %q, %q) = %s, %v; want %s", tt.path, tt.argv, tt.flags, got, err, tt.unit)
		}
	}
	for _, bad := range []struct {
		argv, flags []string
		want        string
	}{
		{[]string{"/bin/x"}, []string{"via-ssh"}, `"via-ssh"`},
		{nil, nil, "empty argv"},
		{[]string{"/bin/x"}, []string{"privileged", "no-setuid"}, "cannot be combined"},
	} {
		_, err := FormatExecCommand("/bin/x", bad.argv, bad.flags)
		var pe *Error
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("FormatExecCommand(%q, %q) error %v, want an *Error containing %q", bad.argv, bad.flags, err, bad.want)
		}
	}
}

// TestFormatNamespacesFor: "no" is each version's own "all": from 258 on
// it includes time, and 252's all then prints as the list without time.
func TestFormatNamespacesFor(t *testing.T) {
	// A manager shows a unit that restricts nothing with every bit set
	// (NAMESPACE_FLAGS_INITIAL): "no", which reads back as that version's
	// all.
	for _, v := range []Version{V252, V257, V258, V262} {
		if got := FormatNamespacesFor(v, math.MaxUint64); got != "no" {
			t.Errorf("FormatNamespacesFor(%d, all bits) = %q, want no", v, got)
		}
	}
	for _, tt := range []struct {
		v     Version
		flags uint64
		want  string
	}{
		{V252, namespaceFlagsAll, "no"},
		{V257, namespaceFlagsAll, "no"},
		{V258, namespaceFlagsAll258, "no"},
		{V262, namespaceFlagsAll258, "no"},
		{V262, namespaceFlagsAll, "cgroup ipc net mnt pid user uts"},
		{V252, namespaceFlagsAll258, "cgroup ipc net mnt pid user uts time"},
		{V262, 0, "yes"},
	} {
		got := FormatNamespacesFor(tt.v, tt.flags)
		if got != tt.want {
			t.Errorf("FormatNamespacesFor(%d, %#x) = %q, want %q", tt.v, tt.flags, got, tt.want)
		}
		back, err := ParseFor(tt.v, Service, "RestrictNamespaces="+got)
		if err != nil || len(back) != 1 || back[0].Value.Value() != tt.flags {
			t.Errorf("ParseFor(%d, RestrictNamespaces=%s) = %v, %v; want %#x", tt.v, got, back, err, tt.flags)
		}
	}
}
