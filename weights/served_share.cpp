// The served share's one-minute window (see served_share.hpp).
#include "weights/served_share.hpp"

#include <cmath>

namespace canaryd::weights {
namespace {

std::uint64_t since(std::uint64_t now, std::uint64_t before) { return now >= before ? now - before : now; }

}  // namespace

void ServedShare::sample(Clock::time_point now, SetCounts totals) {
  Slot& slot = ring_[next_];
  slot.at = now;
  slot.delta = {since(totals.stable, last_.stable), since(totals.canary, last_.canary), since(totals.none, last_.none)};
  slot.used = true;
  next_ = (next_ + 1) % kSlots;
  last_ = totals;
  latest_ = now;
}

ServedNumbers ServedShare::numbers() const {
  ServedNumbers out;
  for (const auto& slot : ring_) {
    if (!slot.used || slot.at <= latest_ - kWindow) continue;
    out.requests.stable += slot.delta.stable;
    out.requests.canary += slot.delta.canary;
    out.requests.none += slot.delta.none;
  }
  const std::uint64_t total = out.requests.total();
  out.stable = percent(out.requests.stable, total);
  out.canary = percent(out.requests.canary, total);
  return out;
}

std::optional<double> ServedShare::percent(std::uint64_t part, std::uint64_t total) {
  if (total == 0) return std::nullopt;
  const double tenths = std::round(static_cast<double>(part) * 1000.0 / static_cast<double>(total));
  return tenths / 10.0;
}

}  // namespace canaryd::weights
