#include "dm/store_error.hpp"

#include "transport/context_error.hpp"

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
  return transport::make_context_error(category, static_cast<uint8_t>(code), std::move(context));
}

bool is(const caf::error& err, store_errc code) {
  return err.category() == category && err.code() == static_cast<uint8_t>(code);
}

void add_store_error_category(caf::actor_system_config& cfg) {
  transport::add_context_category(
    cfg, category, "store", [](uint8_t code) { return to_string(static_cast<store_errc>(code)); });
}

} // namespace meshrt
