package main

import (
	"runtime/debug"
	"strings"
)

// vcsRevision and vcsModified stand in for the vcs.revision and
// vcs.modified build settings where Go cannot record them: make build sets
// them (-ldflags -X) in a git worktree, whose .git is a file that Go's
// VCS stamping does not recognise.
var vcsRevision, vcsModified string

// version is borgrun's version as Go recorded it at build time: the main
// module's version ("(devel)" for a build without one).
var version = buildVersion(debug.ReadBuildInfo())

// versionLine is the first line --version prints: the version and, when
// the binary was built from a VCS checkout, the commit, marked modified
// when the tree had uncommitted changes.
var versionLine = func() string {
	info, ok := debug.ReadBuildInfo()
	return buildVersionLine(info, ok, vcsRevision, vcsModified)
}()

func buildVersion(info *debug.BuildInfo, ok bool) string {
	if !ok || info.Main.Version == "" {
		return "(devel)"
	}
	return info.Main.Version
}

// buildVersionLine returns the line for info; rev and modified stand in
// for the VCS settings info lacks.
func buildVersionLine(info *debug.BuildInfo, ok bool, rev, modified string) string {
	line := "borgrun " + buildVersion(info, ok)
	var srev, smodified string
	for _, s := range settings(info, ok) {
		switch s.Key {
		case "vcs.revision":
			srev = s.Value
		case "vcs.modified":
			smodified = s.Value
		}
	}
	if srev != "" {
		rev, modified = srev, smodified
	}
	if rev == "" {
		return line
	}
	var b strings.Builder
	b.WriteString(line + " (commit " + rev)
	if modified == "true" {
		b.WriteString(", modified")
	}
	b.WriteString(")")
	return b.String()
}

func settings(info *debug.BuildInfo, ok bool) []debug.BuildSetting {
	if !ok {
		return nil
	}
	return info.Settings
}
