// Builds each command's control API call (see api_call.hpp); bodies are written by hand so that a percent
// keeps the digits the operator typed.
#include "ctl/api_call.hpp"

#include <boost/json.hpp>

namespace canaryd::ctl {
namespace {

/// A JSON object written member by member, so that a percent keeps the digits the operator typed:
/// Boost.JSON would print 33.33 as 3.333E1 (the same double, but not what the operator wrote).
class JsonObjectText {
 public:
  /// `json` must already be valid JSON (a validated number).
  void raw(std::string_view name, std::string_view json) {
    text_ += text_.empty() ? "{" : ",";
    text_ += boost::json::serialize(boost::json::string(name));
    text_ += ':';
    text_ += json;
  }
  void string(std::string_view name, std::string_view value) {
    raw(name, boost::json::serialize(boost::json::string(value)));
  }
  std::string done() const { return text_.empty() ? "{}" : text_ + "}"; }

 private:
  std::string text_;
};

}  // namespace

ApiCall build_api_call(const Invocation& inv) {
  JsonObjectText body;
  if (inv.if_revision && is_change(inv.command)) body.raw("if_revision", std::to_string(*inv.if_revision));
  switch (inv.command) {
    case Command::Help:
    case Command::Version:
    case Command::Status:
      return {"GET", "/api/status", ""};
    case Command::History:
      return {"GET", "/api/history", ""};
    case Command::Weight:
      body.raw("canary_weight", inv.percent);
      body.string("cause", inv.effective_cause());
      return {"PUT", "/api/weight", body.done()};
    case Command::Promote:
      if (inv.force) body.raw("force", "true");
      body.string("cause", inv.effective_cause());
      return {"POST", "/api/promote", body.done()};
    case Command::Rollback:
      body.string("cause", inv.effective_cause());
      return {"POST", "/api/rollback", body.done()};
    case Command::Undo:
      if (inv.to_revision) body.raw("to_revision", std::to_string(*inv.to_revision));
      body.string("cause", inv.effective_cause());
      return {"POST", "/api/undo", body.done()};
    case Command::CanarySet:
      body.string("selector", inv.selector);
      if (!inv.percent.empty()) body.raw("canary_weight", inv.percent);
      body.string("cause", inv.effective_cause());
      return {"PUT", "/api/canary", body.done()};
    case Command::CanaryRemove:
      // The contract shows no body for DELETE, but every change records its cause and the server reads
      // an optional {"cause"} there too.
      body.string("cause", inv.effective_cause());
      return {"DELETE", "/api/canary", body.done()};
  }
  return {"GET", "/api/status", ""};
}

}  // namespace canaryd::ctl
