// systemd's readiness protocol (sd_notify), by hand: one datagram to $NOTIFY_SOCKET. No libsystemd.
#pragma once

#include <string_view>

namespace canaryd::proxy {

/// Sends `state` ("READY=1", "MAINPID=123\nREADY=1") when systemd gave us a notification socket; false
/// when there is none or the send failed. $NOTIFY_SOCKET stays set: a successor after a hot upgrade
/// reports on it too.
bool notify_systemd(std::string_view state);

}  // namespace canaryd::proxy
