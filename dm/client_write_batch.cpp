#include "dm/client_write_batch.hpp"

namespace meshrt {

namespace {

thread_local client_write_batch* open_batch = nullptr;

} // namespace

client_write_batch::client_write_batch() : outer_(open_batch) {
  open_batch = this;
}

client_write_batch::~client_write_batch() {
  open_batch = outer_;
  for (auto& w : writers_)
    w->end_batch();
}

client_write_batch* client_write_batch::current() {
  return open_batch;
}

} // namespace meshrt
