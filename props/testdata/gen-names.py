#!/usr/bin/env python3
"""Derive the names systemd-run accepts for a service, a timer, a scope, a
path and a socket from a
systemd source tree, for TestNamesForSource (props/names_test.go).

Usage, from props/:
    python3 testdata/gen-names.py SRC > testdata/names-MAJOR.txt
where SRC is an unpacked systemd source tree (Debian's source package:
apt-get source --download-only systemd=VERSION, then dpkg-source -x), e.g.
/tmp/srcv/v254.26 for names-254.txt.

Output: one line per name, "TYPE NAME" (TYPE one of service, timer, scope,
path, socket), sorted by type as listed, then name.

What is read, all from SRC/src:
 * shared/bus-unit-util.c, the code behind bus_append_unit_property_assignment:
   - up to 257, the functions bus_append_GROUP_property for the groups
     bus_append_unit_property_assignment tries for each type (service:
     cgroup, execute, kill, service, unit; timer: timer, unit; scope:
     cgroup, kill, scope, unit; path: path, unit; socket: cgroup, execute,
     kill, socket, unit): every string literal given to
     STR_IN_SET(field, ...) or streq(field, ...);
   - from 258 on, the BusProperty tables those unit types list
     (service_unit_properties[], ...): every { "Name", ... } entry.
 * the string tables behind the name lookups that code makes, in whichever
   .c file defines them: unit_dependency (dependencies, both types),
   condition_type and assert_type (both types; plus the names their
   *_from_string() functions accept "for backward compatibility"),
   "Limit" + rlimit (types with the execute group), cgroup_io_limit_type
   (types with the cgroup group).
"""
import os
import re
import sys

src = os.path.join(sys.argv[1], "src")
bus = open(os.path.join(src, "shared", "bus-unit-util.c")).read()

cfiles = []
for d, _, fs in os.walk(src):
    for f in fs:
        if f.endswith(".c"):
            cfiles.append(os.path.join(d, f))


def table(name):
    """The strings of the string table NAME (static const char* const NAME_table[] = {...})."""
    pat = re.compile(r"static const char\s*\*\s*const\s+_?" + name +
                     r"_table\[[^\]]*\]\s*=\s*\{(.*?)\};", re.S)
    for f in cfiles:
        m = pat.search(open(f).read())
        if m:
            return re.findall(r'=\s*"([^"]+)"', m.group(1))
    sys.exit("no table " + name)


def compat(func):
    """Names that FUNC() maps "for backward compatibility" (streq_ptr(s, "...")) ."""
    pat = re.compile(r"\n\w[^\n]*\b" + func + r"\(const char \*s\) \{(.*?)\n\}", re.S)
    for f in cfiles:
        m = pat.search(open(f).read())
        if m:
            return re.findall(r'streq_ptr\(s, "([^"]+)"\)', m.group(1))
    return []


def function_body(name):
    m = re.search(r"\nstatic int " + name + r"\([^)]*\) \{(.*?)\n\}", bus, re.S)
    if not m:
        sys.exit("no function " + name)
    return m.group(1)


def field_literals(body):
    """String literals compared with field: STR_IN_SET(field, ...) and streq(field, "...")."""
    names = set(re.findall(r'streq\(field,\s*"([^"]+)"\)', body))
    for m in re.finditer(r"STR_IN_SET\(field,", body):
        depth, i = 1, m.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(body[i], 0)
            i += 1
        names |= set(re.findall(r'"([^"]+)"', body[m.end():i]))
    return names


def bus_table(name):
    m = re.search(r"static const BusProperty " + name + r"\[\] = \{(.*?)\n\};", bus, re.S)
    if not m:
        sys.exit("no BusProperty table " + name)
    return set(re.findall(r'\{\s*"([^"]+)",', m.group(1)))


groups = {"service": ["cgroup", "execute", "kill", "service", "unit"], "timer": ["timer", "unit"],
          "scope": ["cgroup", "kill", "scope", "unit"], "path": ["path", "unit"],
          "socket": ["cgroup", "execute", "kill", "socket", "unit"]}
names = {}
for typ, gs in groups.items():
    s = set()
    for g in gs:
        if "static const BusProperty" in bus:
            s |= bus_table(g + "_properties")
        else:
            s |= field_literals(function_body("bus_append_" + g + "_property"))
    s |= set(table("unit_dependency"))
    s |= set(table("condition_type")) | set(compat("condition_type_from_string"))
    s |= set(table("assert_type")) | set(compat("assert_type_from_string"))
    if "execute" in gs:
        s |= {"Limit" + r for r in table("rlimit")}
    if "cgroup" in gs:
        s |= set(table("cgroup_io_limit_type"))
    names[typ] = s

for typ in ("service", "timer", "scope", "path", "socket"):
    for n in sorted(names[typ]):
        print(typ, n)
