package transient

// SetupFailure is a service's failure to start because the manager could
// not apply its execution settings, before the command ran: the exit
// statuses of systemd.exec(5), "Process Exit Codes", that sandboxing and
// scheduling settings cause where the manager lacks the privileges or
// kernel features (some containers, user managers).
type SetupFailure struct {
	// Status is the exit status (226) and Name its systemd name
	// ("NAMESPACE").
	Status int32
	Name   string
	// What says what the manager could not do.
	What string
	// Priority is true when the settings at fault are the CPU and IO
	// priority's, not the sandbox's.
	Priority bool
}

// setupFailures are the exit statuses [SetupFailureOf] recognises.
var setupFailures = []SetupFailure{
	{Status: 214, Name: "SETSCHEDULER", What: "set the CPU scheduling policy", Priority: true},
	{Status: 218, Name: "CAPABILITIES", What: "restrict the capabilities"},
	{Status: 226, Name: "NAMESPACE", What: "set up the sandbox's namespaces and mounts"},
	{Status: 228, Name: "SECCOMP", What: "install the system call filter"},
}

// SetupFailureOf returns what r's failure means if the service failed with
// one of the exit statuses of a setting the manager could not apply, and
// nil otherwise. The command's own exit status could be the same number;
// the caller says "probably" where that matters.
func SetupFailureOf(r *Result) *SetupFailure {
	if r == nil || r.Result != "exit-code" {
		return nil
	}
	status := r.Status
	switch {
	case r.PreCode == "exited":
		status = r.PreStatus
	case r.PreCode != "" || r.Code != "exited":
		return nil
	}
	for _, f := range setupFailures {
		if f.Status == status {
			return &f
		}
	}
	return nil
}
