package main

import (
	"runtime/debug"
	"testing"
)

func TestBuildVersionLine(t *testing.T) {
	t.Parallel()
	stamped := &debug.BuildInfo{
		Main: debug.Module{Path: "github.com/borgrun/borgrun", Version: "v0.2.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	clean := &debug.BuildInfo{
		Main:     debug.Module{Version: "v0.0.0-20261128093157-0123456789ab"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789ab"}, {Key: "vcs.modified", Value: "false"}},
	}
	for _, c := range []struct {
		name          string
		info          *debug.BuildInfo
		ok            bool
		rev, modified string
		want          string
	}{
		{"stamped", stamped, true, "", "", "borgrun v0.2.0 (commit 0123456789abcdef0123456789abcdef01234567, modified)"},
		{"clean", clean, true, "", "", "borgrun v0.0.0-20261128093157-0123456789ab (commit 0123456789ab)"},
		{"stamp wins", clean, true, "fedcba", "true", "borgrun v0.0.0-20261128093157-0123456789ab (commit 0123456789ab)"},
		{"worktree", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true, "fedcba", "true", "borgrun (devel) (commit fedcba, modified)"},
		{"unstamped", &debug.BuildInfo{}, true, "", "", "borgrun (devel)"},
		{"no build info", nil, false, "", "", "borgrun (devel)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := buildVersionLine(c.info, c.ok, c.rev, c.modified); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}
