// Result<T, E>: the one way a fallible function outside the data path says what went wrong.
//
// Either a value or an error, never both; shaped after std::expected (C++23), which clang-14 with
// libstdc++ 12 (the sanitizer build) lacks, so a later switch is a rename. It lives in config/, the
// bottom layer, because every layer (weights/, proxy/, ctl/) includes it. The data path keeps its
// enums: a request's outcome is not an error to carry around.
//
//   Result<Config> load(...);           return config;   or   return fail("listen: not an address");
//   Result<void> start();               return {};       or   return fail(Error{"..."});
//   Result<State, TransitionError> t;   if (!t) use(t.error());
#pragma once

#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace canaryd {

/// The default error: a message for a human, complete in itself.
struct Error {
  Error() = default;
  Error(std::string m) : message(std::move(m)) {}  // NOLINT: implicit, so fail("text") reads as it says
  Error(const char* m) : message(m) {}             // NOLINT
  std::string message;
};

/// The error side of a Result on its way to being returned: `return fail(...)`.
template <class E>
struct Failure {
  E error;
};

template <class E>
Failure<std::decay_t<E>> fail(E&& error) {
  return {std::forward<E>(error)};
}

template <class T, class E = Error>
class [[nodiscard]] Result {
 public:
  Result(const T& value) : v_(std::in_place_index<0>, value) {}  // NOLINT: implicit, as std::expected
  Result(T&& value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  template <class U, class = std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                              !std::is_same_v<std::decay_t<U>, Result> &&
                                              !std::is_same_v<std::decay_t<U>, T>>>
  Result(U&& value) : v_(std::in_place_index<0>, T(std::forward<U>(value))) {}  // NOLINT
  template <class F, class = std::enable_if_t<std::is_constructible_v<E, F&&>>>
  Result(Failure<F> failure) : v_(std::in_place_index<1>, E(std::move(failure.error))) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  /// Precondition: ok(). Throws std::bad_variant_access otherwise.
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  /// Precondition: !ok(). Throws std::bad_variant_access otherwise.
  E& error() & { return std::get<1>(v_); }
  const E& error() const& { return std::get<1>(v_); }
  E&& error() && { return std::get<1>(std::move(v_)); }

  template <class U>
  T value_or(U&& fallback) const& {
    return ok() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::variant<T, E> v_;
};

/// Success with nothing to return, or an error: `return {};` is success.
template <class E>
class [[nodiscard]] Result<void, E> {
 public:
  Result() = default;
  template <class F, class = std::enable_if_t<std::is_constructible_v<E, F&&>>>
  Result(Failure<F> failure) : error_(E(std::move(failure.error))) {}  // NOLINT

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }

  /// Precondition: !ok(). Throws std::bad_optional_access otherwise.
  E& error() & { return error_.value(); }
  const E& error() const& { return error_.value(); }
  E&& error() && { return std::move(error_).value(); }

 private:
  std::optional<E> error_;
};

}  // namespace canaryd
