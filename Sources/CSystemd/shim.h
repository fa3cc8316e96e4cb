#pragma once
// libsystemd's daemon and journal APIs: readiness/watchdog notification, inherited sockets,
// structured journal entries (the non-variadic sd_journal_sendv, callable from Swift).
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
