// A state backend for the tests of the asynchronous write path: every save and load waits until the test
// completes it, as a ConfigMap write waits on a slow API server.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <optional>
#include <string>
#include <utility>

#include "tests/weights/test_support.hpp"
#include "weights/state_backend.hpp"
#include "weights/state_store.hpp"

namespace canaryd::weights::test_support {

class HeldBackend : public StateBackend {
 public:
  struct HeldSave {
    RoutingHistory history;
    SaveDone done;
  };

  /// `file`: where a released Saved write goes, so that tests can read it back; none by default.
  explicit HeldBackend(std::optional<StateStore> file = std::nullopt) : file_(std::move(file)) {}

  SaveResult save(const RoutingHistory&) override {
    ADD_FAILURE() << "a blocking save on the asynchronous path";
    return save_result(SaveOutcome::Failed, "blocking save");
  }
  LoadedState load(unsigned) override {
    ADD_FAILURE() << "a blocking load on the asynchronous path";
    return loaded_state(std::nullopt);
  }
  void async_save(const RoutingHistory& h, SaveDone done) override { saves.push_back({h, std::move(done)}); }
  void async_load(unsigned, LoadDone done) override { loads.push_back(std::move(done)); }

  /// Completes the oldest pending save; Saved stores it in the file when there is one.
  void release_save(SaveOutcome result = SaveOutcome::Saved, std::string error = "") {
    ASSERT_FALSE(saves.empty()) << "no save is pending";
    HeldSave held = std::move(saves.front());
    saves.pop_front();
    if (result == SaveOutcome::Saved && file_) {
      const auto saved = file_->save(held.history);
      ASSERT_TRUE(saved) << (saved ? std::string() : saved.error().message);
    }
    held.done(save_result(result, std::move(error)));
  }
  /// Completes the oldest pending load with `history` (nullopt: the store is missing).
  void release_load(std::optional<RoutingHistory> history) {
    ASSERT_FALSE(loads.empty()) << "no load is pending";
    LoadDone done = std::move(loads.front());
    loads.pop_front();
    done(loaded_state(std::move(history)));
  }

  std::deque<HeldSave> saves;
  std::deque<LoadDone> loads;

 private:
  std::optional<StateStore> file_;
};

}  // namespace canaryd::weights::test_support
