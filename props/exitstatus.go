package props

// exitStatusEntry is one entry of systemd's exit_status_mappings: the name of
// an exit status and the version whose table first has it.
type exitStatusEntry struct {
	name  string
	since Version
}

// exitStatuses is systemd's exit_status_mappings (src/shared/exit-status.c)
// as exit_status_to_string(status, EXIT_STATUS_FULL) reads it: libc's
// 0 and 1, the LSB init script codes 2..7, the BSD sysexits 64..78,
// systemd's own 200..246 (223 and 234 are retired) and 255.
var exitStatuses = map[int]exitStatusEntry{
	0: {"SUCCESS", OldestVersion}, 1: {"FAILURE", OldestVersion},

	2: {"INVALIDARGUMENT", OldestVersion}, 3: {"NOTIMPLEMENTED", OldestVersion},
	4: {"NOPERMISSION", OldestVersion}, 5: {"NOTINSTALLED", OldestVersion},
	6: {"NOTCONFIGURED", OldestVersion}, 7: {"NOTRUNNING", OldestVersion},

	64: {"USAGE", OldestVersion}, 65: {"DATAERR", OldestVersion}, 66: {"NOINPUT", OldestVersion},
	67: {"NOUSER", OldestVersion}, 68: {"NOHOST", OldestVersion}, 69: {"UNAVAILABLE", OldestVersion},
	70: {"SOFTWARE", OldestVersion}, 71: {"OSERR", OldestVersion}, 72: {"OSFILE", OldestVersion},
	73: {"CANTCREAT", OldestVersion}, 74: {"IOERR", OldestVersion}, 75: {"TEMPFAIL", OldestVersion},
	76: {"PROTOCOL", OldestVersion}, 77: {"NOPERM", OldestVersion}, 78: {"CONFIG", OldestVersion},

	200: {"CHDIR", OldestVersion}, 201: {"NICE", OldestVersion}, 202: {"FDS", OldestVersion},
	203: {"EXEC", OldestVersion}, 204: {"MEMORY", OldestVersion}, 205: {"LIMITS", OldestVersion},
	206: {"OOM_ADJUST", OldestVersion}, 207: {"SIGNAL_MASK", OldestVersion}, 208: {"STDIN", OldestVersion},
	209: {"STDOUT", OldestVersion}, 210: {"CHROOT", OldestVersion}, 211: {"IOPRIO", OldestVersion},
	212: {"TIMERSLACK", OldestVersion}, 213: {"SECUREBITS", OldestVersion}, 214: {"SETSCHEDULER", OldestVersion},
	215: {"CPUAFFINITY", OldestVersion}, 216: {"GROUP", OldestVersion}, 217: {"USER", OldestVersion},
	218: {"CAPABILITIES", OldestVersion}, 219: {"CGROUP", OldestVersion}, 220: {"SETSID", OldestVersion},
	221: {"CONFIRM", OldestVersion}, 222: {"STDERR", OldestVersion}, 224: {"PAM", OldestVersion},
	225: {"NETWORK", OldestVersion}, 226: {"NAMESPACE", OldestVersion}, 227: {"NO_NEW_PRIVILEGES", OldestVersion},
	228: {"SECCOMP", OldestVersion}, 229: {"SELINUX_CONTEXT", OldestVersion}, 230: {"PERSONALITY", OldestVersion},
	231: {"APPARMOR", OldestVersion}, 232: {"ADDRESS_FAMILIES", OldestVersion}, 233: {"RUNTIME_DIRECTORY", OldestVersion},
	235: {"CHOWN", OldestVersion}, 236: {"SMACK_PROCESS_LABEL", OldestVersion}, 237: {"KEYRING", OldestVersion},
	238: {"STATE_DIRECTORY", OldestVersion}, 239: {"CACHE_DIRECTORY", OldestVersion}, 240: {"LOGS_DIRECTORY", OldestVersion},
	241: {"CONFIGURATION_DIRECTORY", OldestVersion}, 242: {"NUMA_POLICY", OldestVersion}, 243: {"CREDENTIALS", OldestVersion},
	244: {"BPF", OldestVersion},
	245: {"KSM", V254},        // MemoryKSM=, 254
	246: {"MEMORY_THP", V260}, // MemoryTHP=, 260

	255: {"EXCEPTION", OldestVersion},
}

// ExitStatusName is systemd's exit_status_to_string(status,
// EXIT_STATUS_FULL) in version v, the printer of the names that
// SuccessExitStatus= and friends also accept: "SUCCESS" for 0, "NOTRUNNING"
// for 7, "USER" for 217, "EXCEPTION" for 255. It returns "" for a status
// v's table does not name (systemd prints such a name as "n/a"). A
// version newer than [NewestVersion] is taken as the newest.
func ExitStatusName(status int, v Version) string {
	e, ok := exitStatuses[status]
	if !ok || v.effective() < e.since {
		return ""
	}
	return e.name
}
