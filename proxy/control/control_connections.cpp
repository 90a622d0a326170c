// The eviction choice of ControlConnections (see control_connections.hpp).
#include "proxy/control/control_connections.hpp"

#include <algorithm>

namespace canaryd::proxy {

template <typename Eligible>
std::optional<std::size_t> ControlConnections::victim(Eligible eligible) const {
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    if (e.phase == Phase::Handling || !eligible(e)) continue;
    if (!best) {
      best = i;
      continue;
    }
    const Entry& b = entries_[*best];
    // Idle ones first: they cost their holder nothing to lose. Among equals, the longest waiting.
    if (e.phase != b.phase ? e.phase == Phase::Idle : e.since < b.since) best = i;
  }
  return best;
}

std::optional<std::vector<ControlConnections::Id>> ControlConnections::admit(Id id,
                                                                             const boost::asio::ip::address& source,
                                                                             Clock::time_point now) {
  std::vector<Id> evicted;
  auto evict = [&](std::size_t index) {
    evicted.push_back(entries_[index].id);
    entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(index));
  };
  const auto from_source = [&](const Entry& e) { return e.source == source; };
  if (static_cast<std::size_t>(std::count_if(entries_.begin(), entries_.end(), from_source)) >= limits_.per_source) {
    const auto v = victim(from_source);
    if (!v) return std::nullopt;
    evict(*v);
  }
  // (After an eviction above there is room: the total was at most `total` before it.)
  if (entries_.size() >= limits_.total) {
    const auto v = victim([](const Entry&) { return true; });
    if (!v) return std::nullopt;
    evict(*v);
  }
  entries_.push_back(Entry{id, source, Phase::Idle, now});
  return evicted;
}

void ControlConnections::set_phase(Id id, Phase phase, Clock::time_point now) {
  for (auto& e : entries_)
    if (e.id == id) {
      e.phase = phase;
      e.since = now;
      return;
    }
}

void ControlConnections::remove(Id id) {
  std::erase_if(entries_, [id](const Entry& e) { return e.id == id; });
}

std::vector<ControlConnections::Id> ControlConnections::idle() const {
  std::vector<Id> out;
  for (const auto& e : entries_)
    if (e.phase == Phase::Idle) out.push_back(e.id);
  return out;
}

}  // namespace canaryd::proxy
