#include "dm/store_error.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/message.hpp>

namespace meshrt {

namespace {

constexpr caf::atom_value category = caf::atom("store");

} // namespace

std::string to_string(store_errc code) {
  switch (code) {
    case store_errc::no_storage_nodes:
      return "no_storage_nodes";
    case store_errc::key_too_long:
      return "key_too_long";
    case store_errc::value_too_large:
      return "value_too_large";
    case store_errc::not_an_integer:
      return "not_an_integer";
    case store_errc::timeout:
      return "timeout";
    case store_errc::ring_too_small:
      return "ring_too_small";
    case store_errc::malformed:
      return "malformed";
  }
  return "unknown_error";
}

caf::error make_error(store_errc code, std::string context) {
  return caf::error{static_cast<uint8_t>(code), category, caf::make_message(std::move(context))};
}

bool is(const caf::error& err, store_errc code) {
  return err.category() == category && err.code() == static_cast<uint8_t>(code);
}

void add_store_error_category(caf::actor_system_config& cfg) {
  cfg.add_error_category(category, [](uint8_t code, caf::atom_value, const caf::message& ctx) {
    std::string result = "store." + to_string(static_cast<store_errc>(code));
    if (ctx.match_elements<std::string>())
      result += ": " + ctx.get_as<std::string>(0);
    return result;
  });
}

} // namespace meshrt
