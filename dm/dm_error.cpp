#include "dm/dm_error.hpp"

#include "transport/context_error.hpp"

namespace meshrt {

namespace {

constexpr caf::atom_value category = caf::atom("dm");

} // namespace

std::string to_string(dm_errc code) {
  switch (code) {
    case dm_errc::reliable_timeout:
      return "reliable_timeout";
    case dm_errc::message_nil:
      return "message_nil";
    case dm_errc::nodes_not_found:
      return "nodes_not_found";
    case dm_errc::user_not_found:
      return "user_not_found";
    case dm_errc::bad_user_id:
      return "bad_user_id";
  }
  return "unknown_error";
}

caf::error make_error(dm_errc code, std::string context) {
  return transport::make_context_error(category, static_cast<uint8_t>(code), std::move(context));
}

bool is(const caf::error& err, dm_errc code) {
  return err.category() == category && err.code() == static_cast<uint8_t>(code);
}

uint8_t dm_code_of(const caf::error& err) {
  return err.category() == category ? err.code() : 0;
}

void add_dm_error_category(caf::actor_system_config& cfg) {
  transport::add_context_category(
    cfg, category, "dm", [](uint8_t code) { return to_string(static_cast<dm_errc>(code)); });
}

} // namespace meshrt
