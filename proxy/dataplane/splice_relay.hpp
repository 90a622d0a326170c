// The large part of a Content-Length body between two plain sockets, moved with splice() through a pipe:
// the bytes go from one socket's buffers to the other's without being copied into canaryd.
#pragma once

#include <chrono>
#include <cstdint>

#include <boost/asio/awaitable.hpp>

#include "proxy/dataplane/body_relay.hpp"
#include "proxy/dataplane/request_scratch.hpp"
#include "proxy/net/flex_stream.hpp"
#include "proxy/net/pipe_pool.hpp"

namespace canaryd::proxy {

/// Below this many body bytes still to come, relay_length copies instead: a pipe costs two splice()
/// calls per pass, as many as a copy's recv() and send(), and saves the copy only when there is
/// enough to copy. Measured at 64 connections (CPU per request, one worker): no gain with 16 to 24
/// KiB still to come, a gain from about 32 KiB (48 KiB bodies) and 10-25 % at 64 KiB bodies.
inline constexpr std::uint64_t kSpliceFrom = 32 * 1024;

/// Moves exactly `length` bytes from `in` to `out`, both plain TCP, through `pipe` (empty; what is
/// left in it when the relay fails is the caller's to discard). Never waits for readiness itself:
/// when a side has to be waited for, the bytes take the timed path of the copying relay through
/// `scratch` (a read into its relay buffer; or the pipe's bytes through its spill, when the receiver
/// is slower), so each read and write keeps `timeout` as its deadline and Asio's speculative
/// operations see every readiness change. The result's `bytes` is not set.
boost::asio::awaitable<RelayResult> splice_length(std::uint64_t length, FlexStream& in, FlexStream& out, Pipe& pipe,
                                                  RequestScratch& scratch, std::chrono::milliseconds timeout);

}  // namespace canaryd::proxy
