package props

import "strings"

// scopeGroup is bus_append_scope_property: what a scope takes beyond the
// cgroup, kill and unit groups.
func scopeGroup() map[string]handler {
	m := map[string]handler{}
	add(m, sendSecRename, "RuntimeMaxSec", "RuntimeRandomizedExtraSec", "TimeoutStopSec")
	// A scope has no execution context, but takes these two.
	add(m, sendString, "User", "Group", "OOMPolicy")
	return m
}

// pathGroup is bus_append_path_property.
func pathGroup() map[string]handler {
	m := map[string]handler{}
	add(m, sendBool, "MakeDirectory")
	add(m, sendMode, "DirectoryMode")
	add(m, sendTypedPair("Paths", ""), "PathExists", "PathExistsGlob", "PathChanged", "PathModified",
		"DirectoryNotEmpty")
	add(m, sendAtou, "TriggerLimitBurst")
	add(m, sendSecRename, "TriggerLimitIntervalSec")
	return m
}

// socketGroup is bus_append_socket_property.
func socketGroup() map[string]handler {
	m := map[string]handler{}
	add(m, sendBool, "Accept", "FlushPending", "Writable", "KeepAlive", "NoDelay", "FreeBind",
		"Transparent", "Broadcast", "PassCredentials", "PassSecurity", "PassPacketInfo", "ReusePort",
		"RemoveOnStop", "SELinuxContextFromNet")
	add(m, sendAtoi, "Priority", "IPTTL", "Mark")
	add(m, lookupFallback(ipTOS, 0xff, "IP type of service"), "IPTOS")
	add(m, sendAtou, "Backlog", "MaxConnections", "MaxConnectionsPerSource", "KeepAliveProbes",
		"TriggerLimitBurst")
	add(m, sendMode, "SocketMode", "DirectoryMode")
	add(m, func(name, v string) ([]Property, error) {
		i, err := safeAtoi64(v)
		if err != nil {
			return nil, describe(err, "integer")
		}
		return one(name, i)
	}, "MessageQueueMaxMessages", "MessageQueueMessageSize")
	add(m, sendSecRename, "TimeoutSec", "KeepAliveTimeSec", "KeepAliveIntervalSec", "DeferAcceptSec",
		"TriggerLimitIntervalSec")
	add(m, func(name, v string) ([]Property, error) {
		n, err := parseSize(v, 1024)
		if err != nil {
			return nil, describe(err, "size")
		}
		return one(name, n)
	}, "ReceiveBuffer", "SendBuffer", "PipeSize")
	add(m, sendExecCommand, "ExecStartPre", "ExecStartPost", "ExecReload", "ExecStopPost")
	add(m, sendString, "SmackLabel", "SmackLabelIPIn", "SmackLabelIPOut", "TCPCongestion",
		"BindToDevice", "BindIPv6Only", "FileDescriptorName", "SocketUser", "SocketGroup", "Timestamping")
	add(m, strvHandler(exUnquote), "Symlinks")
	add(m, sendIPProtocol, "SocketProtocol")
	add(m, sendTypedPair("Listen", "Listen"), "ListenStream", "ListenDatagram", "ListenSequentialPacket",
		"ListenNetlink", "ListenSpecial", "ListenMessageQueue", "ListenFIFO", "ListenUSBFunction")
	return m
}

// sendTypedPair sends property as a(ss) of one (name without trim, value)
// element: PathExists=/x is Paths [("PathExists", "/x")], ListenStream=80
// is Listen [("Stream", "80")]. An empty value sends an empty array,
// which resets the list.
func sendTypedPair(property, trim string) handler {
	return func(name, v string) ([]Property, error) {
		if v == "" {
			return one(property, []stringPair{})
		}
		return one(property, []stringPair{{strings.TrimPrefix(name, trim), v}})
	}
}

// ipTOS is ip_tos_from_string's table (IPTOS_*).
var ipTOS = map[string]int32{"low-delay": 0x10, "throughput": 0x08, "reliability": 0x04, "low-cost": 0x02}

// ipProtocols are the IPPROTO_* names of Linux's <netinet/in.h> that
// systemd's ip_protocol_from_name knows, by number.
var ipProtocols = map[string]int32{"ip": 0, "icmp": 1, "igmp": 2, "ipip": 4, "tcp": 6, "egp": 8, "pup": 12,
	"udp": 17, "idp": 22, "tp": 29, "dccp": 33, "ipv6": 41, "rsvp": 46, "gre": 47, "esp": 50, "ah": 51,
	"mtp": 92, "beetph": 94, "encap": 98, "pim": 103, "comp": 108, "l2tp": 115, "sctp": 132, "udplite": 136,
	"mpls": 137, "ethernet": 143, "raw": 255}

// sendIPProtocol is parse_ip_protocol: empty is 0 (IPPROTO_IP), else a
// protocol name (any case) or the number of one.
func sendIPProtocol(name, v string) ([]Property, error) {
	if v == "" {
		return one(name, int32(0))
	}
	if p, ok := ipProtocols[strings.ToLower(v)]; ok {
		return one(name, p)
	}
	i, err := safeAtoi(v)
	if err == nil {
		for _, p := range ipProtocols {
			if p == i {
				return one(name, i)
			}
		}
	}
	return nil, syntaxf("invalid IP protocol %q: use a name such as tcp, udp, udplite, sctp, or its number", v)
}

// sendXAttr (262+) sends one NAME=VALUE extended attribute as a(ss); an
// empty value resets the list.
func sendXAttr(name, v string) ([]Property, error) {
	if v == "" {
		return one(name, []stringPair{})
	}
	k, val, ok := strings.Cut(v, "=")
	if !ok {
		return nil, syntaxf("not NAME=VALUE: %q", v)
	}
	return one(name, []stringPair{{k, val}})
}

// sendSizeInt64 (258+) is MessageQueueMessageSize=: a size (base 1024)
// up to the largest int64, sent as x.
func sendSizeInt64(name, v string) ([]Property, error) {
	n, err := parseSize(v, 1024)
	if err == nil && n > 1<<63-1 {
		err = rangef("at most %d", int64(1<<63-1))
	}
	if err != nil {
		return nil, describe(err, "size")
	}
	return one(name, int64(n))
}
