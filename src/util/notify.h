/*
 * notify.h - readiness and watchdog for systemd's Type=notify services
 * (the sd_notify protocol: a datagram of "KEY=VALUE" lines to the unix
 * socket named by $NOTIFY_SOCKET). Without $NOTIFY_SOCKET, as when berth
 * is run by hand, every call does nothing.
 */
#ifndef BERTH_UTIL_NOTIFY_H
#define BERTH_UTIL_NOTIFY_H

#include <stdint.h>

/*
 * Send state ("READY=1", "STOPPING=1", "WATCHDOG=1", "STATUS=...", lines
 * joined by '\n') to the service manager. 0 when sent or when there is no
 * manager to tell; -1 (errno set) when $NOTIFY_SOCKET names a socket that
 * cannot be reached.
 */
int notify_send(const char *state);

/*
 * The watchdog interval the service manager expects pings within
 * ($WATCHDOG_USEC, for this process when $WATCHDOG_PID is set), in ms; 0
 * when there is none. Ping at half of it.
 */
int64_t notify_watchdog_ms(void);

#endif
