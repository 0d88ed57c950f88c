#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A fake firewalld for tests/netns/firewalld.sh, on a private bus.

firewalld_fake.py BUS-ADDRESS STATE-DIR owns org.fedoraproject.FirewallD1 and serves the zone
methods the firewall plugin calls (addSource, removeSource, querySource) plus getSources and
reload, with firewalld's errors (ZONE_ALREADY_SET, ZONE_CONFLICT, UNKNOWN_SOURCE as
org.fedoraproject.FirewallD1.Exception "CODE: text"). STATE-DIR/calls gets one line per call
("method zone source"), STATE-DIR/sources the bound sources ("zone source", sorted) after every
change, STATE-DIR/ready once the name is owned. STATE-DIR/inject, read at every call, holds lines
"method source CODE" (source "*": any): the call fails with CODE, or never answers for "hang".
"""
import os
import sys

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

NAME = "org.fedoraproject.FirewallD1"
PATH = "/org/fedoraproject/FirewallD1"
ZONE = NAME + ".zone"


class FirewallDException(dbus.DBusException):
    _dbus_error_name = NAME + ".Exception"


class Fake(dbus.service.Object):
    def __init__(self, bus, state):
        super().__init__(bus, PATH)
        self.state = state
        self.sources = {}
        self.pending = []  # calls left unanswered ("hang")

    def injected(self, method, source):
        try:
            with open(os.path.join(self.state, "inject")) as f:
                for line in f:
                    w = line.split()
                    if len(w) == 3 and w[0] == method and w[1] in ("*", source):
                        return w[2]
        except FileNotFoundError:
            pass
        return None

    def save(self):
        tmp = os.path.join(self.state, "sources.tmp")
        with open(tmp, "w") as f:
            for s, z in sorted(self.sources.items()):
                f.write("%s %s\n" % (z, s))
        os.rename(tmp, os.path.join(self.state, "sources"))

    def call(self, method, zone, source, ok, err, fn):
        with open(os.path.join(self.state, "calls"), "a") as f:
            f.write("%s %s %s\n" % (method, zone, source))
        inj = self.injected(method, source)
        if inj == "hang":
            self.pending.append((ok, err))
            return
        if inj:
            err(FirewallDException("%s: '%s' (injected)" % (inj, source)))
            return
        try:
            r = fn()
        except FirewallDException as e:
            err(e)
            return
        self.save()
        ok(r)

    @dbus.service.method(ZONE, in_signature="ss", out_signature="s", async_callbacks=("ok", "err"))
    def addSource(self, zone, source, ok, err):
        def fn():
            z = self.sources.get(source)
            if z == zone:
                raise FirewallDException("ZONE_ALREADY_SET: '%s' already bound to '%s'" % (source, zone))
            if z:
                raise FirewallDException("ZONE_CONFLICT: '%s' already bound to '%s'" % (source, z))
            self.sources[source] = zone
            return zone

        self.call("addSource", zone, source, ok, err, fn)

    @dbus.service.method(ZONE, in_signature="ss", out_signature="s", async_callbacks=("ok", "err"))
    def removeSource(self, zone, source, ok, err):
        def fn():
            if self.sources.get(source) != zone:
                raise FirewallDException("UNKNOWN_SOURCE: '%s' is not in zone '%s'" % (source, zone))
            del self.sources[source]
            return zone

        self.call("removeSource", zone, source, ok, err, fn)

    @dbus.service.method(ZONE, in_signature="ss", out_signature="b", async_callbacks=("ok", "err"))
    def querySource(self, zone, source, ok, err):
        self.call("querySource", zone, source, ok, err, lambda: self.sources.get(source) == zone)

    @dbus.service.method(ZONE, in_signature="s", out_signature="as")
    def getSources(self, zone):
        return sorted(s for s, z in self.sources.items() if z == zone)

    @dbus.service.method(NAME, in_signature="", out_signature="")
    def reload(self):
        # as firewalld: the runtime configuration (our sources) is dropped
        self.sources.clear()
        self.save()


def main():
    addr, state = sys.argv[1], sys.argv[2]
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.bus.BusConnection(addr)
    fake = Fake(bus, state)
    fake.save()
    name = dbus.service.BusName(NAME, bus)
    open(os.path.join(state, "ready"), "w").close()
    GLib.MainLoop().run()
    del name


if __name__ == "__main__":
    main()
