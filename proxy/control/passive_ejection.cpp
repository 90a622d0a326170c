// PassiveEjection's bookkeeping (see passive_ejection.hpp): the share bound, growing ejection times, expiry.
#include "proxy/control/passive_ejection.hpp"

#include <algorithm>

namespace canaryd::proxy {

void PassiveEjection::configure(std::chrono::milliseconds base, unsigned max_ejected_percent) {
  base_ = base;
  max_percent_ = max_ejected_percent;
}

std::optional<std::chrono::milliseconds> PassiveEjection::report_failures(const std::string& endpoint,
                                                                          const std::vector<std::string>& set,
                                                                          Clock::time_point now) {
  if (ejected(endpoint)) return std::nullopt;
  std::size_t already = 0;
  for (const auto& member : set)
    if (member != endpoint && ejected(member)) ++already;
  // Integer arithmetic: (already + 1) / size <= percent / 100, so 50 % of 3 endpoints allows one.
  if ((already + 1) * 100 > static_cast<std::size_t>(max_percent_) * set.size()) return std::nullopt;

  Record& r = records_[endpoint];
  // An endpoint that fails again within its last ejection's length after coming back was not well: it
  // stays out twice as long. One that stayed well that long starts again from the base.
  std::chrono::milliseconds length = base_;
  if (r.last.count() > 0 && now - r.returned < r.last) length = std::min(r.last * 2, kMaxEjection);
  r.until = now + length;
  r.last = length;
  return length;
}

std::vector<std::string> PassiveEjection::expire(Clock::time_point now) {
  std::vector<std::string> back;
  for (auto& [name, r] : records_) {
    if (r.until && *r.until <= now) {
      r.until.reset();
      r.returned = now;
      back.push_back(name);
    }
  }
  return back;
}

std::optional<PassiveEjection::Clock::time_point> PassiveEjection::next_expiry() const {
  std::optional<Clock::time_point> next;
  for (const auto& [name, r] : records_)
    if (r.until && (!next || *r.until < *next)) next = r.until;
  return next;
}

bool PassiveEjection::ejected(const std::string& endpoint) const {
  auto it = records_.find(endpoint);
  return it != records_.end() && it->second.until.has_value();
}

void PassiveEjection::retain(const std::vector<std::string>& endpoints) {
  std::erase_if(records_, [&](const auto& entry) {
    return std::find(endpoints.begin(), endpoints.end(), entry.first) == endpoints.end();
  });
}

}  // namespace canaryd::proxy
