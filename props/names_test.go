package props_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/borgrun/borgrun/props"
	"github.com/borgrun/borgrun/transient/transienttest"
)

// The golden files testdata/names-MAJOR.txt list the names systemd-run
// MAJOR accepts for each unit type it creates, derived from that version's
// source (Debian's source package) by testdata/gen-names.py; see its
// header for the procedure. Regenerate with
//
//	python3 testdata/gen-names.py /tmp/srcv/v254.26 > testdata/names-254.txt
var namesSources = map[props.Version]string{
	252: "252.39", 254: "254.26", 257: "257.13", 262: "262",
}

// allTypes are the unit types systemd-run creates, as names-MAJOR.txt
// lists them.
var allTypes = []props.UnitType{props.Service, props.Timer, props.Scope, props.Path, props.Socket}

// readNames reads testdata/names-MAJOR.txt.
func readNames(t *testing.T, v props.Version) map[props.UnitType][]string {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("testdata/names-%d.txt", int(v)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names := map[props.UnitType][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		typ, name, ok := strings.Cut(sc.Text(), " ")
		i := slices.IndexFunc(allTypes, func(t props.UnitType) bool { return t.String() == typ })
		if !ok || i < 0 {
			t.Fatalf("names-%d.txt: bad line %q", int(v), sc.Text())
		}
		names[allTypes[i]] = append(names[allTypes[i]], name)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

// difference returns the elements of a not in b, sorted.
func difference(a, b []string) []string {
	var d []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			d = append(d, x)
		}
	}
	slices.Sort(d)
	return d
}

// TestNamesForSource: NamesFor of each version whose source was read
// equals the names derived from that source.
func TestNamesForSource(t *testing.T) {
	for v, src := range namesSources {
		names := readNames(t, v)
		for _, typ := range allTypes {
			got := props.NamesFor(v, typ)
			if len(names[typ]) == 0 {
				t.Errorf("names-%d.txt has no %s names", int(v), typ)
			}
			if d := difference(names[typ], got); len(d) > 0 {
				t.Errorf("%s %s: systemd-run (source %s) accepts names NamesFor lacks: %v", v, typ, src, d)
			}
			if d := difference(got, names[typ]); len(d) > 0 {
				t.Errorf("%s %s: NamesFor has names systemd-run (source %s) does not accept: %v", v, typ, src, d)
			}
		}
	}
}

// hiddenFromTransientSettings reports whether systemd-run of version v
// accepts name but `systemd-analyze transient-settings` does not list
// it: the …Ex spellings, the cgroup-v1 settings that are only warned
// about, and ConditionKernelVersion/AssertKernelVersion, which the
// condition lookup maps to …Version "for backward compatibility". (All
// of them are exercised by TestConfirm.)
func hiddenFromTransientSettings(v props.Version, typ props.UnitType, name string) bool {
	_, ignored := props.Ignored(v, typ, name)
	return ignored || strings.HasSuffix(name, "Ex") ||
		name == "ConditionKernelVersion" || name == "AssertKernelVersion"
}

// TestNamesForSuites checks NamesFor against each suite's own systemd:
// from 258 on, every name `systemd-analyze transient-settings` lists must
// be known, and the names it does not list must be ones it hides
// (hiddenFromTransientSettings); before 258, which lacks the verb, the
// suite's version must have a golden source list (TestNamesForSource).
// On every suite, systemd-run must know a sample of the names: given a
// bogus value, it must fail on the value, not with "Unknown assignment".
func TestNamesForSuites(t *testing.T) {
	for _, s := range transienttest.Suites() {
		t.Run(s.String()+"/"+strconv.Itoa(s.SystemdMajor()), func(t *testing.T) {
			t.Parallel()
			sys := sandbox.GetSuite(t, s)
			v := props.Version(s.SystemdMajor())
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			for _, typ := range []props.UnitType{props.Service, props.Timer} {
				known := props.NamesFor(v, typ)
				if v < props.V258 {
					if _, ok := namesSources[v]; !ok {
						t.Fatalf("%s has no transient-settings and no golden source list", v)
					}
					if out, err := sys.Output(ctx, "systemd-analyze", "transient-settings", typ.String()); err == nil {
						t.Errorf("%s: transient-settings exists after all:\n%s", v, out)
					}
				} else {
					out, err := sys.Output(ctx, "systemd-analyze", "transient-settings", typ.String())
					if err != nil {
						t.Fatal(err)
					}
					listed := strings.Fields(out)
					if len(listed) < 100 {
						t.Fatalf("transient-settings %s lists only %d names", typ, len(listed))
					}
					if d := difference(listed, known); len(d) > 0 {
						t.Errorf("%s %s: transient-settings lists names NamesFor lacks: %v", v, typ, d)
					}
					var hidden, unexpected []string
					for _, n := range difference(known, listed) {
						if hiddenFromTransientSettings(v, typ, n) {
							hidden = append(hidden, n)
						} else {
							unexpected = append(unexpected, n)
						}
					}
					if len(unexpected) > 0 {
						t.Errorf("%s %s: NamesFor has names transient-settings does not list: %v", v, typ, unexpected)
					}
					t.Logf("%s %s: transient-settings lists %d names, NamesFor %d; not listed but known (hidden by the verb): %v",
						v, typ, len(slices.Compact(slices.Sorted(slices.Values(listed)))), len(known), hidden)
				}
				sanityUnknown(ctx, t, sys, v, typ, known)
			}
		})
	}
}

// sanityUnknown runs systemd-run with a bogus value for every name that
// v gained after 252, every timer name and every fifth other service name, where ParseFor rejects
// that value: systemd-run must reject it on the value.
func sanityUnknown(ctx context.Context, t *testing.T, sys *transienttest.Systemd, v props.Version, typ props.UnitType, known []string) {
	const bogus = "borgrun-bogus-value"
	tried := 0
	for i, n := range known {
		since, _ := props.Since(typ, n)
		if since == props.OldestVersion && typ == props.Service && i%5 != 0 {
			continue
		}
		if _, err := props.ParseFor(v, typ, n+"="+bogus); err == nil {
			continue // any value goes (a string): systemd-run would start a unit
		}
		flag := "-p"
		args := []string{"--quiet"}
		if typ == props.Timer {
			flag = "--timer-property"
			args = append(args, "--on-active=1h")
		}
		args = append(args, flag, n+"="+bogus, "/bin/true")
		out, err := sys.Command(ctx, "systemd-run", args...).CombinedOutput()
		tried++
		switch {
		case err == nil:
			t.Errorf("%s %s: systemd-run accepts %s=%s, props rejects it", v, typ, n, bogus)
		case strings.Contains(string(out), "Unknown assignment"):
			t.Errorf("%s %s: systemd-run does not know %s: %s", v, typ, n, strings.TrimSpace(string(out)))
		}
	}
	if tried < 5 {
		t.Errorf("%s %s: only %d names sampled", v, typ, tried)
	}
	t.Logf("%s %s: systemd-run rejected a bogus value, not the name, for %d sampled names", v, typ, tried)
}
