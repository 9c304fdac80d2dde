#pragma once

// The vocabulary of the node actor: what an application sends it, and the
// events it sends to subscribers. The shape of each message is documented
// with spawn_node (actors/node_actor.hpp).

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include "actors/node_event.hpp"
#include "actors/node_record.hpp"
#include "transport/atoms.hpp"

namespace meshrt {

// -- queries (answered from the cached view) ---------------------------------

using whoami_atom = caf::atom_constant<caf::atom("whoami")>;
using node_atom = caf::atom_constant<caf::atom("node")>;
using by_endpoint_atom = caf::atom_constant<caf::atom("byendpoint")>;
using addresses_atom = caf::atom_constant<caf::atom("addresses")>;
using by_type_atom = caf::atom_constant<caf::atom("bytype")>;
using by_role_atom = caf::atom_constant<caf::atom("byrole")>;
using types_atom = caf::atom_constant<caf::atom("types")>;
using role_of_type_atom = caf::atom_constant<caf::atom("roleoftype")>;
using random_node_atom = caf::atom_constant<caf::atom("randomnode")>;
using sibling_atom = caf::atom_constant<caf::atom("sibling")>;
using other_public_atom = caf::atom_constant<caf::atom("otherpub")>;
using shared_atom = caf::atom_constant<caf::atom("shared")>;
using member_atom = caf::atom_constant<caf::atom("member")>;
using requester_atom = caf::atom_constant<caf::atom("requester")>;
using transport_atom = caf::atom_constant<caf::atom("transport")>;

// -- commands ----------------------------------------------------------------

using set_value_atom = caf::atom_constant<caf::atom("setvalue")>;
using set_type_atom = caf::atom_constant<caf::atom("settype")>;
using set_role_atom = caf::atom_constant<caf::atom("setrole")>;
using set_endpoint_atom = caf::atom_constant<caf::atom("setendpt")>;
using set_status_atom = caf::atom_constant<caf::atom("setstatus")>;
using set_shared_atom = caf::atom_constant<caf::atom("setshared")>;
using remove_shared_atom = caf::atom_constant<caf::atom("rmshared")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using unsubscribe_atom = caf::atom_constant<caf::atom("unsub")>;
using wait_latest_atom = caf::atom_constant<caf::atom("waitlatest")>;
using handle_atom = caf::atom_constant<caf::atom("handle")>;
using send_atom = caf::atom_constant<caf::atom("send")>;
using usend_atom = caf::atom_constant<caf::atom("usend")>;
using join_atom = caf::atom_constant<caf::atom("join")>;
using leave_atom = caf::atom_constant<caf::atom("leave")>;
using rpc_atom = caf::atom_constant<caf::atom("rpc")>;
using send_many_atom = caf::atom_constant<caf::atom("sendmany")>;
using usend_many_atom = caf::atom_constant<caf::atom("usendmany")>;
using is_duplicate_atom = caf::atom_constant<caf::atom("cmddup")>;
/// (stats_atom) -> std::string: the transport's atom; the node answers it too.
using transport::stats_atom;

// -- events ------------------------------------------------------------------
// Subscribers get every event as one type, node_event (actors/node_event.hpp).

// -- to handlers ---------------------------------------------------------------

/// (mesh_message_atom, uint16_t command, std::string sender, byte_buffer
/// payload): a one-way message for a handler.
using mesh_message_atom = caf::atom_constant<caf::atom("meshmsg")>;

/// (mesh_request_atom, uint16_t command, std::string sender, byte_buffer
/// payload) -> byte_buffer: a request for a handler to answer.
using mesh_request_atom = caf::atom_constant<caf::atom("meshreq")>;

} // namespace meshrt

// Node records and statuses travel between actors of one process only.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(meshrt::node_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(meshrt::node_status)
