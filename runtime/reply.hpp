#pragma once

#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>

#include <caf/error.hpp>

namespace meshrt {

/// How a node's raw answer reaches a handler of T&: as it is for most, as
/// nothing for commands (T = void), and as an optional for GetSharedData
/// (the node answers value and found).
template<class T>
struct answer_of {
  template<class OnValue>
  static auto adapt(OnValue on_value) {
    return [on_value](T& x) mutable { on_value(x); };
  }
};

template<>
struct answer_of<void> {
  template<class OnValue>
  static auto adapt(OnValue on_value) {
    return [on_value]() mutable { on_value(); };
  }
};

template<>
struct answer_of<std::optional<int16_t>> {
  template<class OnValue>
  static auto adapt(OnValue on_value) {
    return [on_value](int16_t value, bool found) mutable {
      std::optional<int16_t> x;
      if (found)
        x = value;
      on_value(x);
    };
  }
};

/// The pending answer of a node query or command, of type T. `then`
/// (event-based actors) and `receive` (blocking ones) take a handler of
/// T& (of nothing for T = void) and one of caf::error&; a handler of the
/// wrong type is a compile error here, not an unexpected message at run
/// time.
template<class Handle, class T>
class reply {
public:
  explicit reply(Handle h) : handle_(std::move(h)) {}

  template<class OnValue, class OnError>
  void then(OnValue on_value, OnError on_error) {
    check<OnValue, OnError>();
    handle_.then(answer_of<T>::adapt(std::move(on_value)), std::move(on_error));
  }

  template<class OnValue, class OnError>
  void receive(OnValue on_value, OnError on_error) {
    check<OnValue, OnError>();
    handle_.receive(answer_of<T>::adapt(std::move(on_value)), std::move(on_error));
  }

private:
  template<class OnValue, class OnError>
  static constexpr void check() {
    if constexpr (std::is_void_v<T>)
      static_assert(std::is_invocable_v<OnValue&>, "this reply carries no value: on_value()");
    else
      static_assert(std::is_invocable_v<OnValue&, T&>, "on_value must take this reply's type");
    static_assert(std::is_invocable_v<OnError&, caf::error&>, "on_error must take caf::error&");
  }

  Handle handle_;
};

} // namespace meshrt
