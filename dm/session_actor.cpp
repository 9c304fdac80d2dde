#include "dm/session_actor.hpp"

#include <caf/all.hpp>

#include "dm/dm_atoms.hpp"

namespace meshrt {

session_actor::session_actor(caf::actor_config& cfg, caf::strong_actor_ptr host, std::string uid,
                             uint64_t id) :
  caf::monitorable_actor(cfg),
  host_(std::move(host)), uid_(std::move(uid)), id_(id) {}

caf::actor session_actor::make(caf::actor_system& sys, caf::strong_actor_ptr host, std::string uid,
                               uint64_t id) {
  // Not registered at the system: a session ends with its host, which the
  // system already waits for.
  caf::actor_config cfg;
  return caf::make_actor<session_actor, caf::actor>(sys.next_actor_id(), sys.node(), &sys, cfg,
                                                    std::move(host), std::move(uid), id);
}

void session_actor::enqueue(caf::mailbox_element_ptr what, caf::execution_unit* eu) {
  host_->enqueue(caf::make_mailbox_element(std::move(what->sender), what->mid,
                                           std::move(what->stages), dm_session_call_atom::value,
                                           uid_, id_, what->move_content_to_message()),
                 eu);
}

void session_actor::end(caf::error reason) {
  cleanup(std::move(reason), nullptr);
}

void session_actor::on_destroy() {
  if (!getf(is_cleaned_up_flag))
    cleanup(caf::exit_reason::unreachable, nullptr);
  caf::monitorable_actor::on_destroy();
}

} // namespace meshrt
